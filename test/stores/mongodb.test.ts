/**
 * The MongoDB store: the conformance and lifecycle suites, plus what only
 * MongoDB has (indexes and their options, TTL, the database name, the
 * successor-first rotation).
 *
 * Server: the real mongod at `MONGODB_URL` when that is set, else an
 * in-process CongoServer (test/support/congo-server.ts) — one code path, the
 * official driver over a real socket either way. CongoServer enforces no
 * unique secondary index and never purges by TTL; the cases that need those
 * say so and assert them only against a real mongod, asserting the index
 * definitions otherwise.
 */
import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { MongoClient, type Db, type Document } from 'mongodb';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, StoreError } from '../../src/errors.js';
import {
  createMongoStore,
  MONGODB_MIGRATIONS_COLLECTION,
  mongoMigrations,
  type MongoRefreshTokenStore,
  type MongoStoreOptions,
} from '../../src/stores/mongodb.js';
import type { RefreshTokenRecord, RotateOutcome } from '../../src/stores/store.js';
import { runStoreConformance } from '../conformance/store.suite.js';
import { runStoreLifecycle } from '../conformance/store-lifecycle.suite.js';
import { startCongoServer, type RunningCongoServer } from '../support/congo-server.js';
import { freePort } from '../support/spawn-server.js';
import { at, HOUR, labelHash as hashOf, recordMaker, T0 } from '../support/token-records.js';

/** A real mongod when set (e.g. `mongodb://127.0.0.1:27017/?directConnection=true`); unset: CongoServer. */
const MONGODB_URL = process.env.MONGODB_URL;
const REAL_MONGOD = MONGODB_URL !== undefined && MONGODB_URL !== '';
/** One database per run of this file, dropped at the end, so parallel runs never meet. */
const DATABASE = `jwt_refresh_test_${process.pid}_${randomBytes(4).toString('hex')}`;

let congo: RunningCongoServer | undefined;
let serverUrl = '';
/** The test's own client, for raw reads and drops; never one a store under test owns. */
let admin: MongoClient | undefined;
/** Whether {@link reachServer} succeeded, so afterAll has a database to drop. */
let connected = false;
let collectionCounter = 0;

/** A collection name no other case of this run uses. */
function freshCollection(): string {
  collectionCounter += 1;
  return `rt_${collectionCounter}`;
}

let reached: Promise<void> | undefined;

/**
 * Connects once to the server under test. Awaited before EVERY case, so an
 * unreachable MONGODB_URL fails each case with how to fix it, rather than
 * failing a beforeAll, which reporters count as skipped cases.
 */
function reachServer(): Promise<void> {
  reached ??= (async () => {
    if (!REAL_MONGOD) {
      congo = await startCongoServer();
      serverUrl = congo.url;
      admin = new MongoClient(serverUrl);
      connected = true;
      return;
    }
    serverUrl = MONGODB_URL;
    admin = new MongoClient(serverUrl, { serverSelectionTimeoutMS: 5_000 });
    try {
      await admin.db('admin').command({ ping: 1 });
    } catch (error) {
      throw new Error(
        'MONGODB_URL is set but no MongoDB answers there. Start that mongod, or unset MONGODB_URL to run ' +
          "against the in-process CongoServer (ENVIRONMENT.md: no mongod can be installed on this project's machines).",
        { cause: error },
      );
    }
    connected = true;
  })();
  return reached;
}

beforeEach(reachServer);

/** The test's own client, once {@link reachServer} has connected it. */
function adminClient(): MongoClient {
  if (admin === undefined) {
    throw new Error('not connected: reachServer() runs before every case');
  }
  return admin;
}

/** This run's database, through the test's own client. */
function testDb(): Db {
  return adminClient().db(DATABASE);
}

afterAll(async () => {
  try {
    if (connected) {
      await adminClient().db(DATABASE).dropDatabase();
    }
    await admin?.close();
  } finally {
    await congo?.stop();
  }
});

