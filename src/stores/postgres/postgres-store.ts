/**
 * The PostgreSQL store, on node-postgres (`pg`) and its connection pool: every method is one statement, or one short
 * READ COMMITTED transaction, on a pooled connection, so several app instances can share the database.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { ConfigError, StoreError } from '../../errors.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { attempt, errorProperty, retry, type RetryPolicy } from '../kit/attempt.js';
import { LazyMigration } from '../kit/lazy-migration.js';
import { runMigrations } from '../kit/migration-runner.js';
import { deadlineOf, operationTimeout } from '../kit/operation-timeout.js';
import { exactlyOne, identifier, type SchemaStoreOptions, type ServerStoreOptions } from '../kit/options.js';
import { fromFamilyRow, fromRow, insertValues, type FamilyRow, type TokenRow } from '../kit/record-codec.js';
import { assertBatchSize, rateLimitWindow } from '../kit/records.js';
import type { FamilySummary, RateLimitHit, RefreshTokenRecord, RefreshTokenStore, RotateOutcome } from '../store.js';
import type { StoreAudit, StoreAuditOptions } from '../store.js';
import { auditPostgres } from './postgres-audit.js';
import {
  POSTGRES_MAX_TABLE_NAME_LENGTH,
  POSTGRES_MIGRATION_LOCK_KEY,
  POSTGRES_MIGRATIONS_TABLE,
  postgresMigrations,
  qualified,
  type PostgresMigration,
} from './postgres-migrations.js';
import { buildStatements, type Statements } from './postgres-sql.js';

/** Options of {@link createPostgresStore}. Give exactly one of `url` and `pool`. */
export interface PostgresStoreOptions extends SchemaStoreOptions, ServerStoreOptions {
  /**
   * Connection string (`postgres://user@host:5432/db`). The store opens a
   * `pg.Pool` on it (pg's defaults: up to 10 connections) and `close()` ends it.
   */
  url?: string;
  /**
   * A pool the app owns and configures: the store borrows connections and `close()` leaves it open. Its own timeouts
   * stay as the app set them; `operationTimeoutMs` still bounds every operation.
   */
  pool?: pg.Pool;
  /**
   * Token table, an SQL identifier of at most 38 characters (so every derived
   * name such as `<table>_rate_limits_reset_at_idx` fits PostgreSQL's 63). Default `refresh_tokens`.
   */
  tableName?: string;
  /** Schema of the store's tables, created by the first migration when missing. Default `public`. */
  schema?: string;
  /**
   * Send the store's statements as named prepared statements, parsed and planned once per
   * connection instead of on every call. Default false: PgBouncer in transaction pooling mode
   * carries them only from 1.21 on, with `max_prepared_statements` set (Debian 12 ships 1.18);
   * turn it on for direct connections or such a pooler (docs/stores.md, "Prepared statements").
   */
  preparedStatements?: boolean;
}

/**
 * A numeric column as pg hands it over: int4 arrives as a number, int8 (our epoch milliseconds and counts) as a string
 * by default, or as whatever an app's global type parser makes of it (number, bigint); `Number()` takes all.
 */
type Numeric = number | string | bigint;

/**
 * The token table's row as the store selects it: instants as epoch milliseconds, and `generation` {@link Numeric} too,
 * since an app's type parser may turn int4 into something else.
 */
type PostgresTokenRow = Omit<TokenRow<Numeric>, 'generation'> & { generation: Numeric };

/** A parameter as the store sends it: instants go as ISO 8601 UTC strings, exact to the millisecond. */
type Param = string | number | null;

/**
 * Work PostgreSQL rolled back as a whole and that may simply run again: serialization_failure (only under an app's
 * stronger default isolation, since the store's own transactions pin READ COMMITTED) and deadlock_detected
 * (revokeFamily and revokeUser lock overlapping rows in different orders).
 */
const RETRY: RetryPolicy = {
  attempts: 10,
  isRetryable: (error) => ['40001', '40P01'].includes(String(errorProperty(error, 'code'))),
  pauseMs: (attempt) => Math.random() * 2 ** Math.min(attempt, 6),
};

/** The store's name in errors and log lines. */
const STORE = 'postgres';

/**
 * A {@link RefreshTokenStore} on PostgreSQL through a `pg.Pool`. Build it with {@link createPostgresStore}.
 *
 * @example
 * const store = new PostgresRefreshTokenStore({ url: process.env.DATABASE_URL });
 * const record = await store.findByHash(hash);
 */
