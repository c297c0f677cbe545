import { trackedNames } from '../conformance/store-lifecycle.suite.js';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { createPostgresStore, type PostgresRefreshTokenStore, type PostgresStoreOptions } from '../../src/stores/postgres.js';
import { POSTGRES_MAX_TABLE_NAME_LENGTH, postgresMigrations } from '../../src/stores/postgres/postgres-migrations.js';
import type { RefreshTokenRecord } from '../../src/stores/store.js';
import { companions, dropRunTables, migrationRows, runPostgresStoreSuites } from '../support/postgres-store-suites.js';
import { at, HOUR, labelHash as hashOf, recordMaker, T0 } from '../support/token-records.js';

/** The server under test; the default is the PostgreSQL this project's machines run (trust auth). */
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const START_HINT =
  `PostgreSQL is not reachable at ${withoutPassword(POSTGRES_URL)}. Start it with ` +
  '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` ' +
  '(or install it: `apt-get update && apt-get install -y postgresql`), or point POSTGRES_URL at another server.';

/** Prefix of every table and schema this file run creates, so parallel runs never collide; all dropped in afterAll. */
const RUN = `rt_${process.pid}_${randomBytes(3).toString('hex')}`;
const { next: freshTable, created: createdTables } = trackedNames(RUN);
const { next: freshSchema, created: createdSchemas } = trackedNames(`${RUN}_s`);

const admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 3 });
admin.on('error', () => {});

let reached = false;

/** Fails with how to start the server, instead of a bare ECONNREFUSED, when PostgreSQL is down. */
async function assertReachable(): Promise<void> {
  try {
    await admin.query('SELECT 1');
    reached = true;
  } catch (error) {
    throw new Error(START_HINT, { cause: error });
  }
}

// Before EACH case, not once in beforeAll: a failed beforeAll makes vitest report the cases
// as skipped, and an unreachable server must show up as failed tests.
beforeEach(assertReachable);

afterAll(async () => {
  if (!reached) {
    await admin.end();
    return;
  }
  try {
    await dropRunTables(admin, RUN, createdTables);
    for (const schema of createdSchemas) {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  } finally {
    await admin.end();
  }
});

function unreachableUrl(): string {
  const url = new URL(POSTGRES_URL);
  url.port = '1';
  return url.toString();
}

runPostgresStoreSuites('postgres', {
  ready: assertReachable,
  url: () => POSTGRES_URL,
  admin,
  freshTable,
  unreachable: { options: async () => ({ url: unreachableUrl() }), cause: /ECONNREFUSED/ },
});

runPostgresStoreSuites('postgres, prepared statements', {
  ready: assertReachable,
  url: () => POSTGRES_URL,
  admin,
  freshTable,
  storeOptions: { preparedStatements: true },
  lifecycle: false,
});

/** This file's records: a one-step label hash and the bare `alice` identifier. */
const record = recordMaker({ hash: hashOf, userIdentifier: 'alice' });

function successorOf(parent: RefreshTokenRecord, label: string): RefreshTokenRecord {
  return record(label, { familyId: parent.familyId, generation: parent.generation + 1, createdAt: at(HOUR) });
}

function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(unparsable POSTGRES_URL)';
  }
}

