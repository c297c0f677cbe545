/**
 * The store lifecycle suite: what every store must do around its behaviour
 * (test/conformance/store.suite.ts) — option checks, connections it owns or
 * borrows, failures, and the schema migrations of the stores that have one.
 * Each store's test file runs it with a {@link LifecycleHarness} that says
 * how to reach its backend and which of these capabilities it has; a case
 * that does not apply to a store is skipped, visibly, for that store.
 *
 * @example
 * runStoreLifecycle('memory', { create: () => createMemoryStore() });
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, StoreError } from '../../src/errors.js';
import type { RefreshTokenStore } from '../../src/stores/store.js';
import { at, hashOf, HOUR, record, successorOf, T0 } from '../support/token-records.js';

/** Options as the suite composes them: connection, table name and the case's own. */
type Options = Record<string, unknown>;

/** A connection the app owns and hands a store (a pool, a client, a database handle). */
export interface SharedConnection {
  /** The store option(s) that pass it, e.g. `{ pool }`. */
  options: Options;
  /** Whether it still answers a query. */
  isOpen(): Promise<boolean>;
  close(): Promise<void>;
}

/** One migration record as the backend holds it. */
export interface MigrationRecord {
  version: number;
  name: string;
  appliedAt: Date;
}

/** How the suite reaches one store, and what that store can do. */
export interface LifecycleHarness<S extends RefreshTokenStore = RefreshTokenStore> {
  /** Runs before every case (connects the test's admin client; fails the case with how to start the server). */
  setup?: () => Promise<void>;
  /** The store's factory. */
  create(options: Options): S;
  /** The option naming the store's table (collection, key namespace); absent for a store without one. */
  table?: {
    option: 'tableName' | 'collectionName';
    /** The longest name the store accepts. */
    maxLength: number;
    /** A name no other case uses; the test file removes what the cases create in it. */
    fresh(): string;
  };
  /** The two ways to reach the backend; absent for a store without one. */
  connection?: {
    /** Options with which the store opens, and owns, its connection: `{ url }`, `{ filename }`. */
    owned(): Options;
    /** A connection the app owns. */
    shared(): Promise<SharedConnection>;
    /** Whether the connection the store opened is closed. */
    isClosed(store: S): Promise<boolean>;
    /** Whether an operation after close() fails (false where the driver reconnects by itself). */
    failsAfterClose: boolean;
  };
  /** The schema's migrations; absent for a store without a schema. */
  migrations?: {
    /** 'eager': the constructor migrates; 'lazy': the first operation does. */
    mode: 'eager' | 'lazy';
    /** The store's migrations, oldest first. */
    steps: ReadonlyArray<{ version: number; name: string }>;
    /** Whether operations fail until the schema exists (MongoDB's work without its indexes). */
    needsSchema: boolean;
    /** The records of a table's applied migrations, oldest first. */
    records(table: string): Promise<MigrationRecord[]>;
    /** A same-named table this package did not create (the gesdinet bundle's), where the backend can refuse one. */
    foreignTable?: { create(table: string): Promise<void>; drop(table: string): Promise<void> };
    /** Takes a table back to before the `metadata` field existed (SQL: the column and the record of its migration). */
    withoutMetadata(table: string): Promise<void>;
  };
  /** Makes `findByHash(tokenHash)` fail in the driver; the StoreError's cause must match `cause`. */
  driverFailure?: { break(store: S, table: string, tokenHash: string): Promise<void>; cause: object };
  /** Options of a server that cannot be reached, and what the StoreError's cause then says. */
  unreachable?: { options(): Promise<Options>; cause: RegExp };
}

/** Names that no store accepts as a table name. */
/** Fresh table names for a harness (`t1`, `t2`, …): unique per test file, each store's own prefix keeps runs apart. */
export function sequentialTableNames(): () => string {
  let count = 0;
  return () => {
    count += 1;
    return `t${count}`;
  };
}

/**
 * Fresh names `<prefix>_1`, `<prefix>_2`, ... for tables (or schemas) a test file creates on a
 * shared server, each remembered in `created` so the file can drop them afterwards.
 */
export function trackedNames(prefix: string): { next: () => string; created: Set<string> } {
  const created = new Set<string>();
  let count = 0;
  return {
    created,
    next: () => {
      count += 1;
      const name = `${prefix}_${count}`;
      created.add(name);
      return name;
    },
  };
}

