/** `jwt-refresh/stores/redis`: the Redis store (./redis/). */
export * from './redis/redis-store.js';
// The types of the store's public fields (`client`, `keyLayout`), so apps can name them.
export type { RedisClient } from './redis/redis-cluster-client.js';
export type { RedisKeyLayoutKind } from './redis/redis-key-layout.js';