/** Drops the token collection and its companions; a case may not have created all of them. */
async function dropCollections(collectionName: string): Promise<void> {
  const db = testDb();
  for (const name of [collectionName, `${collectionName}_blocklist`, `${collectionName}_watermarks`, `${collectionName}_rate_limits`]) {
    await db
      .collection(name)
      .drop()
      .catch((error: unknown) => {
        // NamespaceNotFound: nothing to drop (older mongods and CongoServer report it; the driver passes it on).
        if ((error as { code?: unknown }).code !== 26) throw error;
      });
  }
}

runStoreConformance(REAL_MONGOD ? 'mongodb (MONGODB_URL)' : 'mongodb (CongoServer)', async () => {
  const collectionName = freshCollection();
  // `url`: the store owns its client (default pool of 100), so the 50-rotation race runs over many connections.
  const store = createMongoStore({ url: serverUrl, databaseName: DATABASE, collectionName });
  return {
    store,
    rawRows: () => testDb().collection(collectionName).find({}).toArray(),
    cleanup: async () => {
      await store.close();
      await dropCollections(collectionName);
    },
  };
});

runStoreLifecycle(REAL_MONGOD ? 'mongodb (MONGODB_URL)' : 'mongodb (CongoServer)', {
  setup: reachServer,
  create: (options) => createMongoStore({ databaseName: DATABASE, ...options } as MongoStoreOptions),
  table: { option: 'collectionName', maxLength: 63, fresh: freshCollection },
  connection: {
    owned: () => ({ url: serverUrl }),
    shared: async () => {
      const client = new MongoClient(serverUrl);
      return {
        options: { client },
        isOpen: async () => (await client.db(DATABASE).command({ ping: 1 })).ok === 1,
        close: () => client.close(),
      };
    },
    // A closed MongoClient drops its topology (and would open a new one on the next operation).
    isClosed: async (store) => (store.client as unknown as { topology?: unknown }).topology === undefined,
    failsAfterClose: false,
  },
  migrations: {
    mode: 'lazy',
    steps: mongoMigrations,
    needsSchema: false,
    records: async (collection) =>
      testDb()
        .collection(MONGODB_MIGRATIONS_COLLECTION)
        .find({ collection }, { sort: { version: 1 } })
        .map((document) => ({ version: document.version as number, name: document.name as string, appliedAt: document.appliedAt as Date }))
        .toArray(),
    // Documents written before the field existed lack it; no migration added it.
    withoutMetadata: async (collection) => {
      await testDb()
        .collection(collection)
        .updateMany({}, { $unset: { metadata: '' } });
    },
  },
  unreachable: {
    options: async () => ({ url: `mongodb://127.0.0.1:${await freePort()}/?directConnection=true&serverSelectionTimeoutMS=300` }),
    cause: /MongoServerSelectionError/,
  },
});

/** This file's records: a one-step label hash and the bare `alice` identifier. */
const record = recordMaker({ hash: hashOf, userIdentifier: 'alice' });

function successorOf(parent: RefreshTokenRecord, label: string, id = `id-${label}`): RefreshTokenRecord {
  return record(label, { id, familyId: parent.familyId, generation: parent.generation + 1, createdAt: at(HOUR) });
}

/** The definition of each index of a collection, as listIndexes reports it, without `v` and `name`. */
async function indexDefinitions(collectionName: string): Promise<Array<{ key: Document; unique: boolean; ttl: number | null }>> {
  const indexes = await testDb().collection(collectionName).listIndexes().toArray();
  return indexes.map((index) => ({
    key: index.key as Document,
    unique: index.unique === true,
    ttl: typeof index.expireAfterSeconds === 'number' ? index.expireAfterSeconds : null,
  }));
}

