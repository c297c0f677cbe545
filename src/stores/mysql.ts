/**
 * The MySQL 8 / MariaDB 10.11 store, on mysql2's promise pool.
 *
 * Every method is one autocommit statement or one transaction on one pooled
 * connection. Rotation is a guarded UPDATE (the compare-and-set) followed by
 * the successor's INSERT in the same transaction: InnoDB's row lock on the
 * parent makes concurrent rotations wait, and the loser's UPDATE, re-reading
 * the committed row, matches nothing. The SQL avoids what either server lacks
 * (`RETURNING`, `VALUES()` in upserts, CHECK constraints, index hints in DELETE).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import type { Pool, PoolConnection, QueryOptions, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { ConfigError, StoreError } from '../errors.js';
import { systemClock, type Clock } from '../lib/clock.js';
import {
  MYSQL_DERIVED_TABLE_SUFFIXES,
  MYSQL_MIGRATION_LOCK,
  MYSQL_MIGRATIONS_TABLE,
  createMigrationsTableSql,
  mysqlMigrations,
} from './mysql-migrations.js';
import { rateLimitWindow } from './rate-limit-window.js';
import { TOKEN_COLUMNS, fromFamilyRow, fromRow, insertValues, type FamilyRow, type TokenRow } from './record-codec.js';
import type { FamilySummary, RateLimitHit, RefreshTokenRecord, RefreshTokenStore, RotateOutcome } from './store.js';
import { assertBatchSize } from './store-records.js';

/** Options of {@link createMysqlStore}. Give exactly one of `url` and `pool`. */
export interface MysqlStoreOptions {
  /**
   * Server to connect to, e.g. `mysql://user:password@127.0.0.1:3306/app`.
   * The store opens a pool on it (mysql2's default of 10 connections; add
   * `?connectionLimit=20` to change it) and `close()` ends that pool.
   */
  url?: string;
  /**
   * A mysql2 promise pool the app owns: `close()` leaves it open. Its
   * `timezone`, `dateStrings`, `typeCast` and `rowsAsArray` settings do not
   * matter (the store converts its own values per query), but it must keep
   * mysql2's default `FOUND_ROWS` client flag, so `touch` with unchanged
   * values still counts the row it matched.
   */
  pool?: Pool;
  /**
   * Token table, an SQL identifier (`/^[A-Za-z_][A-Za-z0-9_]*$/`) of at most
   * 52 characters, so that `<tableName>_rate_limits` fits MySQL's 64. Default `refresh_tokens`.
   */
  tableName?: string;
  /**
   * Apply missing migrations before the first operation. Default true; with
   * false, run {@link MysqlRefreshTokenStore.migrate} yourself (or let a
   * deploy step do it).
   */
  migrate?: boolean;
  /** Source of the `applied_at` time of migrations. Default the wall clock. */
  clock?: Clock;
}

/** What the store's queries bind: strings (instants formatted by the store), numbers and nulls only. */
type SqlValue = string | number | null;

/** A pool or one of its connections: both run queries. */
type Queryable = Pool | PoolConnection;

// mysql2 does not export its typeCast callback's types; they are taken from QueryOptions.
type TypeCastFunction = Extract<NonNullable<QueryOptions['typeCast']>, (...args: never[]) => unknown>;
type CastField = Parameters<TypeCastFunction>[0];
type CastNext = Parameters<TypeCastFunction>[1];

const DEFAULT_TABLE_NAME = 'refresh_tokens';
// The shared rule of every SQL store, then MySQL's own bound: identifiers have at most 64
// characters, and the longest derived table name appends `_rate_limits` (12) to this one.
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const MAX_TABLE_NAME_LENGTH = 64 - Math.max(...MYSQL_DERIVED_TABLE_SUFFIXES.map((suffix) => suffix.length));

/** ER_LOCK_DEADLOCK and ER_LOCK_WAIT_TIMEOUT: InnoDB rolled the work back, so running it again is safe. */
const RETRYABLE_ERRNOS = new Set([1213, 1205]);
const MAX_ATTEMPTS = 5;
/** Seconds `GET_LOCK` waits for another process's migration before giving up. */
const MIGRATION_LOCK_TIMEOUT_SECONDS = 30;