describe('PostgreSQL store', () => {
  const opened: Array<{ close(): Promise<void> }> = [];

  /** Tracks a store so a failing assertion cannot leak its pool into the next case. */
  function open(options: PostgresStoreOptions): PostgresRefreshTokenStore {
    const store = createPostgresStore(options);
    opened.push(store);
    return store;
  }

  /** An app-owned pool, ended after the case. */
  function appPool(config: pg.PoolConfig = {}): pg.Pool {
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, ...config });
    pool.on('error', () => {});
    opened.push({ close: () => (pool.ending ? Promise.resolve() : pool.end()) });
    return pool;
  }

  afterEach(async () => {
    for (const closable of opened.splice(0).reverse()) {
      await closable.close();
    }
  });

  const allVersions = postgresMigrations.map((m) => m.version);

  describe('options', () => {
    it('prepares its statements once per connection only with preparedStatements: true', async () => {
      const prepared = async (preparedStatements: boolean): Promise<string[]> => {
        // One connection, so the statements it prepared are the ones pg_prepared_statements lists.
        const pool = appPool({ max: 1 });
        const store = open({ pool, tableName: freshTable(), preparedStatements });
        const parent = record('prepared-parent');
        await store.insert(parent);
        expect(await store.rotate(parent.tokenHash, successorOf(parent, 'prepared-child'), at(HOUR))).toBe('rotated');
        expect((await store.findByHash(hashOf('prepared-child')))?.generation).toBe(1);
        return (await pool.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name')).rows.map((row) => row.name);
      };
      const names = await prepared(true);
      expect(names).toHaveLength(3);
      for (const name of names) expect(name).toMatch(/^jwt_refresh_[0-9a-f]{24}$/);
      expect(await prepared(false)).toEqual([]);
      expect(() => createPostgresStore({ url: POSTGRES_URL, preparedStatements: 'yes' as unknown as boolean })).toThrow(ConfigError);
    });

    it('keeps its tables, indexes and migration records in a custom schema (mixed-case names quoted), apart from a same-named table elsewhere', async () => {
      const schema = freshSchema();
      const tableName = freshTable();
      const custom = open({ url: POSTGRES_URL, schema, tableName: 'JwtRefreshTokens' });
      const inPublic = open({ url: POSTGRES_URL, tableName });
      const sameNameOtherSchema = open({ url: POSTGRES_URL, schema, tableName });

      await custom.insert(record('in-custom'));
      await inPublic.insert(record('in-public-1'));
      await inPublic.insert(record('in-public-2'));
      await sameNameOtherSchema.insert(record('in-schema'));

      expect(await custom.count()).toBe(1);
      expect(await inPublic.count()).toBe(2);
      expect(await sameNameOtherSchema.count()).toBe(1);
      expect(await custom.findByHash(hashOf('in-public-1'))).toBeNull();
      const tables = await admin.query<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE schemaname = $1', [schema]);
      expect(tables.rows.map((row) => row.tablename).sort()).toEqual(
        [...companions('JwtRefreshTokens'), ...companions(tableName), 'jwt_refresh_migrations'].sort(),
      );
      const stored = await admin.query(`SELECT token_hash FROM "${schema}"."JwtRefreshTokens"`);
      expect(stored.rows).toEqual([{ token_hash: hashOf('in-custom') }]);
      expect((await migrationRows(admin, 'JwtRefreshTokens', schema)).map((row) => row.version)).toEqual(allVersions);
      expect((await migrationRows(admin, tableName, schema)).map((row) => row.version)).toEqual(allVersions);
      expect((await migrationRows(admin, tableName)).map((row) => row.version)).toEqual(allVersions);
    });

    it(`accepts a ${POSTGRES_MAX_TABLE_NAME_LENGTH}-character table name with every derived name intact`, async () => {
      const tableName = `${RUN}_long_`.padEnd(POSTGRES_MAX_TABLE_NAME_LENGTH, 'x');
      createdTables.add(tableName);
      const store = open({ url: POSTGRES_URL, tableName });
      await store.hitRateLimit('k', 60, T0);
      await store.blockAccessToken('jti', at(HOUR));

      const indexes = await admin.query<{ indexname: string }>(
        'SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND tablename = ANY($2)',
        ['public', companions(tableName)],
      );
      const names = indexes.rows.map((row) => row.indexname);
      for (const suffix of [
        '_user_id_idx',
        '_family_id_idx',
        '_valid_until_idx',
        '_token_hash_key',
        '_blocklist_expires_at_idx',
        '_rate_limits_reset_at_idx',
      ]) {
        expect(names, suffix).toContain(`${tableName}${suffix}`);
      }
      expect(Math.max(...names.map((name) => name.length))).toBeLessThanOrEqual(63);
    });

    it('refuses a schema that is not an SQL identifier of at most 63 characters, and an empty url', () => {
      const pool = appPool();
      for (const schema of ['', 'auth.tokens', 'a"b', 'x'.repeat(64)]) {
        expect(() => createPostgresStore({ pool, schema }), schema).toThrow(ConfigError);
      }
      expect(() => createPostgresStore({ url: '' })).toThrow(ConfigError);
      expect(createPostgresStore({ pool, schema: `s${'x'.repeat(62)}` }).schema).toHaveLength(63);
    });
  });

  describe('schema', () => {
    it("indexes token_hash (unique), user_id, family_id and valid_until, and the companion tables' expiries", async () => {
      const tableName = freshTable();
      await open({ url: POSTGRES_URL, tableName }).migrate();

      const indexes = await admin.query<{ tablename: string; indexdef: string }>(
        'SELECT tablename, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = ANY($2)',
        ['public', companions(tableName)],
      );
      const described = indexes.rows.map((row) => {
        const match = /^CREATE (UNIQUE )?INDEX \S+ ON \S+ USING btree \((\w+)\)$/.exec(row.indexdef);
        return `${row.tablename.slice(tableName.length) || '(tokens)'}: ${match?.[2] ?? row.indexdef}${match?.[1] === undefined ? '' : ' unique'}`;
      });

      expect(described.sort()).toEqual(
        [
          '(tokens): id unique',
          '(tokens): token_hash unique',
          '(tokens): user_id',
          '(tokens): family_id',
          '(tokens): valid_until',
          '_blocklist: jti unique',
          '_blocklist: expires_at',
          '_watermarks: user_id unique',
          '_rate_limits: key unique',
          '_rate_limits: reset_at',
        ].sort(),
      );
    });

    it('stores every instant as timestamptz with millisecond precision', async () => {
      const tableName = freshTable();
      await open({ url: POSTGRES_URL, tableName }).migrate();

      const columns = await admin.query<{ table_name: string; column_name: string; data_type: string; datetime_precision: number }>(
        `SELECT table_name, column_name, data_type, datetime_precision FROM information_schema.columns
         WHERE table_schema = 'public' AND table_name = ANY($1) AND data_type LIKE 'timestamp%'`,
        [companions(tableName)],
      );

      expect(columns.rows.map((c) => `${c.table_name.slice(tableName.length)}.${c.column_name}`).sort()).toEqual(
        [
          '.valid_until',
          '.family_deadline',
          '.created_at',
          '.last_used_at',
          '.rotated_at',
          '.revoked_at',
          '_blocklist.expires_at',
          '_watermarks.revoked_before',
          '_rate_limits.window_start',
          '_rate_limits.reset_at',
        ].sort(),
      );
      for (const column of columns.rows) {
        expect(column.data_type, column.column_name).toBe('timestamp with time zone');
        expect(column.datetime_precision, column.column_name).toBe(3);
      }
    });

    it('finds expired rows for deleteExpired through the valid_until index', async () => {
      const tableName = freshTable();
      await open({ url: POSTGRES_URL, tableName }).migrate();
      // 20,000 rows of which a few are expired, analysed, so the planner chooses freely.
      await admin.query(
        `INSERT INTO public."${tableName}" (id, token_hash, user_id, user_identifier, family_id, generation, valid_until, created_at)
         SELECT 'id' || i, md5(i::text), 'u' || (i % 50), 'user', 'f' || i, 0, $1::timestamptz + i * interval '1 minute', $1
         FROM generate_series(1, 20000) AS i`,
        [T0.toISOString()],
      );
      await admin.query(`ANALYZE public."${tableName}"`);

      const plan = await admin.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN DELETE FROM public."${tableName}" WHERE id IN (
           SELECT id FROM public."${tableName}" WHERE valid_until < $1 ORDER BY valid_until LIMIT $2 FOR UPDATE SKIP LOCKED)`,
        [at(10 * 60_000).toISOString(), 1000],
      );

      expect(plan.rows.map((row) => row['QUERY PLAN']).join('\n')).toContain(`${tableName}_valid_until_idx`);
    });
  });

  describe('connections', () => {
    it('returns exact Dates and numbers even when the app pool parses every type as raw text', async () => {
      const tableName = freshTable();
      const raw: pg.CustomTypesConfig = { getTypeParser: () => (value: string) => value };
      const store = open({ pool: appPool({ types: raw }), tableName });
      const full = record('raw', {
        generation: 7,
        familyDeadline: at(30 * 24 * HOUR + 2),
        lastUsedAt: at(HOUR + 4),
        rotatedAt: at(HOUR + 5),
        successorHash: hashOf('raw-next'),
        revokedAt: at(2 * HOUR + 6),
      });
      await store.insert(full);

      expect(await store.findByHash(full.tokenHash)).toEqual(full);
      expect(await store.count()).toBe(1);
      expect(await store.hitRateLimit('k', 60, T0)).toEqual({
        count: 1,
        resetAt: new Date(Math.floor(T0.getTime() / 60_000) * 60_000 + 60_000),
      });
      await store.setRevokedBefore('user-1', at(HOUR + 9));
      expect(await store.getRevokedBefore('user-1')).toEqual(at(HOUR + 9));
      expect(await store.listFamilies('user-1', at(0))).toEqual([]);
    });

    it.each([
      ['READ COMMITTED', {}],
      // The store pins READ COMMITTED in its transactions and retries what a stronger default rolls back.
      ['SERIALIZABLE', { options: '-c default_transaction_isolation=serializable' }],
    ])(
      'lets exactly one of 50 parallel rotations through an app pool of 12 connections win, sessions defaulting to %s',
      async (_isolation, config: pg.PoolConfig) => {
        const tableName = freshTable();
        const pool = appPool({ max: 12, ...config });
        const store = open({ pool, tableName });
        await store.migrate();

        for (let round = 0; round < 5; round += 1) {
          const parent = record(`contended-${round}`, { familyId: `family-${round}` });
          await store.insert(parent);
          const successors = Array.from({ length: 50 }, (_, i) => successorOf(parent, `contender-${round}-${i}`));

          const settled = await Promise.allSettled(successors.map((s) => store.rotate(parent.tokenHash, s, at(HOUR))));

          expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
          const outcomes = settled.map((s) => (s.status === 'fulfilled' ? s.value : 'error'));
          expect(outcomes.filter((o) => o === 'rotated')).toHaveLength(1);
          expect(outcomes.filter((o) => o === 'conflict')).toHaveLength(49);
          const winner = successors[outcomes.indexOf('rotated')];
          expect((await store.findByHash(parent.tokenHash))?.successorHash).toBe(winner?.tokenHash);
          const stored = await admin.query(`SELECT count(*)::int AS n FROM public."${tableName}" WHERE family_id = $1`, [parent.familyId]);
          expect(stored.rows).toEqual([{ n: 2 }]);
        }
        // The race ran over several real connections, not one serialising them.
        expect(pool.totalCount).toBeGreaterThan(1);
      },
    );

    it('counts 50 parallel rate-limit hits exactly and revokes in parallel without errors on SERIALIZABLE sessions', async () => {
      const tableName = freshTable();
      const pool = appPool({ max: 12, options: '-c default_transaction_isolation=serializable' });
      const store = open({ pool, tableName });
      await store.migrate();
      for (let i = 0; i < 20; i += 1) {
        await store.insert(record(`r${i}`, { familyId: `family-${i % 4}` }));
      }

      const hits = await Promise.all(Array.from({ length: 50 }, () => store.hitRateLimit('refresh:family-1', 60, T0)));
      const revoked = await Promise.all([
        ...Array.from({ length: 4 }, (_, i) => store.revokeFamily(`family-${i}`, at(HOUR))),
        store.revokeUser('user-1', at(HOUR)),
      ]);

      expect(hits.map((hit) => hit.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(revoked.reduce((sum, n) => sum + n, 0)).toBe(20);
    });
  });
});
