/**
 * The schema of the MySQL / MariaDB store, as an ordered list of migrations
 * (see `Migration` in kit/migration-runner.ts).
 *
 * The SQL is the common subset of MySQL 8 and MariaDB 10.11: InnoDB, utf8mb4,
 * `DATETIME(3)`, indexes declared inside `CREATE TABLE`.
 *
 * DDL commits implicitly in MySQL, so a migration cannot be rolled back as a
 * whole. Each `CREATE TABLE` therefore declares its indexes inline (so a
 * table never exists without them), a step that a crash could leave half-done
 * is safe to run again, and the store serialises migrating processes with
 * `GET_LOCK` instead of a transaction.
 */
import { MIGRATIONS_TABLE, type Migration } from '../kit/migration-runner.js';

/**
 * One schema step of the MySQL store: its statements for a validated table
 * name, run one by one (the driver sends one statement per query unless
 * `multipleStatements` is on, which the store does not ask of an app's pool).
 */
export type MysqlMigration = Migration<(tableName: string) => readonly string[]>;

/** Name of the table that records applied migrations, shared by every token table of a database. */
export const MYSQL_MIGRATIONS_TABLE = MIGRATIONS_TABLE;

/** Name of the server-wide advisory lock (`GET_LOCK`) that migrating processes take in turn. */
export const MYSQL_MIGRATION_LOCK = 'jwt_refresh_migrate';

/**
 * Table options of every table: InnoDB for row locks and transactions;
 * utf8mb4 with its BINARY collation so ids, user ids and rate-limit keys
 * compare exactly, as in every other store (the server default `*_ci` would
 * make `revokeUser('ALICE')` revoke `alice`'s tokens).
 */
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

/** A hex hash: ASCII with a binary collation, exact and a quarter the index size of utf8mb4. 128 fits SHA-512. */
const HASH = 'VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin';

/**
 * The statement that creates the migrations table. `applied_at` is a UTC
 * `DATETIME(3)` like every instant of this store.
 *
 * @example
 * await connection.query(createMigrationsTableSql());
 */
export function createMigrationsTableSql(): string {
  return `CREATE TABLE IF NOT EXISTS \`${MYSQL_MIGRATIONS_TABLE}\` (
    table_name VARCHAR(64) NOT NULL,
    version INT NOT NULL,
    name VARCHAR(255) NOT NULL,
    applied_at DATETIME(3) NOT NULL,
    PRIMARY KEY (table_name, version)
  ) ${TABLE_OPTIONS}`;
}

/**
 * Every migration of the MySQL store, oldest first. Versions and names match
 * the SQLite store's, so docs and operators can speak of "version 2" for both.
 *
 * @example
 * const latest = mysqlMigrations.at(-1)?.version;
 */
export const mysqlMigrations: readonly MysqlMigration[] = [
  {
    version: 1,
    name: 'create refresh token table',
    // Instants are DATETIME(3) holding UTC: readable by operators and comparable with
    // UTC_TIMESTAMP(3), exact to the millisecond like a JS Date. The store formats and parses
    // them itself, so neither the pool's `timezone`/`dateStrings` nor the session time_zone
    // changes what is stored (TIMESTAMP would convert through time_zone and ends in 2038).
    // No IF NOT EXISTS: a same-named table this package did not create (e.g. the gesdinet
    // bundle's) must fail the migration loudly instead of being silently adopted.
    up: (tableName) => [
      `CREATE TABLE \`${tableName}\` (
        id VARCHAR(255) NOT NULL,
        token_hash ${HASH} NOT NULL,
        user_id VARCHAR(255) NOT NULL,
        user_identifier VARCHAR(255) NOT NULL,
        family_id VARCHAR(255) NOT NULL,
        generation INT NOT NULL,
        valid_until DATETIME(3) NOT NULL,
        family_deadline DATETIME(3) NULL,
        created_at DATETIME(3) NOT NULL,
        last_used_at DATETIME(3) NULL,
        rotated_at DATETIME(3) NULL,
        successor_hash ${HASH} NULL,
        revoked_at DATETIME(3) NULL,
        user_agent TEXT NULL,
        ip VARCHAR(255) NULL,
        PRIMARY KEY (id),
        UNIQUE KEY token_hash_uq (token_hash),
        KEY user_id_idx (user_id),
        KEY family_id_idx (family_id),
        KEY valid_until_idx (valid_until)
      ) ${TABLE_OPTIONS}`,
    ],
  },
  {
    version: 2,
    name: 'create access-token blocklist, revoked-before watermarks and rate-limit windows',
    // IF NOT EXISTS here (unlike version 1): DDL auto-commits, so a process that dies between
    // these three statements leaves some tables behind; the next run must complete the step
    // rather than fail forever. The names derive from the token table version 1 created, so
    // adopting a foreign table is not a realistic risk.
    up: (tableName) => [
      `CREATE TABLE IF NOT EXISTS \`${tableName}_blocklist\` (
        jti VARCHAR(255) NOT NULL,
        expires_at DATETIME(3) NOT NULL,
        PRIMARY KEY (jti),
        KEY expires_at_idx (expires_at)
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS \`${tableName}_watermarks\` (
        user_id VARCHAR(255) NOT NULL,
        revoked_before DATETIME(3) NOT NULL,
        PRIMARY KEY (user_id)
      ) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS \`${tableName}_rate_limits\` (
        \`key\` VARCHAR(255) NOT NULL,
        window_start DATETIME(3) NOT NULL,
        reset_at DATETIME(3) NOT NULL,
        count INT NOT NULL,
        PRIMARY KEY (\`key\`),
        KEY reset_at_idx (reset_at)
      ) ${TABLE_OPTIONS}`,
    ],
  },
  {
    version: 3,
    name: 'add session metadata column',
    // ADD COLUMN commits before the version is recorded, so a process that dies in between
    // must not leave a step that fails forever with a duplicate column. MySQL 8 lacks MariaDB's
    // ADD COLUMN IF NOT EXISTS; the same guard, run as a prepared statement on the runner's
    // one connection, works on both.
    up: (tableName) => [
      `SET @jwt_refresh_ddl = IF(
        EXISTS(SELECT 1 FROM information_schema.columns
               WHERE table_schema = DATABASE() AND table_name = '${tableName}' AND column_name = 'metadata'),
        'DO 0',
        'ALTER TABLE \`${tableName}\` ADD COLUMN metadata TEXT NULL')`,
      'PREPARE jwt_refresh_ddl FROM @jwt_refresh_ddl',
      'EXECUTE jwt_refresh_ddl',
      'DEALLOCATE PREPARE jwt_refresh_ddl',
    ],
  },
];

/** The suffixes of the tables derived from the token table name; the longest bounds that name. */
export const MYSQL_DERIVED_TABLE_SUFFIXES = ['_blocklist', '_watermarks', '_rate_limits'] as const;
