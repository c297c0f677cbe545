import { ConfigError, JwtRefreshError, StoreError } from '../errors.js';
import type { RefreshTokenStore } from '../stores/store.js';

/**
 * Whether the commands that read or revoke (`clear`, `revoke`, `sessions`)
 * may run on a store: they open it with `migrate: false`, so nothing creates
 * or upgrades a schema behind the operator's back (a mistyped `--table` would
 * otherwise become a new, empty table), and a missing table is said plainly
 * instead of surfacing as a driver error on the first query.
 */

/** The command that creates the schema of `table`, for messages. */
export function migrateHint(table: string | undefined): string {
  return table === undefined ? '`jwt-refresh migrate`' : `\`jwt-refresh migrate --table ${table}\``;
}

/** What a probe found: whether the token table exists, and the migration versions recorded for it (null: no record table). */
interface SchemaState {
  /** "table" or "collection", for messages. */
  noun: string;
  name: string;
  exists: boolean;
  applied: ReadonlySet<number> | null;
  shipped: readonly number[];
}

/**
 * Refuses a store whose token table (collection) does not exist, or that
 * lacks a migration this package ships, with a {@link ConfigError} naming
 * `jwt-refresh migrate`. One or two cheap catalogue queries through the
 * store's own connection (`database`, `pool` or `client`). A table created by
 * other tooling, without our record of migrations, is accepted. Redis and the
 * memory store have no schema: nothing to check.
 *
 * @throws ConfigError when the schema is missing or out of date
 * @throws StoreError ("open", with the driver's error code) when the store cannot be reached
 *
 * @example
 * await assertSchemaReady(store, 'postgres', options.table);
 */
export async function assertSchemaReady(store: RefreshTokenStore, kind: string, table: string | undefined): Promise<void> {
  let state: SchemaState | null;
  try {
    state = await probe(store, kind);
  } catch (error) {
    throw error instanceof JwtRefreshError ? error : new StoreError('open', { cause: error });
  }
  if (state === null) return;
  if (!state.exists) throw new ConfigError(`the store has no ${state.noun} "${state.name}"; ${migrateHint(table)} creates it`);
  const applied = state.applied;
  const pending = applied === null || applied.size === 0 ? [] : state.shipped.filter((version) => !applied.has(version));
  if (pending.length > 0) {
    throw new ConfigError(`the ${state.noun} "${state.name}" lacks migration(s) ${pending.join(', ')}; run ${migrateHint(table)} first`);
  }
}

async function probe(store: RefreshTokenStore, kind: string): Promise<SchemaState | null> {
  switch (kind) {
    case 'sqlite':
      return probeSqlite(store);
    case 'postgres':
    case 'postgresql':
      return probePostgres(store);
    case 'mysql':
    case 'mariadb':
      return probeMysql(store);
    case 'mongodb':
    case 'mongodb+srv':
      return probeMongo(store);
    default:
      return null;
  }
}

// The store modules are loaded already (the store was opened through them); importing them
// here, not at the top, keeps their drivers out of the commands that never open a store.

async function probeSqlite(store: RefreshTokenStore): Promise<SchemaState | null> {
  const { SqliteRefreshTokenStore } = await import('../stores/sqlite.js');
  const { SQLITE_MIGRATIONS_TABLE, sqliteMigrations } = await import('../stores/sqlite-migrations.js');
  if (!(store instanceof SqliteRefreshTokenStore)) return null;
  const { database, tableName } = store;
  // SQLite names are case-insensitive, as the store's own migration records are compared.
  const hasTable = (name: string) =>
    database.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE`).get(name) !== undefined;
  const applied = hasTable(SQLITE_MIGRATIONS_TABLE)
    ? database
        .prepare<[string], number>(`SELECT version FROM ${SQLITE_MIGRATIONS_TABLE} WHERE table_name = ? COLLATE NOCASE`)
        .pluck()
        .all(tableName)
    : null;
  const shipped = sqliteMigrations.map((migration) => migration.version);
  return { noun: 'table', name: tableName, exists: hasTable(tableName), applied: versions(applied), shipped };
}

async function probePostgres(store: RefreshTokenStore): Promise<SchemaState | null> {
  const { PostgresRefreshTokenStore } = await import('../stores/postgres.js');
  const { POSTGRES_MIGRATIONS_TABLE, postgresMigrations, qualified } = await import('../stores/postgres-migrations.js');
  if (!(store instanceof PostgresRefreshTokenStore)) return null;
  const { pool, schema, tableName } = store;
  // Row counts, not selected values, as the store does: an app's type parsers cannot fool them.
  const hasTable = async (name: string) =>
    (await pool.query('SELECT 1 WHERE to_regclass($1) IS NOT NULL', [qualified(schema, name)])).rowCount === 1;
  let applied: number[] | null = null;
  if (await hasTable(POSTGRES_MIGRATIONS_TABLE)) {
    const migrations = qualified(schema, POSTGRES_MIGRATIONS_TABLE);
    const result = await pool.query<{ version: unknown }>(`SELECT version FROM ${migrations} WHERE table_name = $1`, [tableName]);
    applied = result.rows.map((row) => Number(row.version));
  }
  const shipped = postgresMigrations.map((migration) => migration.version);
  return { noun: 'table', name: tableName, exists: await hasTable(tableName), applied: versions(applied), shipped };
}

async function probeMysql(store: RefreshTokenStore): Promise<SchemaState | null> {
  const { MysqlRefreshTokenStore } = await import('../stores/mysql.js');
  const { MYSQL_MIGRATIONS_TABLE, mysqlMigrations } = await import('../stores/mysql-migrations.js');
  if (!(store instanceof MysqlRefreshTokenStore)) return null;
  const { pool, tableName } = store;
  const [tables] = await pool.query(
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (?, ?)',
    [tableName, MYSQL_MIGRATIONS_TABLE],
  );
  // lower_case_table_names may fold the names the server reports.
  const present = new Set((tables as Array<{ name: string }>).map((row) => String(row.name).toLowerCase()));
  let applied: number[] | null = null;
  if (present.has(MYSQL_MIGRATIONS_TABLE)) {
    const [rows] = await pool.query(`SELECT version FROM \`${MYSQL_MIGRATIONS_TABLE}\` WHERE table_name = ?`, [tableName]);
    applied = (rows as Array<{ version: unknown }>).map((row) => Number(row.version));
  }
  const shipped = mysqlMigrations.map((migration) => migration.version);
  return { noun: 'table', name: tableName, exists: present.has(tableName.toLowerCase()), applied: versions(applied), shipped };
}

async function probeMongo(store: RefreshTokenStore): Promise<SchemaState | null> {
  const { MongoRefreshTokenStore, MONGODB_MIGRATIONS_COLLECTION, mongoMigrations } = await import('../stores/mongodb.js');
  if (!(store instanceof MongoRefreshTokenStore)) return null;
  const { client, databaseName, collectionName } = store;
  const db = client.db(databaseName);
  // Collections spring into being on first write; the first migration creates this one with its indexes.
  const exists = (await db.listCollections({ name: collectionName }, { nameOnly: true }).toArray()).length > 0;
  const records = await db
    .collection<{ collection: string; version: number }>(MONGODB_MIGRATIONS_COLLECTION)
    .find({ collection: collectionName }, { projection: { _id: 0, version: 1 } })
    .toArray();
  const applied = versions(records.map((record) => Number(record.version)));
  return { noun: 'collection', name: collectionName, exists, applied, shipped: mongoMigrations.map((migration) => migration.version) };
}

function versions(list: readonly number[] | null): ReadonlySet<number> | null {
  return list === null ? null : new Set(list);
}
