/** The schema of the SQLite store, as an ordered list of migrations (see `Migration` in kit/migration-runner.ts). */
import { MIGRATIONS_TABLE, type Migration } from '../kit/migration-runner.js';

/** One schema step of the SQLite store: its SQL, possibly several statements, for a validated table name. */
export type SqliteMigration = Migration<(tableName: string) => string>;

/** Name of the table that records applied migrations, shared by every token table of a database. */
export const SQLITE_MIGRATIONS_TABLE = MIGRATIONS_TABLE;

/**
 * Every migration of the SQLite store, oldest first.
 *
 * @example
 * const latest = sqliteMigrations.at(-1)?.version;
 */
export const sqliteMigrations: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'create refresh token table',
    // Instants are unix milliseconds, so they sort and compare as integers and keep JS Date precision.
    // No IF NOT EXISTS: a same-named table this package did not create (e.g. the gesdinet bundle's)
    // must fail the migration loudly instead of being silently adopted.
    up: (tableName) => `
      CREATE TABLE "${tableName}" (
        id TEXT NOT NULL PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        user_id TEXT NOT NULL,
        user_identifier TEXT NOT NULL,
        family_id TEXT NOT NULL,
        generation INTEGER NOT NULL,
        valid_until INTEGER NOT NULL,
        family_deadline INTEGER,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER,
        rotated_at INTEGER,
        successor_hash TEXT,
        revoked_at INTEGER,
        user_agent TEXT,
        ip TEXT
      );
      CREATE INDEX "${tableName}_user_id_idx" ON "${tableName}" (user_id);
      CREATE INDEX "${tableName}_family_id_idx" ON "${tableName}" (family_id);
      CREATE INDEX "${tableName}_valid_until_idx" ON "${tableName}" (valid_until);
    `,
  },
  {
    version: 2,
    name: 'create access-token blocklist, revoked-before watermarks and rate-limit windows',
    up: (tableName) => `
      CREATE TABLE "${tableName}_blocklist" (
        jti TEXT NOT NULL PRIMARY KEY,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX "${tableName}_blocklist_expires_at_idx" ON "${tableName}_blocklist" (expires_at);
      CREATE TABLE "${tableName}_watermarks" (
        user_id TEXT NOT NULL PRIMARY KEY,
        revoked_before INTEGER NOT NULL
      );
      CREATE TABLE "${tableName}_rate_limits" (
        key TEXT NOT NULL PRIMARY KEY,
        window_start INTEGER NOT NULL,
        reset_at INTEGER NOT NULL,
        count INTEGER NOT NULL
      );
      CREATE INDEX "${tableName}_rate_limits_reset_at_idx" ON "${tableName}_rate_limits" (reset_at);
    `,
  },
  {
    version: 3,
    name: 'add session metadata column',
    up: (tableName) => `ALTER TABLE "${tableName}" ADD COLUMN metadata TEXT;`,
  },
];
