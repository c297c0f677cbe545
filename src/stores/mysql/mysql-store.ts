/**
 * The MySQL 8 / MariaDB 10.11 store, on mysql2's promise pool: every method is
 * one autocommit statement or one transaction on one pooled connection.
 */
import mysql from 'mysql2/promise';
import type { Pool, PoolConnection } from 'mysql2/promise';
import { ConfigError } from '../../errors.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { asStoreError, attempt, errorProperty, retry, type RetryPolicy } from '../kit/attempt.js';
import { LazyMigration } from '../kit/lazy-migration.js';
import { runMigrations } from '../kit/migration-runner.js';
import { deadlineOf, operationTimeout } from '../kit/operation-timeout.js';
import { exactlyOne, identifier, type SchemaStoreOptions, type ServerStoreOptions } from '../kit/options.js';
import { fromFamilyRow, fromRow, insertValues, type FamilyRow, type TokenRow } from '../kit/record-codec.js';
import { assertBatchSize, rateLimitWindow } from '../kit/records.js';
import type { FamilySummary, RateLimitHit, RefreshTokenRecord, RefreshTokenStore, RotateOutcome } from '../store.js';
import type { StoreAudit, StoreAuditOptions } from '../store.js';
import { auditMysql } from './mysql-audit.js';
import {
  MYSQL_DERIVED_TABLE_SUFFIXES,
  MYSQL_MIGRATION_LOCK,
  MYSQL_MIGRATIONS_TABLE,
  createMigrationsTableSql,
  mysqlMigrations,
  type MysqlMigration,
} from './mysql-migrations.js';
import { select, statements, toSql, write, type Statements } from './mysql-sql.js';

/** Options of {@link createMysqlStore}. Give exactly one of `url` and `pool`. */
export interface MysqlStoreOptions extends SchemaStoreOptions, ServerStoreOptions {
  /**
   * Server to connect to, e.g. `mysql://user:password@127.0.0.1:3306/app`. The store opens a pool on it (mysql2's
   * default of 10 connections; add `?connectionLimit=20` to change it) and `close()` ends that pool.
   */
  url?: string;
  /**
   * A mysql2 promise pool the app owns: `close()` leaves it open. Its `timezone`, `dateStrings`, `typeCast` and
   * `rowsAsArray` settings do not matter (the store converts its own values per query), but it must keep mysql2's
   * default `FOUND_ROWS` client flag, so `touch` with unchanged values still counts the row it matched.
   */
  pool?: Pool;
  /**
   * Token table, an SQL identifier (`/^[A-Za-z_][A-Za-z0-9_]*$/`) of at most
   * 52 characters, so that `<tableName>_rate_limits` fits MySQL's 64. Default `refresh_tokens`.
   */
  tableName?: string;
}

/** MySQL identifiers have at most 64 characters, and the longest derived table name appends `_rate_limits` (12). */
const MAX_TABLE_NAME_LENGTH = 64 - Math.max(...MYSQL_DERIVED_TABLE_SUFFIXES.map((suffix) => suffix.length));

/** ER_LOCK_DEADLOCK and ER_LOCK_WAIT_TIMEOUT: InnoDB rolled the work back, so running it again is safe. */
const RETRY: RetryPolicy = {
  attempts: 5,
  isRetryable: (error) => [1213, 1205].includes(Number(errorProperty(error, 'errno'))),
  pauseMs: (attempt) => Math.random() * 10 * attempt,
};

/** The store's name in errors and log lines. */
const STORE = 'mysql';

/** Seconds `GET_LOCK` waits for another process's migration before giving up. */
const MIGRATION_LOCK_TIMEOUT_SECONDS = 30;

/**
 * A {@link RefreshTokenStore} on MySQL 8 or MariaDB 10.11 through a mysql2
 * promise pool. Build it with {@link createMysqlStore}.
 *
 * @example
 * const store = new MysqlRefreshTokenStore({ url: process.env.DATABASE_URL });
 * await store.migrate();
 * const record = await store.findByHash(hash);
 */
export class MysqlRefreshTokenStore implements RefreshTokenStore {
  /** The pool, exposed for tests and operators that inspect raw rows. */
  readonly pool: Pool;
  readonly tableName: string;
  readonly #ownsPool: boolean;
  readonly #clock: Clock;
  readonly #sql: Statements;
  readonly #migration: LazyMigration;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(options: MysqlStoreOptions) {
    this.tableName = identifier('stores.mysql.tableName', options.tableName ?? 'refresh_tokens', {
      maxLength: MAX_TABLE_NAME_LENGTH,
    });
    exactlyOne('mysql', options, 'url', 'pool');
    this.#clock = options.clock ?? systemClock;
    this.#timeoutMs = operationTimeout(STORE, options.operationTimeoutMs);
    this.#sql = statements(this.tableName);
    this.#ownsPool = options.pool === undefined;
    this.pool = options.pool ?? openPool(options.url ?? '', this.#timeoutMs);
    this.#migration = new LazyMigration(() => this.#applyMigrations(), options.migrate !== false);
  }

