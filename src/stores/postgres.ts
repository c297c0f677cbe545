/** `jwt-refresh/stores/postgres`: the PostgreSQL store (./postgres/). */
export * from './postgres/postgres-store.js';