const NOT_IDENTIFIERS = ['', '1tokens', 'refresh-tokens', 'tokens; DROP TABLE users', '"quoted"', '`quoted`', 'a:b', 'tokens.sub', 'a$b'];

/** Defines `describe('store lifecycle: <name>')`, one case per capability the harness has. */
export function runStoreLifecycle<S extends RefreshTokenStore>(name: string, harness: LifecycleHarness<S>): void {
  const { table, connection, migrations, driverFailure, unreachable } = harness;
  const opened: Array<{ close(): Promise<unknown> }> = [];

  /** A store the suite closes after the case, whatever the case did. */
  function open(options: Options): S {
    const store = harness.create(options);
    opened.push(store);
    return store;
  }

  /** A store on its own connection, on `tableName`. */
  function openOwned(tableName: string, extra: Options = {}): S {
    return open({ ...connection?.owned(), [table?.option ?? 'tableName']: tableName, ...extra });
  }

  async function shared(): Promise<SharedConnection> {
    const handle = await connection!.shared();
    opened.push(handle);
    return handle;
  }

  async function versionsOf(tableName: string): Promise<number[]> {
    return (await migrations!.records(tableName)).map((entry) => entry.version);
  }

  const versions = migrations?.steps.map((step) => step.version) ?? [];
  const withTable = table !== undefined && connection !== undefined;
  const lazy = migrations?.mode === 'lazy';
  // A case a store cannot have (migrations for Redis, an app-owned pool for memory) is not
  // registered at all, so "skipped" in a report only ever means something is missing.
  const itWhen = (applies: boolean) => (applies ? it : (..._case: Parameters<typeof it>) => undefined);
  const describeWhen = (applies: boolean) => (applies ? describe : (..._group: Parameters<typeof describe>) => undefined);

  describe(`store lifecycle: ${name}`, () => {
    beforeEach(async () => {
      await harness.setup?.();
    });

    afterEach(async () => {
      // Stores first, then the app-owned connections they borrowed.
      for (const closable of opened.splice(0).reverse()) {
        await closable.close().catch(() => undefined);
      }
    });

    describeWhen(withTable || connection !== undefined)('options', () => {
      itWhen(withTable)('accepts a table name of the longest allowed length, and refuses a longer one and any non-identifier', async () => {
        const { options } = await shared();
        const longest = `t${'x'.repeat(table!.maxLength - 1)}`;
        expect(open({ ...options, [table!.option]: longest })).toBeDefined();
        for (const tableName of [...NOT_IDENTIFIERS, `${longest}x`]) {
          expect(() => harness.create({ ...options, [table!.option]: tableName }), tableName).toThrow(ConfigError);
        }
      });

      itWhen(connection !== undefined)('needs exactly one of its own connection and an app-owned one', async () => {
        const { options } = await shared();
        expect(() => harness.create({})).toThrow(ConfigError);
        expect(() => harness.create({ ...connection!.owned(), ...options })).toThrow(ConfigError);
      });

      itWhen(withTable)('keeps two tables of one database apart', async () => {
        const [first, second] = [table!.fresh(), table!.fresh()];
        const a = openOwned(first);
        const b = openOwned(second);
        await a.insert(record('in-a'));
        await b.insert(record('in-b-1'));
        await b.insert(record('in-b-2', { familyId: 'family-2' }));

        expect(await a.count()).toBe(1);
        expect(await b.count()).toBe(2);
        expect(await a.findByHash(hashOf('in-b-1'))).toBeNull();
        expect(await b.findByHash(hashOf('in-a'))).toBeNull();
        if (migrations !== undefined) {
          expect(await versionsOf(first)).toEqual(versions);
          expect(await versionsOf(second)).toEqual(versions);
        }
      });
    });

    describeWhen(withTable)('connections', () => {
      itWhen(withTable)('close() leaves an app-owned connection open and closes its own, and closing twice is harmless', async () => {
        const tableName = table!.fresh();
        const handle = await shared();
        const onShared = harness.create({ ...handle.options, [table!.option]: tableName });
        await onShared.insert(record('shared'));
        await onShared.close();
        await onShared.close();
        expect(await handle.isOpen()).toBe(true);

        const own = openOwned(tableName);
        expect(await own.count()).toBe(1);
        await own.close();
        await own.close();
        expect(await connection!.isClosed(own)).toBe(true);
        if (connection!.failsAfterClose) {
          await expect(own.count()).rejects.toBeInstanceOf(StoreError);
        }
      });

      itWhen(withTable)('lets one of two stores on one table win when both saw the parent live before rotating', async () => {
        const tableName = table!.fresh();
        const a = openOwned(tableName);
        const b = openOwned(tableName);
        const parent = record('parent');
        await a.insert(parent);
        // The check-then-act race: both stores read the parent as live...
        expect((await a.findByHash(parent.tokenHash))?.rotatedAt).toBeNull();
        expect((await b.findByHash(parent.tokenHash))?.rotatedAt).toBeNull();

        // ...then both rotate it; only the store's compare-and-set keeps the second out.
        expect(await b.rotate(parent.tokenHash, successorOf(parent, 'from-b', at(HOUR)), at(HOUR))).toBe('rotated');
        expect(await a.rotate(parent.tokenHash, successorOf(parent, 'from-a', at(HOUR)), at(HOUR))).toBe('conflict');

        expect((await a.findByHash(parent.tokenHash))?.successorHash).toBe(hashOf('from-b'));
        expect(await a.findByHash(hashOf('from-a'))).toBeNull();
        expect(await a.count()).toBe(2);
      });
    });

    describeWhen((withTable && driverFailure !== undefined) || unreachable !== undefined)('failures', () => {
      itWhen(withTable && driverFailure !== undefined)(
        'wraps a driver failure in a StoreError that names the operation and keeps the driver error in cause only',
        async () => {
          const tableName = table!.fresh();
          const store = openOwned(tableName);
          await store.migrate();
          await driverFailure!.break(store, tableName, hashOf('x'));

          const error: unknown = await store.findByHash(hashOf('x')).catch((e: unknown) => e);

          expect(error).toBeInstanceOf(StoreError);
          expect((error as StoreError).message).toBe('Store operation failed: findByHash');
          expect((error as StoreError).cause).toMatchObject(driverFailure!.cause);
        },
      );

      itWhen(unreachable !== undefined)('fails with a StoreError within seconds, not a hang, when unreachable', async () => {
        const store = open({ ...(await unreachable!.options()), migrate: false });
        const started = Date.now();

        const error: unknown = await store.findByHash(hashOf('x')).catch((e: unknown) => e);

        expect(error).toBeInstanceOf(StoreError);
        expect((error as StoreError).message).toBe('Store operation failed: findByHash');
        expect(String((error as StoreError).cause)).toMatch(unreachable!.cause);
        expect(Date.now() - started).toBeLessThan(10_000);
      });

      itWhen(unreachable !== undefined && lazy)('names the lazy migration in that StoreError when it fails first', async () => {
        const store = open(await unreachable!.options());

        const error: unknown = await store.count().catch((e: unknown) => e);

        expect(error).toBeInstanceOf(StoreError);
        expect((error as StoreError).message).toBe('Store operation failed: migrate');
        expect(String((error as StoreError).cause)).toMatch(unreachable!.cause);
      });
    });

    describe('migrations', () => {
      itWhen(withTable && migrations !== undefined)(
        'are idempotent: a second store applies nothing, and each version is recorded once with its name',
        async () => {
          const tableName = table!.fresh();
          const first = openOwned(tableName);
          await first.insert(record('kept'));
          await first.close();

          const second = openOwned(tableName);
          expect(await second.migrate()).toEqual([]);
          expect(await second.migrate()).toEqual([]);

          const records = await migrations!.records(tableName);
          expect(records.map(({ version, name: step }) => ({ version, name: step }))).toEqual(
            migrations!.steps.map(({ version, name: step }) => ({ version, name: step })),
          );
          expect(await second.findByHash(hashOf('kept'))).not.toBeNull();
        },
      );

      itWhen(withTable && migrations !== undefined)('record applied_at from the injected clock', async () => {
        const tableName = table!.fresh();
        await openOwned(tableName, { clock: () => T0 }).migrate();

        expect((await migrations!.records(tableName)).map((entry) => entry.appliedAt.getTime())).toEqual(versions.map(() => T0.getTime()));
      });

      itWhen(withTable && migrations !== undefined)('are skipped with migrate: false, and migrate() then applies them all', async () => {
        const tableName = table!.fresh();
        const store = openOwned(tableName, { migrate: false });

        expect(await migrations!.records(tableName)).toEqual([]);
        if (migrations!.needsSchema) {
          await expect(store.count()).rejects.toBeInstanceOf(StoreError);
        }
        expect(await store.migrate()).toEqual(versions);
        await store.insert(record('after-migrate'));
        expect(await store.count()).toBe(1);
      });

      itWhen(withTable && migrations !== undefined)(
        'apply each version once when four stores, each with its own connection, migrate a fresh table at once',
        async () => {
          const tableName = table!.fresh();
          const stores = Array.from({ length: 4 }, () => openOwned(tableName, { migrate: false }));

          const applied = await Promise.all(stores.map((store) => store.migrate()));

          expect(applied.flat().sort((a, b) => a - b)).toEqual(versions);
          expect(await versionsOf(tableName)).toEqual(versions);
          for (const store of stores) {
            expect(await store.count()).toBe(0);
          }
        },
      );

      itWhen(withTable && lazy)('run lazily, once, when the first operations of two stores race', async () => {
        const tableName = table!.fresh();
        const a = openOwned(tableName);
        const b = openOwned(tableName);

        const counts = await Promise.all([a, b].flatMap((store) => Array.from({ length: 10 }, () => store.count())));

        expect(counts).toEqual(counts.map(() => 0));
        expect(await versionsOf(tableName)).toEqual(versions);
        expect(await a.migrate()).toEqual([]);
        expect(await b.migrate()).toEqual([]);
      });

      itWhen(withTable && migrations?.foreignTable !== undefined)(
        'refuse to adopt a same-named table they did not create, recording nothing',
        async () => {
          const tableName = table!.fresh();
          await migrations!.foreignTable!.create(tableName);

          const error: unknown = await (async () => openOwned(tableName).migrate())().catch((e: unknown) => e);

          expect(error).toBeInstanceOf(StoreError);
          expect((error as StoreError).message).toBe('Store operation failed: migrate');
          expect(await migrations!.records(tableName)).toEqual([]);
        },
      );

      itWhen(withTable && lazy && migrations?.foreignTable !== undefined)(
        'do not remember a failed lazy migration: the next operation tries again',
        async () => {
          const tableName = table!.fresh();
          await migrations!.foreignTable!.create(tableName);
          const store = openOwned(tableName);

          await expect(store.count()).rejects.toThrow('Store operation failed: migrate');
          await expect(store.count()).rejects.toThrow('Store operation failed: migrate');
          // Once the operator moved the old table away, the same store works.
          await migrations!.foreignTable!.drop(tableName);
          expect(await store.count()).toBe(0);
          expect(await versionsOf(tableName)).toEqual(versions);
        },
      );

      itWhen(withTable && migrations !== undefined)(
        'upgrade data stored before the metadata field: it reads as null, and new metadata is kept',
        async () => {
          const tableName = table!.fresh();
          const old = openOwned(tableName);
          await old.insert(record('before-metadata'));
          await old.close();
          await migrations!.withoutMetadata(tableName);

          const upgraded = openOwned(tableName);
          expect((await upgraded.findByHash(hashOf('before-metadata')))?.metadata).toBeNull();
          expect((await upgraded.listFamilies('user-1', T0)).map((family) => family.metadata)).toEqual([null]);
          expect(await versionsOf(tableName)).toEqual(versions);
          await upgraded.insert(record('after-metadata', { familyId: 'family-2', metadata: '{"tenant":"acme"}' }));
          expect((await upgraded.findByHash(hashOf('after-metadata')))?.metadata).toBe('{"tenant":"acme"}');
        },
      );

      itWhen(migrations === undefined)('are none: migrate() answers [] and keeps the data', async () => {
        const store = table === undefined ? open({}) : openOwned(table.fresh());
        await store.insert(record('kept'));

        expect(await store.migrate()).toEqual([]);
        expect(await store.findByHash(hashOf('kept'))).toEqual(record('kept'));
      });
    });
  });
}
