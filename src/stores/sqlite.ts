/** `jwt-refresh/stores/sqlite`: the embedded SQLite store (./sqlite/). */
export * from './sqlite/sqlite-store.js';