/**
 * A {@link RefreshTokenStore} on MySQL 8 or MariaDB 10.11 through a mysql2
 * promise pool. Build it with {@link createMysqlStore}.
 *
 * The constructor cannot await, so it connects to nothing: unless
 * `migrate: false`, the first operation applies missing migrations (once,
 * memoised; a failed attempt is retried by the next operation). Call
 * `await store.migrate()` at start-up to fail fast instead.
 *
 * @example
 * const store = new MysqlRefreshTokenStore({ url: process.env.DATABASE_URL });
 * await store.migrate();
 * const record = await store.findByHash(hash);
 */
export class MysqlRefreshTokenStore implements RefreshTokenStore {
  /** The pool, exposed for tests and operators that inspect raw rows. */
  readonly pool: Pool;
  /** The validated token table name. */
  readonly tableName: string;
  readonly #ownsPool: boolean;
  readonly #autoMigrate: boolean;
  readonly #clock: Clock;
  readonly #sql: Statements;
  #migrated: Promise<void> | undefined;
  #closed = false;

  /**
   * Validates the options and opens (without connecting) or adopts the pool.
   * Fails with a {@link ConfigError} on bad options; never touches the server.
   *
   * @example
   * const store = new MysqlRefreshTokenStore({ pool: appPool, tableName: 'jwt_refresh_tokens' });
   */
  constructor(options: MysqlStoreOptions) {
    const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
    if (!IDENTIFIER.test(tableName) || tableName.length > MAX_TABLE_NAME_LENGTH) {
      throw new ConfigError(
        `stores.mysql.tableName: expected an SQL identifier (a letter or "_", then letters, digits or "_", ${MAX_TABLE_NAME_LENGTH} characters at most)`,
      );
    }
    if ((options.url === undefined) === (options.pool === undefined)) {
      throw new ConfigError('stores.mysql: expected exactly one of `url` and `pool`');
    }
    this.tableName = tableName;
    this.#autoMigrate = options.migrate !== false;
    this.#clock = options.clock ?? systemClock;
    this.#sql = statements(tableName);
    if (options.pool !== undefined) {
      this.pool = options.pool;
      this.#ownsPool = false;
    } else {
      this.pool = openPool(options.url ?? '');
      this.#ownsPool = true;
    }
  }

  /**
   * Applies the migrations this table lacks while holding the server-wide
   * advisory lock `GET_LOCK('jwt_refresh_migrate', 30)`: DDL commits
   * implicitly in MySQL, so a transaction could not keep two processes from
   * both creating the table; the lock makes the second wait, then find every
   * version recorded. Answers the versions this call applied (none when up to date).
   *
   * @example
   * const store = createMysqlStore({ url, migrate: false });
   * const applied = await store.migrate(); // e.g. [1, 2]
   */
  async migrate(): Promise<number[]> {
    const applied = await this.#applyMigrations();
    this.#migrated ??= Promise.resolve();
    return applied;
  }

  /**
   * Stores a new record; rejects with a {@link StoreError} when its hash (or id) exists.
   *
   * @example
   * await store.insert(record);
   */
  async insert(record: RefreshTokenRecord): Promise<void> {
    const values = insertValues(record, toSql);
    await this.#run('insert', () => write(this.pool, this.#sql.insert, values));
  }

  /**
   * The record with this hash, whatever its state, or null.
   *
   * @example
   * const record = await store.findByHash(hash);
   */
  async findByHash(tokenHash: string): Promise<RefreshTokenRecord | null> {
    const [row] = await this.#run('findByHash', () => select<TokenRow<Date>>(this.pool, this.#sql.findByHash, [tokenHash]));
    return row === undefined ? null : fromRow(row, asParsed);
  }

