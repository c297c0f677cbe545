/**
 * The store conformance and lifecycle suites for the Redis store, shared by the
 * test files that run them on one Redis server and on a Redis Cluster: they
 * differ only in how a store connects and in where a record's keys live.
 */
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Cluster, Redis } from 'ioredis';
import { expect } from 'vitest';
import { createRedisStore, type RedisRefreshTokenStore, type RedisStoreOptions } from '../../src/stores/redis.js';
import { runStoreConformance } from '../conformance/store.suite.js';
import { runStoreLifecycle, sequentialTableNames } from '../conformance/store-lifecycle.suite.js';

/** How a test file reaches Redis for the shared suites. */
export interface RedisSuitesSetup {
  /** Runs before every case: connects (or starts) what the file needs, failing with how to get it. */
  ready(): Promise<void>;
  /** Options with which a store opens, and owns, its connection (`{ url }` or `{ cluster }`); read after `ready()`. */
  connection(): Pick<RedisStoreOptions, 'url' | 'cluster'>;
  /** A client of the app's own, on the same server(s). */
  appClient(): Redis | Cluster;
  /** A fresh key prefix under the file's, for one conformance case. */
  nextPrefix(kind: string): string;
  /** The prefix the lifecycle cases' stores live under, each case on its own table names. */
  lifecyclePrefix: string;
  /** Every record hash of a store's namespace, as Redis holds it: the conformance suite's raw rows. */
  tokenRows(namespace: string): Promise<Array<Record<string, unknown>>>;
  /** Deletes every key under a prefix. */
  deleteKeys(prefix: string): Promise<void>;
  /** Makes `findByHash(tokenHash)` of `store` fail with WRONGTYPE. */
  breakRecord(store: RedisRefreshTokenStore, tokenHash: string): Promise<void>;
  /** Options of a server that cannot be reached, and what the StoreError's cause then says. */
  unreachable: { options(): Promise<Record<string, unknown>>; cause: RegExp };
}

/** Defines the store conformance and lifecycle suites of the Redis store reached as `setup` says. */
export function runRedisStoreSuites(name: string, setup: RedisSuitesSetup): void {
  runStoreConformance(name, async () => {
    await setup.ready();
    const keyPrefix = setup.nextPrefix('case');
    const store = createRedisStore({ ...setup.connection(), keyPrefix });
    return {
      store,
      // One row per stored record, as Redis holds it (the token hash's fields, strings).
      // Every other key (indexes, blocklist, ...) is checked for plain tokens in the files' own key cases.
      rawRows: () => setup.tokenRows(store.namespace),
      cleanup: async () => {
        await store.close();
        await setup.deleteKeys(keyPrefix);
      },
    };
  });

  runStoreLifecycle(name, {
    setup: setup.ready,
    create: (options) => createRedisStore(options as RedisStoreOptions),
    table: { option: 'tableName', maxLength: 63, fresh: sequentialTableNames() },
    connection: {
      owned: () => ({ ...setup.connection(), keyPrefix: setup.lifecyclePrefix }),
      shared: async () => {
        const client = setup.appClient();
        return {
          options: { client, keyPrefix: setup.lifecyclePrefix },
          isOpen: async () => (await client.ping()) === 'PONG',
          close: async () => client.disconnect(),
        };
      },
      // QUIT is answered before the socket closes: wait (briefly) for ioredis's 'end'.
      isClosed: async (store) =>
        store.client.status === 'end' || Promise.race([once(store.client, 'end').then(() => true), sleep(2_000).then(() => false)]),
      failsAfterClose: true,
    },
    driverFailure: {
      break: async (store, _table, tokenHash) => setup.breakRecord(store, tokenHash),
      cause: { message: expect.stringContaining('WRONGTYPE') },
    },
    unreachable: setup.unreachable,
  });
}