export class PostgresRefreshTokenStore implements RefreshTokenStore {
  /** The pool, exposed for tests and operators that inspect raw rows. */
  readonly pool: pg.Pool;
  readonly tableName: string;
  readonly schema: string;
  readonly #ownsPool: boolean;
  readonly #clock: Clock;
  readonly #sql: Statements;
  readonly #migration: LazyMigration;
  readonly #timeoutMs: number;
  /** Statement name by SQL text, when `preparedStatements` is on; null otherwise. */
  readonly #statementNames: Map<string, string> | null;
  #closed: Promise<void> | undefined;

  constructor(options: PostgresStoreOptions) {
    this.tableName = identifier('stores.postgres.tableName', options.tableName ?? 'refresh_tokens');
    if (this.tableName.length > POSTGRES_MAX_TABLE_NAME_LENGTH) {
      throw new ConfigError(
        `stores.postgres.tableName: expected at most ${POSTGRES_MAX_TABLE_NAME_LENGTH} characters, so derived index and table names fit PostgreSQL's 63`,
      );
    }
    this.schema = identifier('stores.postgres.schema', options.schema ?? 'public');
    exactlyOne('postgres', options, 'url', 'pool');
    if (options.url !== undefined && (typeof options.url !== 'string' || options.url === '')) {
      throw new ConfigError('stores.postgres.url: expected a non-empty connection string');
    }
    this.#clock = options.clock ?? systemClock;
    this.#timeoutMs = operationTimeout(STORE, options.operationTimeoutMs);
    if (options.preparedStatements !== undefined && typeof options.preparedStatements !== 'boolean') {
      throw new ConfigError('stores.postgres.preparedStatements: expected a boolean');
    }
    this.#statementNames = options.preparedStatements === true ? new Map() : null;
    this.#sql = buildStatements(this.schema, this.tableName);
    this.#ownsPool = options.pool === undefined;
    this.pool = options.pool ?? openPool(options.url ?? '', this.#timeoutMs);
    if (this.#ownsPool) {
      // An idle connection the server drops makes the pool emit 'error'; unhandled, that
      // would crash the process. The pool discards that connection and opens a fresh one.
      this.pool.on('error', () => {});
    }
    // No deadline on the migration itself (it may run long); the operation waiting for it has one.
    this.#migration = new LazyMigration(
      () => attempt('migrate', () => this.#migrate(), { store: STORE, retry: RETRY }),
      options.migrate !== false,
    );
  }

  async migrate(): Promise<number[]> {
    // Each step in its own transaction that takes `pg_advisory_xact_lock`, then re-checks its record.
    const applied = await attempt('migrate', () => this.#migrate(), { store: STORE, retry: RETRY });
    this.#migration.markDone();
    return applied;
  }

  async insert(record: RefreshTokenRecord): Promise<void> {
    await this.#run('insert', () => this.#query(this.#sql.insert, insertValues(record, instant)));
  }

  async findByHash(tokenHash: string): Promise<RefreshTokenRecord | null> {
    const rows = await this.#run('findByHash', () => this.#query<PostgresTokenRow>(this.#sql.findByHash, [tokenHash]));
    const row = rows.rows[0];
    return row === undefined ? null : fromRow({ ...row, generation: Number(row.generation) }, toDate);
  }

  async touch(tokenHash: string, validUntil: Date, lastUsedAt: Date): Promise<boolean> {
    const values = [instant(validUntil), instant(lastUsedAt), tokenHash];
    return (await this.#run('touch', () => this.#query(this.#sql.touch, values))).rowCount === 1;
  }

  async rotate(parentHash: string, successor: RefreshTokenRecord, rotatedAt: Date): Promise<RotateOutcome> {
    // One statement under READ COMMITTED: a racing rotation waits on the parent's row lock,
    // re-checks the guard once the winner commits and matches nothing, with no serialization error.
    const params = [...insertValues(successor, instant), instant(rotatedAt), parentHash];
    const result = await this.#run('rotate', () => this.#query(this.#sql.rotate, params));
    return result.rowCount === 1 ? 'rotated' : 'conflict';
  }

  async revokeFamily(familyId: string, revokedAt: Date): Promise<number> {
    return this.#run('revokeFamily', () => this.#revokeUntilStable(this.#sql.revokeFamily, [instant(revokedAt), familyId]));
  }

  async revokeUser(userId: string, revokedAt: Date): Promise<number> {
    return this.#run('revokeUser', () => this.#revokeUntilStable(this.#sql.revokeUser, [instant(revokedAt), userId]));
  }

  async listFamilies(userId: string, now: Date): Promise<FamilySummary[]> {
    const result = await this.#run('listFamilies', () => this.#query<FamilyRow<Numeric>>(this.#sql.listFamilies, [userId, instant(now)]));
    return result.rows.map((row) => fromFamilyRow(row, toDate));
  }

  async blockAccessToken(jti: string, expiresAt: Date): Promise<void> {
    await this.#run('blockAccessToken', () => this.#query(this.#sql.block, [jti, instant(expiresAt)]));
  }

  async isAccessTokenBlocked(jti: string, now: Date): Promise<boolean> {
    return (await this.#run('isAccessTokenBlocked', () => this.#query(this.#sql.isBlocked, [jti, instant(now)]))).rowCount === 1;
  }

  async setRevokedBefore(userId: string, at: Date): Promise<void> {
    await this.#run('setRevokedBefore', () => this.#query(this.#sql.setRevokedBefore, [userId, instant(at)]));
  }

  async getRevokedBefore(userId: string): Promise<Date | null> {
    const result = await this.#run('getRevokedBefore', () =>
      this.#query<{ revoked_before: Numeric }>(this.#sql.getRevokedBefore, [userId]),
    );
    const row = result.rows[0];
    return row === undefined ? null : toDate(row.revoked_before);
  }

  async hitRateLimit(key: string, windowSeconds: number, now: Date): Promise<RateLimitHit> {
    const window = rateLimitWindow(now, windowSeconds);
    const values = [key, instant(new Date(window.startMs)), instant(window.resetAt)];
    const result = await this.#run('hitRateLimit', () =>
      this.#query<{ count: Numeric; reset_at: Numeric }>(this.#sql.hitRateLimit, values),
    );
    const row = result.rows[0];
    return { count: Number(row?.count ?? 1), resetAt: row === undefined ? window.resetAt : toDate(row.reset_at) };
  }

  async deleteExpired(before: Date, batchSize: number): Promise<number> {
    assertBatchSize(batchSize);
    const result = await this.#run('deleteExpired', () =>
      this.#query(this.#sql.deleteExpired, [instant(before), batchSize], 'deleteExpired'),
    );
    return result.rowCount ?? 0;
  }

  async purgeExpiredState(before: Date, watermarksBefore?: Date): Promise<number> {
    const values = [instant(before), watermarksBefore === undefined ? null : instant(watermarksBefore)];
    const result = await this.#run('purgeExpiredState', () =>
      this.#query<{ removed: Numeric }>(this.#sql.purgeExpiredState, values, 'purgeExpiredState'),
    );
    return Number(result.rows[0]?.removed ?? 0);
  }