  /**
   * Extends a record that is neither rotated nor revoked; false when there is none.
   *
   * @example
   * await store.touch(hash, newValidUntil, now);
   */
  async touch(tokenHash: string, validUntil: Date, lastUsedAt: Date): Promise<boolean> {
    const values = [toSql(validUntil), toSql(lastUsedAt), tokenHash];
    return (await this.#run('touch', () => write(this.pool, this.#sql.touch, values))) === 1;
  }

  /**
   * The compare-and-set of rotation, in one transaction on one connection:
   * the guarded UPDATE marks the parent (its row lock makes racing rotations
   * wait, and they then match nothing), and only if it matched is the
   * successor inserted and the transaction committed; otherwise it rolls
   * back and answers 'conflict'. A failed insert (hash taken) rolls the
   * parent back too. Deadlocks and lock-wait timeouts are retried, never surfaced.
   *
   * @example
   * if ((await store.rotate(parentHash, successor, now)) === 'conflict') treatAsReuse();
   */
  async rotate(parentHash: string, successor: RefreshTokenRecord, rotatedAt: Date): Promise<RotateOutcome> {
    const at = toSql(rotatedAt);
    const successorValues = insertValues(successor, toSql);
    return this.#run('rotate', () =>
      this.#inTransaction(async (connection) => {
        const marked = await write(connection, this.#sql.markRotated, [at, successor.tokenHash, at, parentHash]);
        if (marked !== 1) {
          return { commit: false, value: 'conflict' as const };
        }
        await write(connection, this.#sql.insert, successorValues);
        return { commit: true, value: 'rotated' as const };
      }),
    );
  }