describe('MongoDB store', () => {
  const opened: Array<{ close(): Promise<unknown> }> = [];
  const created: string[] = [];

  /** Tracks what a case opens so a failing assertion cannot leak a client into the next case. */
  function track<T extends { close(): Promise<unknown> }>(closable: T): T {
    opened.push(closable);
    return closable;
  }

  /** A store on a fresh collection of this run's database, closed and dropped after the case. */
  function newStore(options: Partial<MongoStoreOptions> = {}): MongoRefreshTokenStore {
    const collectionName = options.collectionName ?? freshCollection();
    created.push(collectionName);
    const base = options.client === undefined ? { url: serverUrl } : {};
    return track(createMongoStore({ ...base, databaseName: DATABASE, collectionName, ...options }));
  }

  afterEach(async () => {
    for (const closable of opened.splice(0)) {
      await closable.close();
    }
    for (const collectionName of created.splice(0)) {
      await dropCollections(collectionName);
    }
  });

  describe('schema', () => {
    it('indexes tokenHash (unique), userId, familyId, validUntil, and expiresAt with a TTL; the companions likewise', async () => {
      const store = newStore();
      expect(await store.migrate()).toEqual([1, 2]);
      const name = store.collectionName;

      expect(await indexDefinitions(name)).toEqual(
        expect.arrayContaining([
          { key: { tokenHash: 1 }, unique: true, ttl: null },
          { key: { userId: 1 }, unique: false, ttl: null },
          { key: { familyId: 1 }, unique: false, ttl: null },
          { key: { validUntil: 1 }, unique: false, ttl: null },
          { key: { expiresAt: 1 }, unique: false, ttl: 0 },
        ]),
      );
      expect(await indexDefinitions(`${name}_blocklist`)).toEqual(
        expect.arrayContaining([
          { key: { jti: 1 }, unique: true, ttl: null },
          { key: { expiresAt: 1 }, unique: false, ttl: 0 },
        ]),
      );
      expect(await indexDefinitions(`${name}_watermarks`)).toEqual(
        expect.arrayContaining([{ key: { userId: 1 }, unique: true, ttl: null }]),
      );
      expect(await indexDefinitions(`${name}_rate_limits`)).toEqual(
        expect.arrayContaining([
          { key: { key: 1, windowStart: 1 }, unique: true, ttl: null },
          { key: { resetAt: 1 }, unique: false, ttl: 0 },
        ]),
      );
      expect(await indexDefinitions(MONGODB_MIGRATIONS_COLLECTION)).toEqual(
        expect.arrayContaining([{ key: { collection: 1, version: 1 }, unique: true, ttl: null }]),
      );
    });

    it('stores camelCase fields with instants as BSON Dates to the millisecond, and expiresAt = validUntil, moved by touch', async () => {
      const store = newStore();
      const full = record('raw', {
        familyDeadline: at(30 * 24 * HOUR + 5),
        userAgent: 'ua',
        ip: '192.0.2.1',
        metadata: '{"tenant":"acme"}',
      });
      await store.insert(full);
      expect(await store.touch(full.tokenHash, at(48 * HOUR + 7), at(HOUR + 3))).toBe(true);

      const raw = await testDb().collection(store.collectionName).findOne({ tokenHash: full.tokenHash });
      expect(raw).toMatchObject({
        id: 'id-raw',
        userId: 'user-1',
        familyId: 'family-1',
        generation: 0,
        validUntil: at(48 * HOUR + 7),
        expiresAt: at(48 * HOUR + 7),
        familyDeadline: at(30 * 24 * HOUR + 5),
        createdAt: T0,
        lastUsedAt: at(HOUR + 3),
        rotatedAt: null,
        successorHash: null,
        revokedAt: null,
        metadata: '{"tenant":"acme"}',
      });
      expect(raw?.validUntil).toBeInstanceOf(Date);
      expect((raw!.expiresAt as Date).getTime()).toBe(at(48 * HOUR + 7).getTime());
    });

    it(REAL_MONGOD
      ? 'mongod enforces the unique tokenHash index and purges expired records by TTL'
      : 'declares the unique tokenHash index and the TTL index (CongoServer enforces neither: set MONGODB_URL to assert the enforcement)', async () => {
      const store = newStore();
      await store.migrate();
      const raw = testDb().collection(store.collectionName);
      if (!REAL_MONGOD) {
        const definitions = await indexDefinitions(store.collectionName);
        expect(definitions).toContainEqual({ key: { tokenHash: 1 }, unique: true, ttl: null });
        expect(definitions).toContainEqual({ key: { expiresAt: 1 }, unique: false, ttl: 0 });
        return;
      }
      // A plain insertOne, bypassing the store's conditional upsert: only the index can refuse it.
      await raw.insertOne({ tokenHash: hashOf('dup') });
      await expect(raw.insertOne({ tokenHash: hashOf('dup') })).rejects.toMatchObject({ code: 11000 });

      // The TTL monitor runs every 60 s by default; shorten it when this user may (needs setParameter rights).
      await adminClient()
        .db('admin')
        .command({ setParameter: 1, ttlMonitorSleepSecs: 1 })
        .catch(() => undefined);
      const expired = record('expired', { validUntil: new Date(Date.now() - 1_000) });
      await store.insert(expired);
      const deadline = Date.now() + 100_000;
      while ((await store.findByHash(expired.tokenHash)) !== null) {
        expect(Date.now(), 'TTL monitor did not purge the expired record').toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }, 120_000);

    it('keeps one rate-limit document per key and window, with the window bounds', async () => {
      const store = newStore();
      await store.hitRateLimit('login:192.0.2.1', 60, T0);
      await store.hitRateLimit('login:192.0.2.1', 60, T0);
      const nextWindow = new Date(Math.floor(T0.getTime() / 60_000) * 60_000 + 60_000);
      expect((await store.hitRateLimit('login:192.0.2.1', 60, nextWindow)).count).toBe(1);

      const windows = await testDb()
        .collection(`${store.collectionName}_rate_limits`)
        .find({}, { projection: { _id: 0 }, sort: { windowStart: 1 } })
        .toArray();
      expect(windows).toEqual([
        { key: 'login:192.0.2.1', windowStart: new Date(nextWindow.getTime() - 60_000), resetAt: nextWindow, count: 2 },
        { key: 'login:192.0.2.1', windowStart: nextWindow, resetAt: new Date(nextWindow.getTime() + 60_000), count: 1 },
      ]);
    });
  });

  describe('concurrency', () => {
    it('lets exactly one of 50 parallel rotations win through an app-owned client with a pool of 10, over several connections', async () => {
      const client = track(new MongoClient(serverUrl, { maxPoolSize: 10 }));
      let checkedOut = 0;
      let mostCheckedOut = 0;
      client.on('connectionCheckedOut', () => {
        checkedOut += 1;
        mostCheckedOut = Math.max(mostCheckedOut, checkedOut);
      });
      client.on('connectionCheckedIn', () => {
        checkedOut -= 1;
      });
      const store = newStore({ client });
      const parent = record('contended');
      await store.insert(parent);
      const successors = Array.from({ length: 50 }, (_, i) => successorOf(parent, `contender-${i}`));

      const outcomes = await Promise.all(successors.map((s) => store.rotate(parent.tokenHash, s, at(HOUR))));

      expect(outcomes.filter((o) => o === 'rotated')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'conflict')).toHaveLength(49);
      const winner = successors[outcomes.indexOf('rotated')];
      expect((await store.findByHash(parent.tokenHash))?.successorHash).toBe(winner?.tokenHash);
      expect(await store.count()).toBe(2);
      // The race ran over real, simultaneous connections, not one serialised connection.
      expect(mostCheckedOut).toBeGreaterThan(1);
      expect(mostCheckedOut).toBeLessThanOrEqual(10);
    });

    it('lets 50 parallel rotations to the SAME successor (as refreshes of one token derive it) end with one winner, 49 conflicts, no error, and the successor found by every loser', async () => {
      // Every request inserts the same successor hash first; all but one find it taken by that same
      // successor (same family, generation, user), which is not a clash. A loser then reads the parent
      // and its successor, as a grace-window replay does.
      const store = newStore();
      const parent = record('shared-parent');
      await store.insert(parent);

      const results = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const outcome = await store.rotate(parent.tokenHash, successorOf(parent, 'shared-child', `id-request-${i}`), at(HOUR));
          if (outcome === 'rotated') {
            return { outcome, successorFound: true };
          }
          const seen = await store.findByHash(parent.tokenHash);
          const successorFound = seen?.successorHash != null && (await store.findByHash(seen.successorHash)) !== null;
          return { outcome, successorFound };
        }),
      );

      expect(results.filter((r) => r.outcome === 'rotated')).toHaveLength(1);
      expect(results.filter((r) => !r.successorFound)).toEqual([]);
      expect((await store.findByHash(parent.tokenHash))?.successorHash).toBe(hashOf('shared-child'));
      expect(await store.count()).toBe(2);
    });

    it('never lets a reader on another connection see the parent rotated before its successor exists, even when the rotating client is slow', async () => {
      // The rotating store's requests reach the server 40 ms late, so a gap between its two writes
      // is wide open; an observer polls through its own client meanwhile. Writing the parent first
      // would show it rotated with no successor for ~40 ms, and a grace replay would see reuse.
      const proxy = await startDelayingProxy(serverUrl, 40);
      try {
        const slow = newStore({ url: proxy.url });
        const observer = newStore({ collectionName: slow.collectionName });
        const parent = record('observed-parent');
        await observer.insert(parent);
        await slow.count(); // Connects and migrates before the measured rotation.
        const successor = successorOf(parent, 'observed-child');

        let done = false;
        const rotation = slow.rotate(parent.tokenHash, successor, at(HOUR)).finally(() => {
          done = true;
        });
        const seen: string[] = [];
        while (!done) {
          seen.push(await observe(observer, parent.tokenHash));
        }
        expect(await rotation).toBe('rotated');
        seen.push(await observe(observer, parent.tokenHash));

        expect(seen).not.toContain('rotated, successor missing');
        // The observer did run during the rotation: it saw the successor stored before the parent was marked.
        expect(seen).toContain('live, successor stored');
        expect(seen.at(-1)).toBe('rotated, successor stored');
      } finally {
        await proxy.close();
      }
    });

    it('keeps a shared successor when the request that inserted it loses the compare-and-set to one that found it stored', async () => {
      // A (slow) inserts the successor; B, derived the same successor, finds it stored and marks the
      // parent before A's compare-and-set arrives. A loses and must not delete what the parent now points at.
      const proxy = await startDelayingProxy(serverUrl, 40);
      try {
        const slow = newStore({ url: proxy.url });
        const fast = newStore({ collectionName: slow.collectionName });
        const parent = record('shared-insert-parent');
        await fast.insert(parent);
        await slow.count();
        const shared = successorOf(parent, 'shared-insert-child');

        const slowRotation = slow.rotate(parent.tokenHash, { ...shared, id: 'id-slow' }, at(HOUR));
        while ((await fast.findByHash(shared.tokenHash)) === null) {
          // Until A's successor insert has landed.
        }
        const fastOutcome = await fast.rotate(parent.tokenHash, { ...shared, id: 'id-fast' }, at(HOUR));

        expect(fastOutcome).toBe('rotated');
        expect(await slowRotation).toBe('conflict');
        expect((await fast.findByHash(parent.tokenHash))?.successorHash).toBe(shared.tokenHash);
        expect((await fast.findByHash(shared.tokenHash))?.id).toBe('id-slow');
        expect(await fast.count()).toBe(2);
      } finally {
        await proxy.close();
      }
    });

    it('still refuses a successor whose hash belongs to another family, writing nothing', async () => {
      const store = newStore();
      const parent = record('parent');
      const other = record('other-family', { familyId: 'family-2', generation: 1 });
      await store.insert(parent);
      await store.insert(other);

      const error: unknown = await store.rotate(parent.tokenHash, successorOf(parent, 'other-family'), at(HOUR)).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(StoreError);
      expect((error as StoreError).message).toBe('Store operation failed: rotate');
      expect(await store.findByHash(parent.tokenHash)).toEqual(parent);
      expect(await store.findByHash(other.tokenHash)).toEqual(other);
      expect(await store.count()).toBe(2);
    });

    it('leaves no successor behind when rotations of a revoked parent lose', async () => {
      const store = newStore();
      const parent = record('revoked-meanwhile', { revokedAt: at(1) });
      await store.insert(parent);

      const outcomes: RotateOutcome[] = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.rotate(parent.tokenHash, successorOf(parent, `late-${i}`), at(HOUR))),
      );

      expect(new Set(outcomes)).toEqual(new Set(['conflict']));
      expect(await store.count()).toBe(1);
    });
  });

  describe('options', () => {
    it('takes the database from the URL, else jwt_refresh; databaseName overrides both', () => {
      const fromUrl = track(createMongoStore({ url: 'mongodb://127.0.0.1:27017/app_db?directConnection=true' }));
      const hosts = track(createMongoStore({ url: 'mongodb://a.example:27017,b.example:27017/other%5Fdb?replicaSet=rs0' }));
      const unnamed = track(createMongoStore({ url: 'mongodb://127.0.0.1:27017/?directConnection=true' }));
      const bare = track(createMongoStore({ url: 'mongodb://127.0.0.1:27017' }));
      const explicit = track(createMongoStore({ url: 'mongodb://127.0.0.1:27017/app_db', databaseName: 'tokens' }));

      expect([fromUrl, hosts, unnamed, bare, explicit].map((s) => s.databaseName)).toEqual([
        'app_db',
        'other_db',
        'jwt_refresh',
        'jwt_refresh',
        'tokens',
      ]);
      expect(fromUrl.collectionName).toBe('refresh_tokens');
    });

    it('refuses a database name MongoDB would refuse, and a url that is not a MongoDB connection string', () => {
      const client = track(new MongoClient(serverUrl));
      for (const databaseName of ['', 'a.b', 'a/b', 'a b', 'a$b', 'x'.repeat(64)]) {
        expect(() => createMongoStore({ client, databaseName }), databaseName).toThrow(ConfigError);
      }
      expect(() => createMongoStore({ url: 'postgres://127.0.0.1/x' })).toThrow(ConfigError);
    });
  });
});