  async audit(now: Date, options?: StoreAuditOptions): Promise<StoreAudit> {
    return auditPostgres((work) => this.#run('audit', work), this.pool, this.schema, this.tableName, now, options);
  }

  async count(): Promise<number> {
    const result = await this.#run('count', () => this.#query<{ n: Numeric }>(this.#sql.count, [], 'count'));
    return Number(result.rows[0]?.n ?? 0);
  }

  async ping(): Promise<void> {
    // Not behind the lazy migration: whether the server answers, not whether the schema is there.
    this.#assertOpen();
    await attempt('ping', () => this.#query('SELECT 1', []), { store: STORE, timeoutMs: this.#timeoutMs });
  }

  async close(): Promise<void> {
    if (this.#ownsPool) {
      this.#closed ??= attempt('close', () => this.pool.end(), { store: STORE });
      await this.#closed;
    }
  }

  /**
   * Runs a revoking UPDATE again until it changes nothing. Under READ COMMITTED an UPDATE that waits on the parent row
   * a concurrent rotation holds re-checks that row once the rotation commits, but never sees the successor the rotation
   * inserted: its snapshot predates it, so the successor would stay live. The next statement takes a new snapshot and
   * catches it; a pass that changes nothing proves no live record of the family (or user) is left, since a rotation
   * still in flight holds an unrevoked parent that such a pass would have waited for.
   */
  async #revokeUntilStable(sql: string, values: Param[]): Promise<number> {
    let total = 0;
    for (;;) {
      const changed = (await this.#query(sql, values)).rowCount ?? 0;
      if (changed === 0) return total;
      total += changed;
    }
  }

  async #migrate(): Promise<number[]> {
    const migrations = qualified(this.schema, POSTGRES_MIGRATIONS_TABLE);
    const key = (migration: PostgresMigration) => [this.tableName, migration.version];
    return runMigrations<PostgresMigration, pg.PoolClient>(postgresMigrations, {
      guard: (work) =>
        this.#transaction(async (client) => {
          // Held until COMMIT: a second migrator waits here, then (READ COMMITTED taking a
          // fresh snapshot per statement) sees the version the first one recorded.
          await client.query(`SELECT pg_advisory_xact_lock(${POSTGRES_MIGRATION_LOCK_KEY})`);
          // Checked before creating rather than IF NOT EXISTS: CREATE SCHEMA needs the CREATE
          // privilege on the database even when the schema exists, and a role that can only
          // use an existing schema must still be able to migrate. Row counts, not selected
          // booleans, so an app pool's custom type parsers cannot fool the checks.
          const hasSchema = await client.query('SELECT 1 WHERE to_regnamespace($1) IS NOT NULL', [`"${this.schema}"`]);
          if (hasSchema.rowCount === 0) await client.query(`CREATE SCHEMA "${this.schema}"`);
          const hasTable = await client.query('SELECT 1 WHERE to_regclass($1) IS NOT NULL', [migrations]);
          if (hasTable.rowCount === 0) {
            await client.query(`
              CREATE TABLE ${migrations} (
                table_name TEXT NOT NULL,
                version INTEGER NOT NULL,
                name TEXT NOT NULL,
                applied_at TIMESTAMPTZ(3) NOT NULL,
                PRIMARY KEY (table_name, version)
              )
            `);
          }
          return work(client);
        }),
      isApplied: async (client, migration) =>
        (await client.query(`SELECT 1 FROM ${migrations} WHERE table_name = $1 AND version = $2`, key(migration))).rowCount !== 0,
      apply: async (client, migration) => {
        await client.query(migration.up({ schema: this.schema, table: this.tableName }));
      },
      record: async (client, migration) => {
        await client.query(`INSERT INTO ${migrations} (table_name, version, name, applied_at) VALUES ($1, $2, $3, $4)`, [
          ...key(migration),
          migration.name,
          instant(this.#clock()),
        ]);
        return true;
      },
    });
  }