  /**
   * Revokes one record unless it is revoked already; answers whether it changed.
   *
   * @example
   * await store.revoke(hash, now);
   */
  async revoke(tokenHash: string, revokedAt: Date): Promise<boolean> {
    const values = [toSql(revokedAt), tokenHash];
    return (await this.#run('revoke', () => write(this.pool, this.#sql.revoke, values))) === 1;
  }

  /**
   * Revokes every not-yet-revoked record of a family; answers how many changed.
   *
   * @example
   * await store.revokeFamily(familyId, now);
   */
  async revokeFamily(familyId: string, revokedAt: Date): Promise<number> {
    const values = [toSql(revokedAt), familyId];
    return this.#run('revokeFamily', () => write(this.pool, this.#sql.revokeFamily, values));
  }

  /**
   * Revokes every not-yet-revoked record of a user; answers how many changed.
   *
   * @example
   * await store.revokeUser(userId, now);
   */
  async revokeUser(userId: string, revokedAt: Date): Promise<number> {
    const values = [toSql(revokedAt), userId];
    return this.#run('revokeUser', () => write(this.pool, this.#sql.revokeUser, values));
  }

  /**
   * The user's families with a live current token, newest login first.
   * `createdAt` is the family's earliest record, `lastUsedAt` its latest use,
   * and the client metadata that of the current token.
   *
   * @example
   * const sessions = await store.listFamilies(userId, now);
   */
  async listFamilies(userId: string, now: Date): Promise<FamilySummary[]> {
    const at = toSql(now);
    const rows = await this.#run('listFamilies', () =>
      select<FamilyRow<Date>>(this.pool, this.#sql.listFamilies, [at, userId, userId, at]),
    );
    return rows.map((row) => fromFamilyRow(row, asParsed));
  }

  /**
   * Deletes up to `batchSize` records valid until before `before`, oldest
   * first through the `valid_until` index; call again until it answers 0.
   * MySQL refuses `DELETE ... WHERE id IN (SELECT ... LIMIT)` on the same
   * table, but a single-table DELETE takes `ORDER BY ... LIMIT` itself.
   *
   * @example
   * while ((await store.deleteExpired(now, 1000)) > 0) {}
   */
  async deleteExpired(before: Date, batchSize: number): Promise<number> {
    assertBatchSize(batchSize);
    const values = [toSql(before), batchSize];
    return this.#run('deleteExpired', () => write(this.pool, this.#sql.deleteExpired, values));
  }

  /**
   * Number of stored records, whatever their state.
   *
   * @example
   * const total = await store.count();
   */
  async count(): Promise<number> {
    const [row] = await this.#run('count', () => select<{ n: number }>(this.pool, this.#sql.count, []));
    return row?.n ?? 0;
  }

  /**
   * Ends the pool if the store opened it; an app-owned pool stays open.
   * Waits for a migration in flight first. Safe to call twice.
   *
   * @example
   * await store.close();
   */
  async close(): Promise<void> {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    await this.#migrated?.catch(() => undefined);
    if (this.#ownsPool) {
      try {
        await this.pool.end();
      } catch (error) {
        throw new StoreError('close', { cause: error });
      }
    }
  }

  /**
   * Blocks `jti` until `expiresAt`; a later expiry wins.
   *
   * @example
   * await store.blockAccessToken(claims.jti, new Date(claims.exp * 1000));
   */
  async blockAccessToken(jti: string, expiresAt: Date): Promise<void> {
    const until = toSql(expiresAt);
    await this.#run('blockAccessToken', () => write(this.pool, this.#sql.block, [jti, until, until]));
  }

  /**
   * Whether `jti` is blocked at `now`.
   *
   * @example
   * if (await store.isAccessTokenBlocked(claims.jti, now)) refuse();
   */
  async isAccessTokenBlocked(jti: string, now: Date): Promise<boolean> {
    const values = [jti, toSql(now)];
    return (await this.#run('isAccessTokenBlocked', () => select(this.pool, this.#sql.isBlocked, values))).length > 0;
  }

  /**
   * Moves the user's "revoked before" watermark forward to `at`.
   *
   * @example
   * await store.setRevokedBefore(userId, now);
   */
  async setRevokedBefore(userId: string, at: Date): Promise<void> {
    const value = toSql(at);
    await this.#run('setRevokedBefore', () => write(this.pool, this.#sql.setRevokedBefore, [userId, value, value]));
  }

  /**
   * The user's watermark, or null.
   *
   * @example
   * const before = await store.getRevokedBefore(userId);
   */
  async getRevokedBefore(userId: string): Promise<Date | null> {
    const [row] = await this.#run('getRevokedBefore', () =>
      select<{ revoked_before: Date }>(this.pool, this.#sql.getRevokedBefore, [userId]),
    );
    return row?.revoked_before ?? null;
  }

  /**
   * One hit of `key` in its fixed window: an upsert (a row from an older
   * window starts over at 1) and the read of the resulting count, in one
   * transaction whose row lock keeps other hits out until it commits. Neither
   * server has `RETURNING` on an upsert, hence the read.
   *
   * @example
   * const { count, resetAt } = await store.hitRateLimit(`login:${ip}`, 60, now);
   */
  async hitRateLimit(key: string, windowSeconds: number, now: Date): Promise<RateLimitHit> {
    const window = rateLimitWindow(now, windowSeconds);
    const start = toSql(new Date(window.startMs));
    const reset = toSql(window.resetAt);
    const row = await this.#run('hitRateLimit', () =>
      this.#inTransaction(async (connection) => {
        await write(connection, this.#sql.hitRateLimit, [key, start, reset, start, reset, start]);
        const [current] = await select<{ count: number; reset_at: Date }>(connection, this.#sql.readRateLimit, [key]);
        return { commit: true, value: current };
      }),
    );
    return { count: row?.count ?? 1, resetAt: row?.reset_at ?? window.resetAt };
  }

  /**
   * Deletes expired blocklist entries and ended rate-limit windows, and the
   * watermarks before `watermarksBefore` when it is given.
   *
   * @example
   * await store.purgeExpiredState(now, new Date(now.getTime() - (tokenTtl + clockSkew) * 1000));
   */
  async purgeExpiredState(before: Date, watermarksBefore?: Date): Promise<number> {
    const cutoff = [toSql(before)];
    return this.#run('purgeExpiredState', async () => {
      let removed = await write(this.pool, this.#sql.purgeBlocklist, cutoff);
      removed += await write(this.pool, this.#sql.purgeRateLimits, cutoff);
      if (watermarksBefore !== undefined) {
        removed += await write(this.pool, this.#sql.purgeWatermarks, [toSql(watermarksBefore)]);
      }
      return removed;
    });
  }

  /**
   * Runs one operation's driver work after the lazy migration, retrying it
   * when InnoDB rolled it back for a deadlock or a lock-wait timeout, and
   * turning any failure into a StoreError that keeps the SQL message in `cause` only.
   */
  async #run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      await this.#ready();
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await work();
        } catch (error) {
          if (attempt >= MAX_ATTEMPTS || !isRetryable(error)) {
            throw error;
          }
          // Jittered, growing pause so the transactions that collided do not collide again.
          await sleep(Math.random() * 10 * attempt);
        }
      }
    } catch (error) {
      throw error instanceof StoreError ? error : new StoreError(operation, { cause: error });
    }
  }

  /**
   * Runs `work` in a transaction on ONE pooled connection (a transaction
   * spread over the pool would be several transactions), committing when it
   * says so and rolling back otherwise or on failure.
   */
  async #inTransaction<T>(work: (connection: PoolConnection) => Promise<{ commit: boolean; value: T }>): Promise<T> {
    const connection = await this.pool.getConnection();
    let reusable = true;
    try {
      await connection.query('START TRANSACTION');
      try {
        const outcome = await work(connection);
        await connection.query(outcome.commit ? 'COMMIT' : 'ROLLBACK');
        return outcome.value;
      } catch (error) {
        // A connection whose transaction state is unknown must not go back to the pool.
        await connection.query('ROLLBACK').catch(() => {
          reusable = false;
        });
        throw error;
      }
    } finally {
      if (reusable) {
        connection.release();
      } else {
        connection.destroy();
      }
    }
  }

  #ready(): Promise<void> {
    if (!this.#autoMigrate) {
      return Promise.resolve();
    }
    this.#migrated ??= this.#applyMigrations().then(
      () => undefined,
      (error: unknown) => {
        // Forget the failure so the next operation tries again (e.g. the server was still starting).
        this.#migrated = undefined;
        throw error;
      },
    );
    return this.#migrated;
  }

  async #applyMigrations(): Promise<number[]> {
    let connection: PoolConnection | undefined;
    let locked = false;
    try {
      // The advisory lock belongs to a session, so everything runs on this one connection.
      connection = await this.pool.getConnection();
      const [lock] = await select<{ acquired: number | null }>(connection, 'SELECT GET_LOCK(?, ?) AS acquired', [
        MYSQL_MIGRATION_LOCK,
        MIGRATION_LOCK_TIMEOUT_SECONDS,
      ]);
      if (lock?.acquired !== 1) {
        throw new Error(`timed out after ${MIGRATION_LOCK_TIMEOUT_SECONDS} s waiting for lock ${MYSQL_MIGRATION_LOCK}`);
      }
      locked = true;
      await connection.query(createMigrationsTableSql());
      // Read under the lock: another process may have applied versions since this one started.
      const done = new Set(
        (
          await select<{ version: number }>(connection, `SELECT version FROM \`${MYSQL_MIGRATIONS_TABLE}\` WHERE table_name = ?`, [
            this.tableName,
          ])
        ).map((row) => row.version),
      );
      const applied: number[] = [];
      for (const migration of mysqlMigrations) {
        if (done.has(migration.version)) {
          continue;
        }
        for (const statement of migration.up(this.tableName)) {
          await connection.query(statement);
        }
        await write(
          connection,
          `INSERT INTO \`${MYSQL_MIGRATIONS_TABLE}\` (table_name, version, name, applied_at) VALUES (?, ?, ?, ?)`,
          [this.tableName, migration.version, migration.name, toSql(this.#clock())],
        );
        applied.push(migration.version);
      }
      return applied;
    } catch (error) {
      throw new StoreError('migrate', { cause: error });
    } finally {
      if (connection !== undefined) {
        let reusable = true;
        if (locked) {
          await connection.query('SELECT RELEASE_LOCK(?)', [MYSQL_MIGRATION_LOCK]).catch(() => {
            // Ending the session frees the lock too.
            reusable = false;
          });
        }
        if (reusable) {
          connection.release();
        } else {
          connection.destroy();
        }
      }
    }
  }
}