  async migrate(): Promise<number[]> {
    // Under the server-wide `GET_LOCK('jwt_refresh_migrate', 30)`: DDL commits implicitly,
    // so a transaction could not keep two processes from both creating the table; the lock makes the second wait.
    const applied = await this.#applyMigrations();
    this.#migration.markDone();
    return applied;
  }

  async insert(record: RefreshTokenRecord): Promise<void> {
    const values = insertValues(record, toSql);
    await this.#run('insert', () => write(this.pool, this.#sql.insert, values));
  }

  async findByHash(tokenHash: string): Promise<RefreshTokenRecord | null> {
    const [row] = await this.#run('findByHash', () => select<TokenRow<Date>>(this.pool, this.#sql.findByHash, [tokenHash]));
    return row === undefined ? null : fromRow(row, asParsed);
  }

  async touch(tokenHash: string, validUntil: Date, lastUsedAt: Date): Promise<boolean> {
    const values = [toSql(validUntil), toSql(lastUsedAt), tokenHash];
    return (await this.#run('touch', () => write(this.pool, this.#sql.touch, values))) === 1;
  }

  async rotate(parentHash: string, successor: RefreshTokenRecord, rotatedAt: Date): Promise<RotateOutcome> {
    // One transaction: the guarded UPDATE's row lock makes racing rotations wait, and they then
    // match nothing; a failed INSERT rolls the parent back. Deadlocks and lock-wait timeouts are retried.
    const at = toSql(rotatedAt);
    const successorValues = insertValues(successor, toSql);
    return this.#run('rotate', () =>
      this.#inTransaction(async (connection) => {
        const marked = await write(connection, this.#sql.markRotated, [at, successor.tokenHash, at, parentHash]);
        if (marked !== 1) return { commit: false, value: 'conflict' as const };
        await write(connection, this.#sql.insert, successorValues);
        return { commit: true, value: 'rotated' as const };
      }),
    );
  }

  async revokeFamily(familyId: string, revokedAt: Date): Promise<number> {
    // Not re-run as PostgreSQL's is: an InnoDB UPDATE reads the latest committed rows under locks,
    // not a snapshot, and its next-key locks make a racing rotation's INSERT wait (or deadlock, retried).
    const values = [toSql(revokedAt), familyId];
    return this.#run('revokeFamily', () => write(this.pool, this.#sql.revokeFamily, values));
  }

  async revokeUser(userId: string, revokedAt: Date): Promise<number> {
    const values = [toSql(revokedAt), userId];
    return this.#run('revokeUser', () => write(this.pool, this.#sql.revokeUser, values));
  }

  async listFamilies(userId: string, now: Date): Promise<FamilySummary[]> {
    const at = toSql(now);
    const rows = await this.#run('listFamilies', () =>
      select<FamilyRow<Date>>(this.pool, this.#sql.listFamilies, [at, userId, userId, at]),
    );
    return rows.map((row) => fromFamilyRow(row, asParsed));
  }

  async blockAccessToken(jti: string, expiresAt: Date): Promise<void> {
    const until = toSql(expiresAt);
    await this.#run('blockAccessToken', () => write(this.pool, this.#sql.block, [jti, until, until]));
  }

