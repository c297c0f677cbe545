import { createRedisStore, type RedisRefreshTokenStore } from '../../src/stores/redis.js';
import { recordingLogger } from '../support/recording-logger.js';
import { startThrowawayRedis } from '../support/throwaway-servers.js';
import { runStoreOutage } from './store-outage.suite.js';

// With AOF fsynced on every write: a Redis without persistence forgets every token on restart (docs/stores.md).
runStoreOutage('redis', {
  server: () => startThrowawayRedis({ persistence: true }),
  open: (url, operationTimeoutMs) => createRedisStore({ url, operationTimeoutMs, logger: recordingLogger().logger }),
  async liveByFamily(store, familyIds) {
    const redis = store as RedisRefreshTokenStore;
    const live = new Map<string, number>();
    for (const familyId of familyIds) {
      let count = 0;
      for (const hash of await redis.client.smembers(`${redis.namespace}family:${familyId}`)) {
        const fields = await redis.client.hgetall(`${redis.namespace}token:${hash}`);
        if (fields.token_hash !== undefined && fields.rotated_at === undefined && fields.revoked_at === undefined) count += 1;
      }
      live.set(familyId, count);
    }
    return live;
  },
});