/**
 * A {@link MysqlRefreshTokenStore} on a pool it opens from `url` (and ends
 * on `close()`) or on a mysql2 promise pool the app owns. Migrates lazily on
 * first use unless `migrate: false`.
 *
 * @example
 * const store = createMysqlStore({ url: 'mysql://app:secret@127.0.0.1:3306/app' });
 * await store.migrate(); // optional: fail at start rather than on the first request
 * // or, sharing the app's pool:
 * const shared = createMysqlStore({ pool: appPool, tableName: 'jwt_refresh_tokens' });
 */
export function createMysqlStore(options: MysqlStoreOptions): MysqlRefreshTokenStore {
  return new MysqlRefreshTokenStore(options);
}

type Statements = ReturnType<typeof statements>;

function statements(tableName: string) {
  const t = `\`${tableName}\``;
  const blocklist = `\`${tableName}_blocklist\``;
  const watermarks = `\`${tableName}_watermarks\``;
  const rateLimits = `\`${tableName}_rate_limits\``;
  return {
    insert: `INSERT INTO ${t} (${TOKEN_COLUMNS.join(', ')}) VALUES (${TOKEN_COLUMNS.map(() => '?').join(', ')})`,
    findByHash: `SELECT ${TOKEN_COLUMNS.join(', ')} FROM ${t} WHERE token_hash = ?`,
    touch: `UPDATE ${t} SET valid_until = ?, last_used_at = ?
            WHERE token_hash = ? AND rotated_at IS NULL AND revoked_at IS NULL`,
    // The WHERE clause is the compare-and-set: of racing rotations only one finds the parent unrotated.
    markRotated: `UPDATE ${t} SET rotated_at = ?, successor_hash = ?, last_used_at = ?
                  WHERE token_hash = ? AND rotated_at IS NULL AND revoked_at IS NULL`,
    revoke: `UPDATE ${t} SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL`,
    revokeFamily: `UPDATE ${t} SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`,
    revokeUser: `UPDATE ${t} SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`,
    // One pass over the user's rows (user_id index) aggregates each family: its first creation,
    // its latest use and the generation of its live token; the join then fetches that token.
    // Parameters: now, userId, userId, now.
    listFamilies: `SELECT cur.family_id, cur.user_id, cur.user_identifier, fam.first_created_at, fam.last_used_at,
                          cur.valid_until, cur.family_deadline, cur.user_agent, cur.ip, cur.metadata
                   FROM (
                     SELECT family_id,
                            MIN(created_at) AS first_created_at,
                            MAX(last_used_at) AS last_used_at,
                            MAX(CASE WHEN rotated_at IS NULL AND revoked_at IS NULL AND valid_until > ?
                                     THEN generation END) AS live_generation
                     FROM ${t} WHERE user_id = ? GROUP BY family_id
                   ) AS fam
                   JOIN ${t} AS cur
                     ON cur.family_id = fam.family_id AND cur.user_id = ? AND cur.generation = fam.live_generation
                   WHERE cur.rotated_at IS NULL AND cur.revoked_at IS NULL AND cur.valid_until > ?
                   ORDER BY fam.first_created_at DESC, cur.family_id ASC`,
    deleteExpired: `DELETE FROM ${t} WHERE valid_until < ? ORDER BY valid_until LIMIT ?`,
    count: `SELECT COUNT(*) AS n FROM ${t}`,
    // The new value is bound again instead of VALUES(expires_at), which MySQL 8.0.20+ deprecates
    // and whose replacement (a row alias) MariaDB lacks.
    block: `INSERT INTO ${blocklist} (jti, expires_at) VALUES (?, ?)
            ON DUPLICATE KEY UPDATE expires_at = GREATEST(expires_at, ?)`,
    isBlocked: `SELECT 1 AS blocked FROM ${blocklist} WHERE jti = ? AND expires_at > ?`,
    setRevokedBefore: `INSERT INTO ${watermarks} (user_id, revoked_before) VALUES (?, ?)
                       ON DUPLICATE KEY UPDATE revoked_before = GREATEST(revoked_before, ?)`,
    getRevokedBefore: `SELECT revoked_before FROM ${watermarks} WHERE user_id = ?`,
    // Assignments run left to right and see earlier ones, so `count` must read the old
    // window_start before it is overwritten. Parameters: key, start, reset, start, reset, start.
    hitRateLimit: `INSERT INTO ${rateLimits} (\`key\`, window_start, reset_at, count) VALUES (?, ?, ?, 1)
                   ON DUPLICATE KEY UPDATE
                     count = IF(window_start = ?, count + 1, 1),
                     reset_at = ?,
                     window_start = ?`,
    readRateLimit: `SELECT count, reset_at FROM ${rateLimits} WHERE \`key\` = ?`,
    purgeBlocklist: `DELETE FROM ${blocklist} WHERE expires_at <= ?`,
    purgeRateLimits: `DELETE FROM ${rateLimits} WHERE reset_at <= ?`,
    purgeWatermarks: `DELETE FROM ${watermarks} WHERE revoked_before < ?`,
  };
}

