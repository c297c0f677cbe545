/**
 * The schema of the PostgreSQL store, as an ordered list of migrations (see
 * `Migration` in kit/migration-runner.ts).
 *
 * Same tables and columns as the SQLite store, with instants as
 * `timestamptz(3)`: millisecond precision is exactly what a JS `Date` holds,
 * so nothing is rounded either way, and operators can read and compare the
 * columns with `now()` and intervals, which BIGINT milliseconds would not
 * allow. The store reads them back as epoch milliseconds computed in SQL, so
 * neither the session's TimeZone/DateStyle nor an app's custom type parsers
 * can change what it returns.
 */
import { MIGRATIONS_TABLE, type Migration } from '../kit/migration-runner.js';

/** Where one store's tables live: both already validated as SQL identifiers. */
export interface PostgresTableNames {
  /** Schema holding the token table, its companions and `jwt_refresh_migrations`. */
  readonly schema: string;
  /** The token table; companion tables and indexes are named `<table>_<suffix>`. */
  readonly table: string;
}

/** One schema step of the PostgreSQL store: its SQL, possibly several statements, run inside the step's transaction. */
export type PostgresMigration = Migration<(names: PostgresTableNames) => string>;

/** Name of the table that records applied migrations, one per schema, shared by every token table in it. */
export const POSTGRES_MIGRATIONS_TABLE = MIGRATIONS_TABLE;

/**
 * Key of the transaction-scoped advisory lock every migration of this package
 * takes (`pg_advisory_xact_lock`), whatever the table: creating the shared
 * migrations table or a schema must be serialised too, and migrations are rare
 * and short. It is the bytes of "jwtrfrsh" as a bigint, spelled out in SQL
 * because it exceeds what a JS number holds exactly.
 */
export const POSTGRES_MIGRATION_LOCK_KEY = '7671728524942799720';

/**
 * The longest `tableName` the PostgreSQL store accepts. PostgreSQL silently
 * truncates identifiers to 63 bytes, so `<table>_rate_limits_reset_at_idx`
 * (the longest derived name, 25 characters of suffix) must fit in 63, or two
 * derived names could collide after truncation.
 */
export const POSTGRES_MAX_TABLE_NAME_LENGTH = 63 - '_rate_limits_reset_at_idx'.length;

/**
 * `"schema"."name"`, for identifiers already validated (quoting keeps their case).
 *
 * @example
 * qualified('auth', 'refresh_tokens'); // '"auth"."refresh_tokens"'
 */
export function qualified(schema: string, name: string): string {
  return `"${schema}"."${name}"`;
}

/**
 * Every migration of the PostgreSQL store, oldest first.
 *
 * @example
 * const latest = postgresMigrations.at(-1)?.version;
 */
export const postgresMigrations: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'create refresh token table',
    // No IF NOT EXISTS: a same-named table this package did not create (e.g. the gesdinet
    // bundle's) must fail the migration loudly instead of being silently adopted.
    up: ({ schema, table }) => `
      CREATE TABLE ${qualified(schema, table)} (
        id TEXT NOT NULL PRIMARY KEY,
        token_hash TEXT NOT NULL,
        user_id TEXT NOT NULL,
        user_identifier TEXT NOT NULL,
        family_id TEXT NOT NULL,
        generation INTEGER NOT NULL,
        valid_until TIMESTAMPTZ(3) NOT NULL,
        family_deadline TIMESTAMPTZ(3),
        created_at TIMESTAMPTZ(3) NOT NULL,
        last_used_at TIMESTAMPTZ(3),
        rotated_at TIMESTAMPTZ(3),
        successor_hash TEXT,
        revoked_at TIMESTAMPTZ(3),
        user_agent TEXT,
        ip TEXT,
        CONSTRAINT "${table}_token_hash_key" UNIQUE (token_hash)
      );
      CREATE INDEX "${table}_user_id_idx" ON ${qualified(schema, table)} (user_id);
      CREATE INDEX "${table}_family_id_idx" ON ${qualified(schema, table)} (family_id);
      CREATE INDEX "${table}_valid_until_idx" ON ${qualified(schema, table)} (valid_until);
    `,
  },
  {
    version: 2,
    name: 'create access-token blocklist, revoked-before watermarks and rate-limit windows',
    up: ({ schema, table }) => `
      CREATE TABLE ${qualified(schema, `${table}_blocklist`)} (
        jti TEXT NOT NULL PRIMARY KEY,
        expires_at TIMESTAMPTZ(3) NOT NULL
      );
      CREATE INDEX "${table}_blocklist_expires_at_idx" ON ${qualified(schema, `${table}_blocklist`)} (expires_at);
      CREATE TABLE ${qualified(schema, `${table}_watermarks`)} (
        user_id TEXT NOT NULL PRIMARY KEY,
        revoked_before TIMESTAMPTZ(3) NOT NULL
      );
      CREATE TABLE ${qualified(schema, `${table}_rate_limits`)} (
        key TEXT NOT NULL PRIMARY KEY,
        window_start TIMESTAMPTZ(3) NOT NULL,
        reset_at TIMESTAMPTZ(3) NOT NULL,
        count INTEGER NOT NULL
      );
      CREATE INDEX "${table}_rate_limits_reset_at_idx" ON ${qualified(schema, `${table}_rate_limits`)} (reset_at);
    `,
  },
  {
    version: 3,
    name: 'add session metadata column',
    up: ({ schema, table }) => `ALTER TABLE ${qualified(schema, table)} ADD COLUMN metadata TEXT`,
  },
];