  async #run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    // One deadline over the wait for the lazy migration, for a pooled connection, the statement and its retries.
    return attempt(
      operation,
      async () => {
        await this.#migration.ready();
        return retry(work, RETRY);
      },
      { store: STORE, timeoutMs: deadlineOf(operation, this.#timeoutMs) },
    );
  }

  #assertOpen(): void {
    if (this.#closed !== undefined) throw new StoreError('closed', { cause: new Error('the store was closed'), store: STORE });
  }

  #query<R extends object = Record<string, unknown>>(text: string, values: Param[], operation?: string): Promise<pg.QueryResult<R>> {
    // pg's client-side read timeout: a reply that never comes (a server gone without closing the socket) fails the
    // query, and the pool then discards that connection instead of lending it out stuck.
    const query_timeout = deadlineOf(operation ?? '', this.#timeoutMs);
    // No name (preparedStatements off) is pg's unnamed statement, exactly as if the key were absent.
    return this.pool.query<R>({ text, values, query_timeout, name: this.#statementName(text) } as pg.QueryConfig<Param[]>);
  }

  /**
   * The prepared statement's name for `text`: pg prepares a name once per connection and refuses
   * the same name with another text, so the name is derived from the text itself.
   */
  #statementName(text: string): string | undefined {
    if (this.#statementNames === null) return undefined;
    let name = this.#statementNames.get(text);
    if (name === undefined) {
      name = `jwt_refresh_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
      this.#statementNames.set(text, name);
    }
    return name;
  }

  /**
   * Runs `work` in one transaction on one pooled connection. READ COMMITTED is pinned, whatever the database's default
   * isolation, because rotation and migration rely on its per-statement snapshots. A connection whose ROLLBACK fails is
   * destroyed instead of going back to the pool mid-transaction.
   */
  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL READ COMMITTED');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }
}

/**
 * A {@link PostgresRefreshTokenStore}.
 *
 * @example
 * const store = createPostgresStore({ url: 'postgres://app@db.internal:5432/app' });
 * // or, sharing the app's pool, in its own schema:
 * const shared = createPostgresStore({ pool: appPool, schema: 'auth', tableName: 'jwt_refresh_tokens' });
 */
export function createPostgresStore(options: PostgresStoreOptions): PostgresRefreshTokenStore {
  return new PostgresRefreshTokenStore(options);
}

/**
 * The pool the store opens on `url`: connecting, and waiting for a pooled connection, fail after `timeoutMs`. Each
 * statement gets its read timeout in {@link PostgresRefreshTokenStore.#query}, not here, so that migrations and
 * maintenance may run longer.
 */
function openPool(url: string, timeoutMs: number): pg.Pool {
  return new pg.Pool({ connectionString: url, connectionTimeoutMillis: timeoutMs });
}

/**
 * An instant as an ISO 8601 UTC string: unambiguous whatever the session's TimeZone, and exact to the millisecond (pg
 * would render a Date in the process's local zone instead).
 */
function instant(date: Date): string {
  return date.toISOString();
}

function toDate(millis: Numeric): Date {
  return new Date(Number(millis));
}
