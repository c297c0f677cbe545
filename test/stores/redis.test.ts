import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { createRedisStore, type RedisRefreshTokenStore } from '../../src/stores/redis.js';
import type { RefreshTokenRecord, RotateOutcome } from '../../src/stores/store.js';
import { runRedisStoreSuites } from '../support/redis-store-suites.js';
import { at, DAY, HOUR, hashOf, MINUTE, plainToken, record, successorOf as sharedSuccessorOf, T0 } from '../support/token-records.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const START_COMMAND =
  'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log';
/** Every key this file creates starts with it, so parallel test files and other apps never collide. */
const FILE_PREFIX = `test-${process.pid}-${randomBytes(4).toString('hex')}:`;

/** The store's documented retention margin of token keys past max(validUntil, now). */
const RETENTION_MARGIN = DAY;

/** Admin connection for raw inspection and cleanup, set by {@link connectAdmin}. */
let admin: Redis;
let adminConnection: Promise<Redis> | undefined;
let prefixCounter = 0;

/**
 * Connects the admin client once. Awaited by every case (not in beforeAll, whose failure
 * vitest reports as skipped cases), so a missing server FAILS each case with the way to start it.
 */
async function connectAdmin(): Promise<void> {
  adminConnection ??= connectOrFail();
  admin = await adminConnection;
}

/** A fresh prefix under this file's, so each case starts from an empty namespace. */
function nextPrefix(kind: string): string {
  prefixCounter += 1;
  return `${FILE_PREFIX}${kind}-${prefixCounter}:`;
}

afterAll(async () => {
  if (admin !== undefined) {
    await deleteKeys(admin, FILE_PREFIX);
    admin.disconnect();
  }
});

runRedisStoreSuites('redis', {
  ready: connectAdmin,
  connection: () => ({ url: REDIS_URL }),
  appClient: () => new Redis(REDIS_URL),
  nextPrefix,
  lifecyclePrefix: `${FILE_PREFIX}lifecycle:`,
  tokenRows: (namespace) => tokenRows(admin, namespace),
  deleteKeys: (prefix) => deleteKeys(admin, prefix),
  breakRecord: async (store, tokenHash) => {
    await admin.set(`${store.namespace}token:${tokenHash}`, 'not a hash');
  },
  // Port 1: connection refused. The store's own connection gives up after one retry.
  unreachable: { options: async () => ({ url: 'redis://127.0.0.1:1' }), cause: /max retries|ECONNREFUSED/i },
});

