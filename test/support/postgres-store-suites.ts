/**
 * The store conformance and lifecycle suites for the PostgreSQL store, and the
 * table housekeeping they need, shared by every test file that runs them on
 * one way of reaching PostgreSQL (directly, through PgBouncer).
 */
import pg from 'pg';
import { createPostgresStore, type PostgresStoreOptions } from '../../src/stores/postgres.js';
import {
  POSTGRES_MAX_TABLE_NAME_LENGTH,
  POSTGRES_MIGRATION_LOCK_KEY,
  postgresMigrations,
} from '../../src/stores/postgres/postgres-migrations.js';
import { runStoreConformance } from '../conformance/store.suite.js';
import { runStoreLifecycle } from '../conformance/store-lifecycle.suite.js';

/** A store's table and the companion tables it creates next to it. */
export function companions(table: string): string[] {
  return [table, `${table}_blocklist`, `${table}_watermarks`, `${table}_rate_limits`];
}

/** One row of `jwt_refresh_migrations`. */
export interface MigrationRow {
  version: number;
  name: string;
  applied_at: Date;
}

/** The migration records of `table` in `schema`, oldest first ([] before the first migration created their table). */
export async function migrationRows(admin: pg.Pool, table: string, schema = 'public'): Promise<MigrationRow[]> {
  const exists = await admin.query(`SELECT to_regclass($1) IS NOT NULL AS found`, [`"${schema}".jwt_refresh_migrations`]);
  if (exists.rows[0]?.found !== true) {
    return [];
  }
  const result = await admin.query<MigrationRow>(
    `SELECT version, name, applied_at FROM "${schema}".jwt_refresh_migrations WHERE table_name = $1 ORDER BY version`,
    [table],
  );
  return result.rows;
}

/** Empties a table and its companions between cases (they exist only once a store has migrated). */
export async function truncate(admin: pg.Pool, schema: string, table: string): Promise<void> {
  const exists = await admin.query(`SELECT to_regclass($1) IS NOT NULL AS found`, [`"${schema}"."${table}"`]);
  if (exists.rows[0]?.found === true) {
    await admin.query(
      `TRUNCATE ${companions(table)
        .map((name) => `"${schema}"."${name}"`)
        .join(', ')}`,
    );
  }
}

/**
 * Drops a test run's tables (with their companions) from `public`, then its rows of
 * `public.jwt_refresh_migrations` (every table named `${run}_…`), and that table itself
 * once empty, under the store's own migration lock so a store migrating in another
 * process right now never loses the table it just created.
 */
export async function dropRunTables(admin: pg.Pool, run: string, tables: Iterable<string>): Promise<void> {
  for (const table of tables) {
    await admin.query(
      `DROP TABLE IF EXISTS ${companions(table)
        .map((name) => `public."${name}"`)
        .join(', ')} CASCADE`,
    );
  }
  const client = await admin.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(${POSTGRES_MIGRATION_LOCK_KEY})`);
    const exists = await client.query(`SELECT to_regclass('public.jwt_refresh_migrations') IS NOT NULL AS found`);
    if (exists.rows[0]?.found === true) {
      await client.query('DELETE FROM public.jwt_refresh_migrations WHERE table_name LIKE $1', [`${run}\\_%`]);
      const left = await client.query('SELECT 1 FROM public.jwt_refresh_migrations LIMIT 1');
      if (left.rowCount === 0) {
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

/** How a test file reaches PostgreSQL for the shared suites. */
export interface PostgresSuitesSetup {
  /** Runs before every case: checks the server (and starts what the file needs), failing with how to start it. */
  ready(): Promise<void>;
  /** The URL the stores under test connect to; read after `ready()`, so it may be known only then. */
  url(): string;
  /** Direct to PostgreSQL, for raw rows, setup and cleanup. */
  admin: pg.Pool;
  /** A fresh table name in `public`, which the file drops afterwards. */
  freshTable(): string;
  /** Options of a server that cannot be reached, and what the StoreError's cause then says; omitted where none applies. */
  unreachable?: { options(): Promise<Record<string, unknown>>; cause: RegExp };
  /** Store options of the conformance suite's store beyond url and table (`preparedStatements`, ...). */
  storeOptions?: Partial<PostgresStoreOptions>;
  /** false: the conformance suite only, for a variant whose lifecycle the plain run already covers. */
  lifecycle?: boolean;
}

/** Defines the store conformance and lifecycle suites of the PostgreSQL store reached as `setup` says. */
export function runPostgresStoreSuites(name: string, setup: PostgresSuitesSetup): void {
  const { admin, freshTable } = setup;
  const suiteTable = freshTable();

  runStoreConformance(name, async () => {
    await setup.ready();
    // A store that owns its pool (pg's default of 10 connections), so the 50-rotation case races for real.
    const store = createPostgresStore({ ...setup.storeOptions, url: setup.url(), tableName: suiteTable });
    return {
      store,
      rawRows: async () => (await admin.query<Record<string, unknown>>(`SELECT * FROM public."${suiteTable}"`)).rows,
      cleanup: async () => {
        await store.close();
        await truncate(admin, 'public', suiteTable);
      },
    };
  });

  if (setup.lifecycle === false) return;
  runStoreLifecycle(name, {
    setup: setup.ready,
    create: (options) => createPostgresStore(options as PostgresStoreOptions),
    table: { option: 'tableName', maxLength: POSTGRES_MAX_TABLE_NAME_LENGTH, fresh: freshTable },
    connection: {
      owned: () => ({ url: setup.url() }),
      shared: async () => {
        const pool = new pg.Pool({ connectionString: setup.url() });
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
        (await migrationRows(admin, table)).map((row) => ({ version: row.version, name: row.name, appliedAt: row.applied_at })),
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
    unreachable: setup.unreachable,
  });
}
