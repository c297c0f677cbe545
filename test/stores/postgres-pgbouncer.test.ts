/**
 * The PostgreSQL store through PgBouncer in transaction pooling mode, where a
 * server connection serves one transaction of one client and then another
 * client's: session state (SET, session advisory locks, named prepared
 * statements, temp tables) does not survive from one transaction to the next.
 * The store conformance and lifecycle suites run unchanged through it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createPostgresStore, type PostgresStoreOptions } from '../../src/stores/postgres.js';
import {
  POSTGRES_MAX_TABLE_NAME_LENGTH,
  POSTGRES_MIGRATION_LOCK_KEY,
  postgresMigrations,
} from '../../src/stores/postgres/postgres-migrations.js';
import { runStoreConformance } from '../conformance/store.suite.js';
import { runStoreLifecycle } from '../conformance/store-lifecycle.suite.js';
import { startPgBouncer, type RunningPgBouncer } from '../support/pgbouncer.js';

/** The PostgreSQL behind PgBouncer: this project's machines run one on loopback with trust auth. */
const UPSTREAM = { host: '127.0.0.1', port: 5432, database: 'test', user: 'postgres' };
const DIRECT_URL = `postgres://${UPSTREAM.user}@${UPSTREAM.host}:${UPSTREAM.port}/${UPSTREAM.database}`;
const START_HINT =
  `PostgreSQL is not reachable at ${DIRECT_URL}. Start it with ` +
  '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` ' +
  '(or install it: `apt-get update && apt-get install -y postgresql`).';
/** Server connections PgBouncer keeps: fewer than the store's pool of 10, so clients take turns on them. */
const SERVER_CONNECTIONS = 3;

/** Prefix of every table this file creates; all dropped in afterAll. */
const RUN = `rtpgb_${process.pid}_${randomBytes(3).toString('hex')}`;
const createdTables = new Set<string>();
let tableCounter = 0;

function freshTable(): string {
  tableCounter += 1;
  const name = `${RUN}_${tableCounter}`;
  createdTables.add(name);
  return name;
}

/** Direct to PostgreSQL, for raw rows, setup and cleanup. */
const admin = new pg.Pool({ connectionString: DIRECT_URL, max: 3 });
admin.on('error', () => {});

let bouncer: Promise<RunningPgBouncer> | undefined;
let bouncerUrl = '';

/**
 * Checks PostgreSQL and starts this file's PgBouncer once. Awaited by every case (a failed beforeAll would show the
 * cases as skipped): a missing server or binary fails each case with how to get it.
 */
async function ready(): Promise<void> {
  try {
    await admin.query('SELECT 1');
  } catch (error) {
    throw new Error(START_HINT, { cause: error });
  }
  bouncer ??= startPgBouncer({ upstream: UPSTREAM, poolSize: SERVER_CONNECTIONS });
  bouncerUrl = (await bouncer).url;
}

beforeEach(ready);

afterAll(async () => {
  try {
    await (await bouncer?.catch(() => undefined))?.stop();
    for (const table of createdTables) {
      await admin.query(
        `DROP TABLE IF EXISTS ${companions(table)
          .map((name) => `public."${name}"`)
          .join(', ')} CASCADE`,
      );
    }
    await dropOurMigrationRows();
  } finally {
    await admin.end();
  }
});

