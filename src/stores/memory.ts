/** `jwt-refresh/stores/memory`: the in-process store (./memory/). */
export * from './memory/memory-store.js';
