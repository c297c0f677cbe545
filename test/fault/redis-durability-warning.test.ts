/**
 * The Redis store warns at start when Redis would forget or evict what must persist (docs/stores.md): a restart of a
 * Redis without RDB or AOF brings logged-out and revoked access tokens back to life.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore, type RedisRefreshTokenStore } from '../../src/stores/redis.js';
import { recordingLogger } from '../support/recording-logger.js';
import { startThrowawayRedis, type ThrowawayServer } from '../support/throwaway-servers.js';

/** The shared test Redis runs with `--save '' --appendonly no` (shared/ENVIRONMENT.md). */
const SHARED_REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

describe('redis store durability warning', () => {
  let durable: ThrowawayServer;
  let evicting: ThrowawayServer;
  const stores: RedisRefreshTokenStore[] = [];

  beforeAll(async () => {
    [durable, evicting] = await Promise.all([startThrowawayRedis({ persistence: true }), startThrowawayRedis({ persistence: true })]);
  });

  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await Promise.all([durable?.dispose(), evicting?.dispose()]);
  });

  function open(url: string) {
    const log = recordingLogger();
    const store = createRedisStore({ url, logger: log.logger });
    stores.push(store);
    return { store, entries: log.entries };
  }

  it('warns once connected when Redis has neither RDB save points nor AOF', async () => {
    const probe = new Redis(SHARED_REDIS_URL, { maxRetriesPerRequest: 0 });
    const save = await probe.config('GET', 'save').catch(() => {
      throw new Error(`no Redis at ${SHARED_REDIS_URL}: start it with redis-server --port 6379 --save "" --appendonly no`);
    });
    probe.disconnect();
    expect(save).toEqual(['save', '']);

    const { entries } = open(SHARED_REDIS_URL);

    await expect.poll(() => entries.filter((entry) => entry.level === 'warn').length, { timeout: 3000 }).toBe(1);
    expect(entries[0]?.fields).toEqual({ store: 'redis', save: '', appendonly: 'no' });
    expect(entries[0]?.message).toMatch(/persists nothing.*logged-out and revoked access tokens work again.*docs\/stores\.md/);
  });

  it('says nothing about a Redis with AOF and noeviction', async () => {
    const quiet = open(durable.url);
    await quiet.store.ping();
    await quiet.store.count();
    // The check runs right after connecting: give its few INFO round trips time to finish.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(quiet.entries).toEqual([]);
  });

  it('warns about an eviction policy that may drop our keys', async () => {
    // Set before any store connects: the check runs once per Redis run.
    const admin = new Redis(evicting.url);
    await admin.config('SET', 'maxmemory', '64mb');
    await admin.config('SET', 'maxmemory-policy', 'volatile-lru');
    admin.disconnect();
    const { entries } = open(evicting.url);

    await expect.poll(() => entries.length, { timeout: 3000 }).toBe(1);
    expect(entries[0]).toMatchObject({
      level: 'warn',
      fields: { store: 'redis', maxmemoryPolicy: 'volatile-lru', maxmemory: '67108864' },
    });
    expect(entries[0]?.message).toMatch(/maxmemory-policy volatile-lru may evict.*use noeviction/);
  });
});