/** Removes this run's migration records (and the table once empty) under the store's own lock. */
async function dropOurMigrationRows(): Promise<void> {
  const client = await admin.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(${POSTGRES_MIGRATION_LOCK_KEY})`);
    if ((await client.query(`SELECT 1 WHERE to_regclass('public.jwt_refresh_migrations') IS NOT NULL`)).rowCount === 1) {
      await client.query('DELETE FROM public.jwt_refresh_migrations WHERE table_name LIKE $1', [`${RUN}\\_%`]);
      if ((await client.query('SELECT 1 FROM public.jwt_refresh_migrations LIMIT 1')).rowCount === 0) {
        await client.query('DROP TABLE public.jwt_refresh_migrations');
      }
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

function companions(table: string): string[] {
  return [table, `${table}_blocklist`, `${table}_watermarks`, `${table}_rate_limits`];
}

async function truncate(table: string): Promise<void> {
  if ((await admin.query('SELECT 1 WHERE to_regclass($1) IS NOT NULL', [`public."${table}"`])).rowCount === 1) {
    await admin.query(
      `TRUNCATE ${companions(table)
        .map((name) => `public."${name}"`)
        .join(', ')}`,
    );
  }
}

const suiteTable = freshTable();

runStoreConformance('postgres through pgbouncer (transaction pooling)', async () => {
  await ready();
  const store = createPostgresStore({ url: bouncerUrl, tableName: suiteTable });
  return {
    store,
    rawRows: async () => (await admin.query<Record<string, unknown>>(`SELECT * FROM public."${suiteTable}"`)).rows,
    cleanup: async () => {
      await store.close();
      await truncate(suiteTable);
    },
  };
});

async function migrationRows(table: string): Promise<Array<{ version: number; name: string; applied_at: Date }>> {
  if ((await admin.query(`SELECT 1 WHERE to_regclass('public.jwt_refresh_migrations') IS NOT NULL`)).rowCount === 0) return [];
  const result = await admin.query<{ version: number; name: string; applied_at: Date }>(
    'SELECT version, name, applied_at FROM public.jwt_refresh_migrations WHERE table_name = $1 ORDER BY version',
    [table],
  );
  return result.rows;
}

runStoreLifecycle('postgres through pgbouncer (transaction pooling)', {
  setup: ready,
  create: (options) => createPostgresStore(options as PostgresStoreOptions),
  table: { option: 'tableName', maxLength: POSTGRES_MAX_TABLE_NAME_LENGTH, fresh: freshTable },
  connection: {
    owned: () => ({ url: bouncerUrl }),
    shared: async () => {
      const pool = new pg.Pool({ connectionString: bouncerUrl });
      pool.on('error', () => {});
      return {
        options: { pool },
        isOpen: async () => !pool.ending && (await pool.query('SELECT 1')).rowCount === 1,
        close: () => pool.end(),
      };
    },
    isClosed: async (store) => store.pool.ended,
    failsAfterClose: true,
  },
  migrations: {
    mode: 'lazy',
    steps: postgresMigrations,
    needsSchema: true,
    records: async (table) =>
      (await migrationRows(table)).map((row) => ({ version: row.version, name: row.name, appliedAt: row.applied_at })),
    foreignTable: {
      create: async (table) => {
        await admin.query(`CREATE TABLE public."${table}" (id SERIAL PRIMARY KEY, refresh_token TEXT, username TEXT, valid TIMESTAMP)`);
      },
      drop: async (table) => {
        await admin.query(`DROP TABLE public."${table}"`);
      },
    },
    withoutMetadata: async (table) => {
      await admin.query(`ALTER TABLE public."${table}" DROP COLUMN metadata`);
      await admin.query('DELETE FROM public.jwt_refresh_migrations WHERE table_name = $1 AND version = 3', [table]);
    },
  },
  driverFailure: {
    break: async (_store, table) => {
      await admin.query(`DROP TABLE public."${table}"`);
    },
    cause: { code: '42P01' },
  },
});

describe('PostgreSQL store through pgbouncer', () => {
  it(`really shares ${SERVER_CONNECTIONS} server connections among the store's pool of 10`, async () => {
    const store = createPostgresStore({ url: bouncerUrl, tableName: freshTable() });
    try {
      // pg_sleep keeps each transaction long enough that the 20 calls overlap.
      const pids = await Promise.all(
        Array.from(
          { length: 20 },
          async () => (await store.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.02)')).rows[0]?.pid,
        ),
      );

      expect(store.pool.totalCount).toBe(10);
      expect(new Set(pids).size).toBeLessThanOrEqual(SERVER_CONNECTIONS);
    } finally {
      await store.close();
    }
  });
});
