/** `jwt-refresh/stores/redis`: the Redis store (./redis/). */
export * from './redis/redis-store.js';
