/** `jwt-refresh/stores/mongodb`: the MongoDB store and its migrations (./mongodb/). */
export * from './mongodb/mongodb-store.js';
export * from './mongodb/mongodb-migrations.js';