describe('redis store', () => {
  let prefix: string;
  const stores: RedisRefreshTokenStore[] = [];
  const clients: Redis[] = [];

  /** Opens a store (its own connection unless `client` is given) under `keyPrefix`, closed after the case. */
  function open(keyPrefix = prefix, extra: { client?: Redis; tableName?: string } = {}): RedisRefreshTokenStore {
    const store =
      extra.client !== undefined
        ? createRedisStore({ client: extra.client, keyPrefix, tableName: extra.tableName })
        : createRedisStore({ url: REDIS_URL, keyPrefix, tableName: extra.tableName });
    stores.push(store);
    return store;
  }

  function appClient(options: { keyPrefix?: string } = {}): Redis {
    const client = new Redis(REDIS_URL, options);
    clients.push(client);
    return client;
  }

  beforeEach(async () => {
    await connectAdmin();
    prefix = nextPrefix('only');
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) {
      await store.close();
    }
    for (const client of clients.splice(0)) {
      client.disconnect();
    }
    if (admin !== undefined) {
      await deleteKeys(admin, prefix);
    }
  });

  describe('keys', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the test's name quotes the key pattern.
    it('live under `${keyPrefix}${tableName}:`, and no key holds a plain token', async () => {
      const store = open();
      const p0 = record('p0', { userAgent: 'ua', ip: '192.0.2.1' });
      await store.insert(p0);
      expect(await store.rotate(p0.tokenHash, successorOf(p0, 'p1', at(HOUR)), at(HOUR))).toBe('rotated');
      await store.insert(record('q0', { familyId: 'family-2', revokedAt: at(2) }));
      await store.blockAccessToken('jti-1', at(HOUR));
      await store.setRevokedBefore('user-1', at(HOUR));
      await store.hitRateLimit('login:192.0.2.1', 60, T0);

      const keys = await dumpKeys(admin, prefix);
      const namespace = `${prefix}refresh_tokens:`;
      const windowStart = Math.floor(T0.getTime() / MINUTE) * MINUTE;
      expect(keys.map((k) => k.key).sort()).toEqual(
        [
          `token:${hashOf('p0')}`,
          `token:${hashOf('p1')}`,
          `token:${hashOf('q0')}`,
          'family:family-1',
          'family:family-2',
          'user:user-1',
          'expiry',
          'blocked:jti-1',
          'revoked-before:user-1',
          `rl:login:192.0.2.1:${windowStart}`,
        ]
          .map((suffix) => `${namespace}${suffix}`)
          .sort(),
      );
      const everything = JSON.stringify(keys);
      for (const label of ['p0', 'p1', 'q0']) {
        expect(everything).toContain(hashOf(label));
        expect(everything).not.toContain(plainToken(label));
      }
      // Instants are stored as unix milliseconds, exactly.
      const p0Key = keys.find((k) => k.key === `${namespace}token:${hashOf('p0')}`);
      expect(p0Key?.content).toMatchObject({ created_at: String(T0.getTime()), rotated_at: String(at(HOUR).getTime()) });
    });

    it('hold metadata in the field `metadata` of the token hash, absent when null', async () => {
      const store = open();
      await store.insert(record('with-metadata', { metadata: '{"tenant":"acme"}' }));
      await store.insert(record('without-metadata', { familyId: 'family-2' }));

      const token = (label: string): string => `${prefix}refresh_tokens:token:${hashOf(label)}`;
      expect(await admin.hget(token('with-metadata'), 'metadata')).toBe('{"tenant":"acme"}');
      expect(await admin.hexists(token('without-metadata'), 'metadata')).toBe(0);
    });

    it("of two stores with different prefixes on one Redis are apart: neither sees the other's tokens or state", async () => {
      const appA = open(`${prefix}app-a:`);
      const appB = open(`${prefix}app-b:`);
      const shared = record('shared');
      await appA.insert(shared);
      await appB.insert(shared);
      await appA.insert(record('only-a', { familyId: 'family-2' }));

      expect(await appB.findByHash(hashOf('only-a'))).toBeNull();
      expect(await appA.revokeUser('user-1', at(HOUR))).toBe(2);
      expect(await appB.findByHash(shared.tokenHash)).toEqual(shared);
      expect(await appB.listFamilies('user-1', T0)).toHaveLength(1);
      expect(await appA.count()).toBe(2);
      expect(await appB.count()).toBe(1);
      expect(await appA.deleteExpired(at(2 * DAY), 100)).toBe(2);
      expect(await appB.count()).toBe(1);

      await appA.blockAccessToken('jti-1', at(HOUR));
      await appA.setRevokedBefore('user-1', at(HOUR));
      await appA.hitRateLimit('k', 60, T0);
      expect(await appB.isAccessTokenBlocked('jti-1', T0)).toBe(false);
      expect(await appB.getRevokedBefore('user-1')).toBeNull();
      expect((await appB.hitRateLimit('k', 60, T0)).count).toBe(1);
    });

    it('are matched literally by purgeExpiredState when the prefix holds glob characters', async () => {
      // Unescaped, the pattern `w*:...` would match the neighbour `wX:...`, whose members are no
      // tokens of the purging store and would be dropped from its sets.
      const globby = open(`${prefix}w*:`);
      const neighbour = open(`${prefix}wX:`);
      await neighbour.insert(record('neighbour'));
      await globby.insert(record('own', { familyId: 'family-2' }));

      expect(await globby.purgeExpiredState(T0)).toBe(0);

      expect(await neighbour.listFamilies('user-1', T0)).toHaveLength(1);
      expect(await admin.smembers(`${prefix}wX:refresh_tokens:family:family-1`)).toEqual([hashOf('neighbour')]);
    });

    it('purge only their own watermarks, even when the prefix holds glob characters', async () => {
      const globby = open(`${prefix}w*:`);
      const neighbour = open(`${prefix}wX:`);
      await neighbour.setRevokedBefore('user-1', at(MINUTE));
      await globby.setRevokedBefore('user-1', at(MINUTE));

      expect(await globby.purgeExpiredState(at(HOUR), at(HOUR))).toBe(1);

      expect(await globby.getRevokedBefore('user-1')).toBeNull();
      expect((await neighbour.getRevokedBefore('user-1'))?.getTime()).toBe(at(MINUTE).getTime());
    });
  });

  describe('expiry', () => {
    it('gives token keys an expiry of validUntil + 1 day, which touch moves, and their indexes at least as long', async () => {
      const store = open();
      const now = Date.now();
      const live = record('live', { validUntil: new Date(now + HOUR), createdAt: new Date(now) });
      await store.insert(live);
      const tokenKey = `${store.namespace}token:${live.tokenHash}`;

      expectNear(await admin.pttl(tokenKey), HOUR + RETENTION_MARGIN - (Date.now() - now));
      expect(await admin.pttl(`${store.namespace}family:family-1`)).toBeGreaterThanOrEqual((await admin.pttl(tokenKey)) - 50);
      expect(await admin.pttl(`${store.namespace}user:user-1`)).toBeGreaterThanOrEqual((await admin.pttl(tokenKey)) - 50);
      expect(await admin.zscore(`${store.namespace}expiry`, live.tokenHash)).toBe(String(now + HOUR));

      expect(await store.touch(live.tokenHash, new Date(now + 2 * HOUR), new Date(now))).toBe(true);
      expectNear(await admin.pttl(tokenKey), 2 * HOUR + RETENTION_MARGIN - (Date.now() - now));
      expect(await admin.pttl(`${store.namespace}family:family-1`)).toBeGreaterThanOrEqual((await admin.pttl(tokenKey)) - 50);
      expect(await admin.zscore(`${store.namespace}expiry`, live.tokenHash)).toBe(String(now + 2 * HOUR));
    });

    it('keeps a record already past validUntil for the margin, so it is still found (reuse detection)', async () => {
      const store = open();
      const stale = record('stale', { validUntil: new Date(Date.now() - 2 * DAY) });
      await store.insert(stale);

      expectNear(await admin.pttl(`${store.namespace}token:${stale.tokenHash}`), RETENTION_MARGIN);
      expect(await store.findByHash(stale.tokenHash)).toEqual(stale);
    });

    it('lets blocklist entries and rate-limit windows expire by themselves, and keeps the watermark', async () => {
      const store = open();
      const now = new Date();
      await store.blockAccessToken('jti-1', new Date(now.getTime() + MINUTE));
      await store.hitRateLimit('login:192.0.2.1', 60, now);
      await store.setRevokedBefore('user-1', now);

      const blockedTtl = await admin.pttl(`${store.namespace}blocked:jti-1`);
      expect(blockedTtl).toBeGreaterThan(MINUTE - 5_000);
      expect(blockedTtl).toBeLessThanOrEqual(MINUTE + 5 * MINUTE);
      const windowStart = Math.floor(now.getTime() / MINUTE) * MINUTE;
      const windowTtl = await admin.pttl(`${store.namespace}rl:login:192.0.2.1:${windowStart}`);
      expect(windowTtl).toBeGreaterThan(0);
      expect(windowTtl).toBeLessThanOrEqual(MINUTE + 5 * MINUTE);
      expect(await admin.pttl(`${store.namespace}revoked-before:user-1`)).toBe(-1);
    });

    it('drops the index entries of records Redis expired, and ignores them meanwhile', async () => {
      const store = open();
      const now = new Date();
      const old = (label: string, familyId: string): RefreshTokenRecord =>
        record(label, { familyId, createdAt: new Date(now.getTime() - 3 * DAY), validUntil: new Date(now.getTime() - 2 * DAY) });
      const live = record('live', { createdAt: now, validUntil: new Date(now.getTime() + HOUR) });
      await insertAll(store, [old('gone-1', 'family-1'), live, old('gone-2', 'family-2')]);
      // What Redis does to a key once its expiry passes.
      await admin.del(`${store.namespace}token:${hashOf('gone-1')}`, `${store.namespace}token:${hashOf('gone-2')}`);

      expect(await store.count()).toBe(1);
      expect((await store.listFamilies('user-1', now)).map((f) => f.familyId)).toEqual(['family-1']);
      expect(await store.revokeFamily('family-1', now)).toBe(1);
      expect(await admin.smembers(`${store.namespace}family:family-1`)).toEqual([live.tokenHash]);

      // Left: gone-1 and gone-2 in the user's set, gone-2 in family-2's.
      expect(await store.purgeExpiredState(now)).toBe(3);
      expect(await admin.smembers(`${store.namespace}user:user-1`)).toEqual([live.tokenHash]);
      expect(await admin.exists(`${store.namespace}family:family-2`)).toBe(0);
      expect(await store.purgeExpiredState(now)).toBe(0);
    });

    it('counts records Redis expired as deleted in deleteExpired, so a loop until 0 never stops early', async () => {
      const store = open();
      const now = Date.now();
      await insertAll(store, [
        record('gone', { validUntil: new Date(now - 2 * DAY) }),
        record('expired', { validUntil: new Date(now - DAY) }),
        record('live', { validUntil: new Date(now + DAY) }),
      ]);
      await admin.del(`${store.namespace}token:${hashOf('gone')}`);

      expect(await store.deleteExpired(new Date(now), 1)).toBe(1);
      expect(await store.deleteExpired(new Date(now), 1)).toBe(1);
      expect(await store.deleteExpired(new Date(now), 1)).toBe(0);
      expect(await store.count()).toBe(1);
      // The expired record's family and user are gone with it, so its set entries wait for the purge.
      expect((await admin.smembers(`${store.namespace}user:user-1`)).sort()).toEqual([hashOf('gone'), hashOf('live')].sort());
      expect(await store.purgeExpiredState(new Date(now))).toBe(2);
      expect(await admin.smembers(`${store.namespace}user:user-1`)).toEqual([hashOf('live')]);
    });
  });

  describe('connections and options', () => {
    it("gives its own connection no retry and connect and command timeouts of operationTimeoutMs, and leaves an app client's options alone", async () => {
      // With ioredis's defaults (20 retries per command, 10 s connect timeout) a call with Redis
      // unreachable waited 73 to 107 s.
      const own = open();
      expect(own.client.options).toMatchObject({ maxRetriesPerRequest: 0, connectTimeout: 3000, commandTimeout: 3000 });
      const quick = createRedisStore({ url: REDIS_URL, keyPrefix: prefix, operationTimeoutMs: 750 });
      stores.push(quick);
      expect(quick.client.options).toMatchObject({ connectTimeout: 750, commandTimeout: 750 });

      const client = appClient();
      const shared = open(prefix, { client });
      expect(shared.client).toBe(client);
      expect(shared.client.options).toMatchObject({ maxRetriesPerRequest: 20, connectTimeout: 10_000 });
    });

    it('shares one app client between stores of several prefixes', async () => {
      const client = appClient();
      const a = open(`${prefix}a:`, { client });
      const b = open(`${prefix}b:`, { client });
      await a.insert(record('x'));
      expect(await b.findByHash(hashOf('x'))).toBeNull();
      expect(await a.findByHash(hashOf('x'))).not.toBeNull();
    });

    it("refuses an app client with ioredis's own keyPrefix with a ConfigError", () => {
      const client = appClient({ keyPrefix: 'app:' });

      // ioredis would prefix the KEYS but not the keys the scripts build: refused, not half-prefixed.
      expect(() => createRedisStore({ client })).toThrow(ConfigError);
    });

    it('defaults to the prefix jwt-refresh: and the table name refresh_tokens', () => {
      const store = createRedisStore({ client: appClient() });

      expect(store.namespace).toBe('jwt-refresh:refresh_tokens:');
      expect(store.keyPrefix).toBe('jwt-refresh:');
      expect(store.tableName).toBe('refresh_tokens');
    });
  });

  describe('concurrency', () => {
    it('lets exactly one of 50 parallel rotations through 5 connections win', async () => {
      const connections = Array.from({ length: 5 }, () => open());
      await Promise.all(connections.map((store) => store.client.ping()));
      const parent = record('contended');
      await connections[0]?.insert(parent);
      const successors = Array.from({ length: 50 }, (_, i) => successorOf(parent, `contender-${i}`, at(HOUR)));

      const outcomes = await Promise.all(
        successors.map((successor, i) => connections[i % 5]?.rotate(parent.tokenHash, successor, at(HOUR))),
      );

      expect(outcomes.filter((o) => o === 'rotated')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'conflict')).toHaveLength(49);
      const winner = successors[outcomes.indexOf('rotated')];
      const store = connections[0] as RedisRefreshTokenStore;
      expect((await store.findByHash(parent.tokenHash))?.successorHash).toBe(winner?.tokenHash);
      const expected = [parent.tokenHash, winner?.tokenHash].sort();
      expect((await admin.smembers(`${store.namespace}family:family-1`)).sort()).toEqual(expected);
      expect((await admin.smembers(`${store.namespace}user:user-1`)).sort()).toEqual(expected);
      expect((await admin.zrange(`${store.namespace}expiry`, 0, '-1')).sort()).toEqual(expected);
      expect(await store.count()).toBe(2);
    });

    it('leaves no live token when revokeFamily races a rotate on another connection', async () => {
      const rotator = open();
      const revoker = open();
      await Promise.all([rotator.client.ping(), revoker.client.ping()]);
      const outcomes: RotateOutcome[] = [];

      for (let round = 0; round < 40; round += 1) {
        const parent = record(`parent-${round}`, { familyId: `race-${round}` });
        const successor = successorOf(parent, `child-${round}`, at(HOUR));
        await rotator.insert(parent);
        // Alternate which command leaves first, so both orders reach the server.
        let rotation: Promise<RotateOutcome>;
        let revocation: Promise<number>;
        // The store awaits its connection before it sends a command: one turn of the event loop lets the first
        // command reach the socket before the second starts, without serialising them.
        const turn = () => new Promise((resolve) => setImmediate(resolve));
        if (round % 2 === 0) {
          rotation = rotator.rotate(parent.tokenHash, successor, at(HOUR));
          if (round % 4 === 0) await turn();
          revocation = revoker.revokeFamily(parent.familyId, at(HOUR));
        } else {
          revocation = revoker.revokeFamily(parent.familyId, at(HOUR));
          if (round % 4 === 1) await turn();
          rotation = rotator.rotate(parent.tokenHash, successor, at(HOUR));
        }
        const [outcome, revoked] = await Promise.all([rotation, revocation]);
        outcomes.push(outcome);

        const child = await revoker.findByHash(successor.tokenHash);
        expect((await revoker.findByHash(parent.tokenHash))?.revokedAt).toEqual(at(HOUR));
        if (outcome === 'rotated') {
          // revokeFamily ran after rotate's script: it saw the successor in the family set.
          expect(revoked).toBe(2);
          expect(child?.revokedAt).toEqual(at(HOUR));
        } else {
          // revokeFamily ran first: rotate found the parent revoked and wrote nothing.
          expect(revoked).toBe(1);
          expect(child).toBeNull();
        }
        expect(await revoker.listFamilies('user-1', at(HOUR))).toEqual([]);
      }
      expect(new Set(outcomes)).toEqual(new Set(['rotated', 'conflict']));
    });
  });
});