function openPool(url: string): Pool {
  try {
    // Parsed here first so a malformed URL is a ConfigError; the message never echoes it (it may hold a password).
    new URL(url);
  } catch {
    throw new ConfigError('stores.mysql.url: expected a URL such as mysql://user:password@127.0.0.1:3306/database');
  }
  // createPool connects lazily, so this never fails on an unreachable server.
  // timezone 'Z' only serves ad hoc queries on `store.pool`: the store formats its own instants.
  return mysql.createPool({ uri: url, timezone: 'Z' });
}

/**
 * Per-query options that make the store independent of how an app-owned
 * pool is configured: rows as objects, `?` placeholders, and a typeCast that
 * reads DATETIME as UTC text and BIGINT (COUNT) as a number.
 */
function queryOptions(sql: string, values: readonly SqlValue[]) {
  return { sql, values: [...values], rowsAsArray: false, nestTables: false, namedPlaceholders: false, typeCast };
}

function typeCast(field: CastField, next: CastNext): unknown {
  if (field.type === 'DATETIME') {
    const text = field.string('ascii');
    return text === null ? null : fromSql(text);
  }
  if (field.type === 'LONGLONG') {
    const value = next();
    return value === null ? null : Number(value);
  }
  return next();
}

async function select<Row>(db: Queryable, sql: string, values: readonly SqlValue[]): Promise<Row[]> {
  const [rows] = await db.query<RowDataPacket[]>(queryOptions(sql, values));
  return rows as unknown as Row[];
}

