/**
 * The Redis store on a real 3-master Redis Cluster this file starts on
 * loopback: the store conformance and lifecycle suites, unchanged, plus what
 * is particular to a cluster (a user's keys in one slot, users spread over
 * the masters, maintenance that walks every master).
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Cluster, type Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, StoreError } from '../../src/errors.js';
import { createRedisStore, type RedisRefreshTokenStore } from '../../src/stores/redis.js';
import { startRedisCluster, type RunningRedisCluster } from '../support/redis-cluster.js';
import { runRedisStoreSuites } from '../support/redis-store-suites.js';
import { at, DAY, HOUR, hashOf, record, successorOf, T0 } from '../support/token-records.js';

/** Every key this file creates starts with it (the cluster is this file's own, but its keys are still kept apart). */
const FILE_PREFIX = `test-${process.pid}-${randomBytes(4).toString('hex')}:`;
let prefixCounter = 0;

function nextPrefix(kind: string): string {
  prefixCounter += 1;
  return `${FILE_PREFIX}${kind}-${prefixCounter}:`;
}

let starting: Promise<RunningRedisCluster> | undefined;
let cluster: RunningRedisCluster;
/** A cluster client of the test's own, for raw inspection and cleanup. */
let admin: Cluster;

/**
 * Starts the cluster once, from the first case that needs it (a failed beforeAll would show the cases as skipped):
 * missing binaries fail every case with how to install them.
 */
async function ready(): Promise<void> {
  starting ??= startRedisCluster(3).then(async (running) => {
    admin = new Cluster(running.nodes.map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })));
    admin.on('error', () => {});
    await once(admin, 'ready');
    return running;
  });
  cluster = await starting;
}

beforeEach(ready);

afterAll(async () => {
  admin?.disconnect();
  await (await starting?.catch(() => undefined))?.stop();
});

function masters(): Redis[] {
  return admin.nodes('master');
}

/** Every key under `prefix`, from every master. */
async function keysUnder(prefix: string): Promise<string[]> {
  const found = new Set<string>();
  for (const node of masters()) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) found.add(key);
    } while (cursor !== '0');
  }
  return [...found];
}

/** Deletes every key under `prefix`, one key per command (they are spread over slots). */
async function deleteKeys(prefix: string): Promise<void> {
  await Promise.all((await keysUnder(prefix)).map((key) => admin.unlink(key)));
}

/** Every record hash of a store, as Redis holds it: the conformance suite's raw rows. */
async function tokenRows(namespace: string): Promise<Array<Record<string, unknown>>> {
  const keys = (await keysUnder(namespace)).filter((key) => /^\{u:.*\}:token:/.test(key.slice(namespace.length)));
  return Promise.all(keys.map(async (key) => ({ key, ...(await admin.hgetall(key)) })));
}

runRedisStoreSuites('redis cluster (3 masters)', {
  ready,
  connection: () => ({ cluster: cluster.nodes }),
  appClient: () => {
    const client = new Cluster(cluster.nodes.map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })));
    client.on('error', () => {});
    return client;
  },
  nextPrefix,
  lifecyclePrefix: `${FILE_PREFIX}lifecycle:`,
  tokenRows,
  deleteKeys,
  // The owner key leads to user-1, whose record key holds a string: HGETALL fails with WRONGTYPE.
  breakRecord: async (store, tokenHash) => {
    await admin.set(`${store.namespace}owner:${tokenHash}`, 'user-1');
    await admin.set(`${store.namespace}{u:user-1}:token:${tokenHash}`, 'not a hash');
  },
  unreachable: { options: async () => ({ cluster: ['redis://127.0.0.1:1'] }), cause: /refresh slots|ECONNREFUSED|startup nodes/i },
});