/** One observation of a parent and the successor a rotation is writing, for the slow-writer case. */
async function observe(store: MongoRefreshTokenStore, parentHash: string): Promise<string> {
  const parent = await store.findByHash(parentHash);
  const successor = await store.findByHash(hashOf('observed-child'));
  const state = parent?.rotatedAt == null ? 'live' : 'rotated';
  return `${state}, successor ${successor === null ? 'missing' : 'stored'}`;
}

/**
 * A TCP proxy to the server of `url` that forwards client-to-server bytes
 * `delayMs` late (in order; replies pass straight through). Answers a URL
 * that reaches the same server through it.
 */
async function startDelayingProxy(url: string, delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const parts = /^mongodb:\/\/([^@/?]*@)?([^,/?]+)[^/?]*(\/[^?]*)?(\?.*)?$/.exec(url);
  if (parts === null) {
    throw new Error('the slow-writer case needs a mongodb:// URL (not mongodb+srv://) to put a proxy in front of');
  }
  const [, userinfo = '', firstHost = '', path = '/', query = ''] = parts;
  const separator = firstHost.lastIndexOf(':');
  const host = separator === -1 ? firstHost : firstHost.slice(0, separator);
  const port = separator === -1 ? 27017 : Number(firstHost.slice(separator + 1));
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(port, host.replace(/^\[|\]$/g, ''));
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      setTimeout(() => upstream.write(chunk), delayMs);
    });
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const proxyPort = typeof address === 'object' && address !== null ? address.port : 0;
  // One host, reached directly: the proxy stands for the first server of the list.
  const params = query
    .replace(/^\?/, '')
    .split('&')
    .filter((p) => p !== '' && !p.startsWith('directConnection='));
  return {
    url: `mongodb://${userinfo}127.0.0.1:${proxyPort}${path === '' ? '/' : path}?${[...params, 'directConnection=true'].join('&')}`,
    close: async () => {
      for (const socket of sockets) {
        socket.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