  async isAccessTokenBlocked(jti: string, now: Date): Promise<boolean> {
    const values = [jti, toSql(now)];
    return (await this.#run('isAccessTokenBlocked', () => select(this.pool, this.#sql.isBlocked, values))).length > 0;
  }

  async setRevokedBefore(userId: string, at: Date): Promise<void> {
    const value = toSql(at);
    await this.#run('setRevokedBefore', () => write(this.pool, this.#sql.setRevokedBefore, [userId, value, value]));
  }

  async getRevokedBefore(userId: string): Promise<Date | null> {
    const [row] = await this.#run('getRevokedBefore', () =>
      select<{ revoked_before: Date }>(this.pool, this.#sql.getRevokedBefore, [userId]),
    );
    return row?.revoked_before ?? null;
  }

  async hitRateLimit(key: string, windowSeconds: number, now: Date): Promise<RateLimitHit> {
    // The upsert and the read of its count in one transaction, whose row lock keeps other hits
    // out until it commits: neither server has `RETURNING` on an upsert.
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

  async deleteExpired(before: Date, batchSize: number): Promise<number> {
    assertBatchSize(batchSize);
    const values = [toSql(before), batchSize];
    return this.#run('deleteExpired', () => write(this.pool, this.#sql.deleteExpired, values));
  }

  async purgeExpiredState(before: Date, watermarksBefore?: Date): Promise<number> {
    const cutoff = [toSql(before)];
    return this.#run('purgeExpiredState', async () => {
      let removed = await write(this.pool, this.#sql.purgeBlocklist, cutoff);
      removed += await write(this.pool, this.#sql.purgeRateLimits, cutoff);
      if (watermarksBefore !== undefined) removed += await write(this.pool, this.#sql.purgeWatermarks, [toSql(watermarksBefore)]);
      return removed;
    });
  }

  async audit(now: Date, options?: StoreAuditOptions): Promise<StoreAudit> {
    return auditMysql((work) => this.#run('audit', work), this.pool, this.tableName, now, options);
  }

  async count(): Promise<number> {
    const [row] = await this.#run('count', () => select<{ n: number }>(this.pool, this.#sql.count, []));
    return row?.n ?? 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A migration in flight finishes first: ending the pool under it would leave the lock to the server.
    await this.#migration.settled();
    if (this.#ownsPool) await attempt('close', () => this.pool.end(), { store: STORE });
  }

  async ping(): Promise<void> {
    // Not behind the lazy migration: whether the server answers, not whether the schema is there.
    await attempt('ping', () => this.pool.query('SELECT 1'), { store: STORE, timeoutMs: this.#timeoutMs });
  }

  async #run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    // One deadline over the wait for the lazy migration, for a pooled connection, the statements and their retries.
    return attempt(
      operation,
      async () => {
        await this.#migration.ready();
        return retry(work, RETRY);
      },
      { store: STORE, timeoutMs: deadlineOf(operation, this.#timeoutMs) },
    );
  }

  /**
   * Runs `work` in a transaction on ONE pooled connection (a transaction spread over the pool would be several
   * transactions), committing when it says so and rolling back otherwise or on failure.
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
      if (reusable) connection.release();
      else connection.destroy();
    }
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
      const session = connection;
      return await runMigrations<MysqlMigration, PoolConnection>(mysqlMigrations, {
        // The lock, held for the whole run, is the guard.
        guard: (work) => work(session),
        isApplied: async (c, migration) =>
          (
            await select(c, `SELECT 1 FROM \`${MYSQL_MIGRATIONS_TABLE}\` WHERE table_name = ? AND version = ?`, [
              this.tableName,
              migration.version,
            ])
          ).length > 0,
        apply: async (c, migration) => {
          for (const statement of migration.up(this.tableName)) {
            await c.query(statement);
          }
        },
        record: async (c, migration) => {
          await write(c, `INSERT INTO \`${MYSQL_MIGRATIONS_TABLE}\` (table_name, version, name, applied_at) VALUES (?, ?, ?, ?)`, [
            this.tableName,
            migration.version,
            migration.name,
            toSql(this.#clock()),
          ]);
          return true;
        },
      });
    } catch (error) {
      throw asStoreError('migrate', error, STORE);
    } finally {
      if (connection !== undefined) {
        let reusable = true;
        if (locked) {
          await connection.query('SELECT RELEASE_LOCK(?)', [MYSQL_MIGRATION_LOCK]).catch(() => {
            // Ending the session frees the lock too.
            reusable = false;
          });
        }
        if (reusable) connection.release();
        else connection.destroy();
      }
    }
  }
}

/**
 * A {@link MysqlRefreshTokenStore}.
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

function openPool(url: string, timeoutMs: number): Pool {
  try {
    // Parsed here first so a malformed URL is a ConfigError; the message never echoes it (it may hold a password).
    new URL(url);
  } catch {
    throw new ConfigError('stores.mysql.url: expected a URL such as mysql://user:password@127.0.0.1:3306/database');
  }
  // createPool connects lazily, so this never fails on an unreachable server.
  // timezone 'Z' only serves ad hoc queries on `store.pool`: the store formats its own instants.
  // connectTimeout: a server that does not answer fails the connection (and the operation) within the deadline.
  return mysql.createPool({ uri: url, timezone: 'Z', connectTimeout: timeoutMs });
}

/** Reads an instant of a row: the query's typeCast has parsed DATETIME columns as UTC already. */
function asParsed(date: Date): Date {
  return date;
}