// --- fixtures, as in test/conformance/store.suite.ts ---

/** Rotation here keeps the successor's userAgent and ip null. */
function successorOf(parent: RefreshTokenRecord, label: string, createdAt: Date): RefreshTokenRecord {
  return sharedSuccessorOf(parent, label, createdAt, { carryClient: false });
}

async function insertAll(store: RedisRefreshTokenStore, records: RefreshTokenRecord[]): Promise<void> {
  for (const r of records) {
    await store.insert(r);
  }
}

/** A TTL measured a moment after it was set: at most `expected`, and not much less. */
function expectNear(ttl: number, expected: number): void {
  expect(ttl).toBeLessThanOrEqual(expected + 50);
  expect(ttl).toBeGreaterThan(expected - 5_000);
}

// --- Redis helpers ---

async function connectOrFail(): Promise<Redis> {
  // No retries: a missing server fails the file at once, with the way to start it.
  const client = new Redis(REDIS_URL, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 3_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return client;
  } catch (error) {
    client.disconnect();
    throw new Error(`Redis is not reachable at ${REDIS_URL} (set REDIS_URL to use another). Start it with: ${START_COMMAND}`, {
      cause: error,
    });
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

async function scanKeys(client: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return [...new Set(keys)];
}

async function deleteKeys(client: Redis, prefix: string): Promise<void> {
  const keys = await scanKeys(client, prefix);
  for (let i = 0; i < keys.length; i += 500) {
    await client.unlink(...keys.slice(i, i + 500));
  }
}

/** Every record hash of a store's namespace, as Redis holds it: the conformance suite's raw rows. */
async function tokenRows(client: Redis, namespace: string): Promise<Array<Record<string, unknown>>> {
  const keys = await scanKeys(client, `${namespace}token:`);
  return Promise.all(keys.map(async (key) => ({ key, ...(await client.hgetall(key)) })));
}

/** Every key under `prefix` with its type and whole content, whatever its type. */
async function dumpKeys(client: Redis, prefix: string): Promise<Array<{ key: string; type: string; content: unknown }>> {
  const keys = await scanKeys(client, prefix);
  return Promise.all(
    keys.map(async (key) => {
      const type = await client.type(key);
      const content =
        type === 'hash'
          ? await client.hgetall(key)
          : type === 'set'
            ? (await client.smembers(key)).sort()
            : type === 'zset'
              ? await client.zrange(key, 0, '-1', 'WITHSCORES')
              : await client.get(key);
      return { key, type, content };
    }),
  );
}