/** Runs a write and answers its affected rows (matched rows for UPDATE, given mysql2's default FOUND_ROWS flag). */
async function write(db: Queryable, sql: string, values: readonly SqlValue[]): Promise<number> {
  const [result] = await db.query<ResultSetHeader>(queryOptions(sql, values));
  return result.affectedRows;
}

function isRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'errno' in error && RETRYABLE_ERRNOS.has(Number(error.errno));
}

/**
 * A Date as DATETIME(3) text in UTC (`2031-03-04 05:06:07.123`). The store
 * binds text, never a Date, so the pool's `timezone` cannot shift it.
 */
function toSql(date: Date): string {
  const iso = date.toISOString();
  // Years outside 0000–9999 print with a sign and 6 digits; DATETIME cannot hold them.
  if (iso.length !== 24) {
    throw new RangeError('instant outside the DATETIME range (years 1000–9999)');
  }
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** DATETIME text as the server sends it, read as UTC. */
function fromSql(text: string): Date {
  const date = new Date(`${text.replace(' ', 'T')}Z`);
  if (Number.isNaN(date.getTime())) {
    throw new RangeError('unreadable DATETIME value');
  }
  return date;
}

/** Reads an instant of a row: {@link typeCast} has parsed DATETIME columns as UTC already. */
function asParsed(date: Date): Date {
  return date;
}