describe('redis store on a cluster', () => {
  let prefix: string;
  const stores: RedisRefreshTokenStore[] = [];

  function open(keyPrefix = prefix): RedisRefreshTokenStore {
    const store = createRedisStore({ cluster: cluster.nodes, keyPrefix });
    stores.push(store);
    return store;
  }

  beforeEach(() => {
    prefix = nextPrefix('only');
  });

  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    await deleteKeys(prefix);
  });

  it("keeps each user's keys in one slot and spreads users over every master", async () => {
    const store = open();
    expect(store.keyLayout).toBe('per-user');
    const users = Array.from({ length: 24 }, (_, i) => `user-${i}`);
    for (const [i, userId] of users.entries()) {
      const login = record(`login-${i}`, { userId, familyId: `family-${i}` });
      await store.insert(login);
      expect(await store.rotate(login.tokenHash, successorOf(login, `next-${i}`, at(HOUR)), at(HOUR))).toBe('rotated');
    }

    const keys = await keysUnder(store.namespace);
    for (const userId of users) {
      const sessionKeys = keys.filter((key) => key.startsWith(`${store.namespace}{u:${userId}}:`));
      // Two records, the family set, the user set and the validity index.
      expect(sessionKeys, userId).toHaveLength(5);
      const slots = await Promise.all(sessionKeys.map((key) => admin.cluster('KEYSLOT', key)));
      expect(new Set(slots).size, userId).toBe(1);
    }
    // Owner keys of 48 tokens and 24 families, each in its own slot.
    expect(keys.filter((key) => key.startsWith(`${store.namespace}owner:`))).toHaveLength(48);
    expect(keys.filter((key) => key.startsWith(`${store.namespace}family-owner:`))).toHaveLength(24);
    const perMaster = await Promise.all(masters().map(async (node) => (await node.keys(`${prefix}*`)).length));
    expect(perMaster.filter((n) => n > 0)).toHaveLength(3);
    expect(await store.count()).toBe(48);
  });

  it('leaves no owner key behind for the losers of 50 parallel rotations through 5 connections', async () => {
    const connections = Array.from({ length: 5 }, () => open());
    const parent = record('contended');
    await connections[0]?.insert(parent);
    const successors = Array.from({ length: 50 }, (_, i) => successorOf(parent, `contender-${i}`, at(HOUR)));

    const outcomes = await Promise.all(successors.map((successor, i) => connections[i % 5]?.rotate(parent.tokenHash, successor, at(HOUR))));

    expect(outcomes.filter((outcome) => outcome === 'rotated')).toHaveLength(1);
    const winner = successors[outcomes.indexOf('rotated')];
    const owners = (await keysUnder(`${prefix}refresh_tokens:owner:`)).map((key) => key.slice(`${prefix}refresh_tokens:owner:`.length));
    expect(owners.sort()).toEqual([parent.tokenHash, winner?.tokenHash].sort());
  });

  it('deletes expired records of many users across the masters in batches (10, 10, 5, 0) and counts what is left', async () => {
    const store = open();
    for (let i = 0; i < 25; i += 1) {
      await store.insert(record(`expired-${i}`, { userId: `user-${i}`, familyId: `family-${i}`, validUntil: at(HOUR) }));
    }
    await store.insert(record('live', { userId: 'user-0', familyId: 'family-live', validUntil: at(2 * DAY) }));

    const batches = [];
    for (let i = 0; i < 4; i += 1) batches.push(await store.deleteExpired(at(DAY), 10));

    expect(batches).toEqual([10, 10, 5, 0]);
    expect(await store.count()).toBe(1);
    expect(await store.findByHash(hashOf('expired-3'))).toBeNull();
    expect((await store.listFamilies('user-0', T0)).map((family) => family.familyId)).toEqual(['family-live']);
  });

  it('keeps every key in the slot of a hash tag in keyPrefix (the former cluster layout), and still works', async () => {
    const tagged = open(`${prefix}{tagged}:`);
    expect(tagged.keyLayout).toBe('single-slot');
    const login = record('tagged-login');
    await tagged.insert(login);
    await tagged.insert(record('other-user', { userId: 'user-2', familyId: 'family-2' }));
    expect(await tagged.rotate(login.tokenHash, successorOf(login, 'tagged-next', at(HOUR)), at(HOUR))).toBe('rotated');
    expect(await tagged.revokeUser('user-1', at(2 * HOUR))).toBe(2);

    const keys = await keysUnder(`${prefix}{tagged}:`);
    expect(keys.map((key) => key.slice(tagged.namespace.length)).sort()).toEqual(
      [
        `token:${hashOf('tagged-login')}`,
        `token:${hashOf('tagged-next')}`,
        `token:${hashOf('other-user')}`,
        'family:family-1',
        'family:family-2',
        'user:user-1',
        'user:user-2',
        'expiry',
      ].sort(),
    );
    const slots = await Promise.all(keys.map((key) => admin.cluster('KEYSLOT', key)));
    expect(new Set(slots).size).toBe(1);
  });

  it("refuses a record in another user's family and a successor of another user, writing nothing", async () => {
    const store = open();
    const login = record('alice-login');
    await store.insert(login);

    const intruder = store.insert(record('mallory-login', { userId: 'user-2' }));
    await expect(intruder).rejects.toBeInstanceOf(StoreError);
    const handover = store.rotate(login.tokenHash, { ...successorOf(login, 'handed-over', at(HOUR)), userId: 'user-2' }, at(HOUR));
    await expect(handover).rejects.toBeInstanceOf(StoreError);

    expect(await store.findByHash(hashOf('mallory-login'))).toBeNull();
    expect(await store.findByHash(login.tokenHash)).toEqual(login);
    expect(await store.revokeFamily('family-1', at(HOUR))).toBe(1);
    expect(await store.count()).toBe(1);
  });

  it("expires a user's validity index with its longest-lived record, but leaves an index from before that rule without expiry", async () => {
    const store = open();
    const now = Date.now();
    await store.insert(record('long', { validUntil: new Date(now + 2 * DAY) }));
    await store.insert(record('short', { familyId: 'family-2', validUntil: new Date(now + HOUR) }));
    const tokenTtl = await admin.pttl(`${store.namespace}{u:user-1}:token:${hashOf('long')}`);
    expect(await admin.pttl(`${store.namespace}{u:user-1}:expiry`)).toBeGreaterThanOrEqual(tokenTtl - 50);
    expect(await admin.pttl(`${store.namespace}owner:${hashOf('long')}`)).toBeGreaterThan(tokenTtl);

    // A store's single index as an earlier version left it: no expiry, holding a record valid for 30 days.
    const tagged = open(`${prefix}{tagged}:`);
    await admin.zadd(`${tagged.namespace}expiry`, now + 30 * DAY, 'a-hash-from-before');
    await tagged.insert(record('after-upgrade', { validUntil: new Date(now + HOUR) }));
    expect(await admin.pttl(`${tagged.namespace}expiry`)).toBe(-1);
  });

  it('refuses an empty hash tag in keyPrefix, which would scatter the keys a script touches', () => {
    expect(() => createRedisStore({ cluster: cluster.nodes, keyPrefix: 'app{}:' })).toThrow(ConfigError);
    expect(() => createRedisStore({ cluster: [], keyPrefix: 'app:' })).toThrow(ConfigError);
    expect(() => createRedisStore({ cluster: ['http://127.0.0.1:1'] })).toThrow(ConfigError);
  });
});
