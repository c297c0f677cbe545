/**
 * The embedded default store, on better-sqlite3.
 *
 * better-sqlite3 is synchronous: every method does its work inside the returned promise's executor, and the atomic
 * steps run in SQLite transactions, so they also hold against other connections and processes sharing the file.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError, StoreError } from '../../errors.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import { asStoreError } from '../kit/attempt.js';
import { exactlyOne, identifier, type SchemaStoreOptions } from '../kit/options.js';
import { fromFamilyRow, fromRow, toRow } from '../kit/record-codec.js';
import { assertBatchSize, rateLimitWindow } from '../kit/records.js';
import type { FamilySummary, RateLimitHit, RefreshTokenRecord, RefreshTokenStore, RotateOutcome } from '../store.js';
import type { StoreAudit, StoreAuditOptions } from '../store.js';
import { auditSqlite } from './sqlite-audit.js';
import { SQLITE_MIGRATIONS_TABLE, sqliteMigrations } from './sqlite-migrations.js';
import { type SqliteCheckpointer, type SqliteCheckpointOptions, startCheckpointer } from './sqlite-checkpointer.js';
import { createWriteBatcher, DEFAULT_MAX_BATCH, type SqliteGroupCommitOptions, type WriteBatcher } from './sqlite-group-commit.js';
import { prepareStatements, type Statements } from './sqlite-sql.js';

export type { SqliteCheckpointOptions } from './sqlite-checkpointer.js';
export type { SqliteGroupCommitOptions } from './sqlite-group-commit.js';

/** Options of {@link createSqliteStore}. Give exactly one of `filename` and `database`. */
export interface SqliteStoreOptions extends SchemaStoreOptions {
  /** Database file to open (parent directories are created). The store owns this connection and `close()` closes it. */
  filename?: string;
  /** An open better-sqlite3 database the app owns: the store neither changes its pragmas nor closes it. */
  database?: Database.Database;
  /** Token table, an SQL identifier (`/^[A-Za-z_][A-Za-z0-9_]{0,62}$/`). Default `refresh_tokens`. */
  tableName?: string;
  /**
   * WAL checkpoints of a store-owned file (`filename`): by default a worker thread with its own
   * connection checkpoints, so the fsyncs never block the event loop; the serving connection's
   * auto-checkpoint only backstops the WAL bound. `false`: SQLite's auto-checkpoint (1000 pages)
   * on the serving connection instead.
   * Ignored for `database` (the app's connection) and in-memory databases. Durability is the same
   * either way (WAL, `synchronous=NORMAL`).
   */
  checkpoint?: false | SqliteCheckpointOptions;
  /**
   * Group commit: inserts, rotations and touches that arrive in the same event-loop turn, after that
   * turn's first commit, are committed together in one transaction, each in its own savepoint with its
   * own compare-and-set and outcome; each call still settles only after its own write is committed.
   * A write arriving while nothing else is written commits at once, alone: no added wait when idle.
   * Default on (`{ maxBatch: 32 }`); `false` commits every write in its own transaction.
   */
  groupCommit?: boolean | SqliteGroupCommitOptions;
}

/**
 * A {@link RefreshTokenStore} on a SQLite file through better-sqlite3. Build it with {@link createSqliteStore}.
 *
 * @example
 * const store = new SqliteRefreshTokenStore({ filename: 'var/tokens.sqlite' });
 * const record = await store.findByHash(hash);
 */
export class SqliteRefreshTokenStore implements RefreshTokenStore {
  /** The connection, exposed for tests and operators that inspect raw rows. */
  readonly database: Database.Database;
  readonly tableName: string;
  readonly #ownsDatabase: boolean;
  readonly #clock: Clock;
  #statements: Statements | undefined;
  readonly #batcher: WriteBatcher | undefined;
  #checkpointer: SqliteCheckpointer | undefined;

  constructor(options: SqliteStoreOptions) {
    this.tableName = identifier('stores.sqlite.tableName', options.tableName ?? 'refresh_tokens');
    exactlyOne('sqlite', options, 'filename', 'database');
    const maxBatch = groupCommitBatch(options.groupCommit);
    const checkpoint = checkpointOptions(options.checkpoint);
    this.#clock = options.clock ?? systemClock;
    this.#ownsDatabase = options.database === undefined;
    this.database = options.database ?? openDatabase(options.filename ?? '');
    if (maxBatch !== undefined) this.#batcher = createWriteBatcher(this.database, maxBatch, asStoreError);
    if (options.migrate !== false) {
      try {
        this.#migrate();
        // Prepared here so a broken schema fails at start, not on the first refresh.
        this.#statements = run('prepare', () => prepareStatements(this.database, this.tableName));
      } catch (error) {
        if (this.#ownsDatabase) this.database.close();
        throw error;
      }
    }
    if (this.#ownsDatabase && checkpoint !== false && this.database.pragma('journal_mode', { simple: true }) === 'wal') {
      try {
        this.#checkpointer = run('checkpoint', () => startCheckpointer(this.database, this.database.name, checkpoint));
      } catch (error) {
        this.database.close();
        throw error;
      }
    }
  }

  async migrate(): Promise<number[]> {
    return this.#migrate();
  }

  async insert(record: RefreshTokenRecord): Promise<void> {
    const row = toRow(record, toMillis);
    if (this.#batcher !== undefined) return void (await this.#batcher.write('insert', () => this.#sql.insert.run(row)));
    run('insert', () => this.#sql.insert.run(row));
  }

  async findByHash(tokenHash: string): Promise<RefreshTokenRecord | null> {
    const row = run('findByHash', () => this.#sql.findByHash.get(tokenHash));
    return row === undefined ? null : fromRow(row, toDate);
  }

  async touch(tokenHash: string, validUntil: Date, lastUsedAt: Date): Promise<boolean> {
    const work = () => this.#sql.touch.run(validUntil.getTime(), lastUsedAt.getTime(), tokenHash).changes === 1;
    if (this.#batcher !== undefined) return this.#batcher.write('touch', work);
    return run('touch', work);
  }

  async rotate(parentHash: string, successor: RefreshTokenRecord, rotatedAt: Date): Promise<RotateOutcome> {
    const row = toRow(successor, toMillis);
    if (this.#batcher !== undefined)
      return this.#batcher.write('rotate', () => this.#sql.rotateInTransaction(parentHash, row, rotatedAt.getTime()));
    // IMMEDIATE takes the write lock at BEGIN, so a second connection waits (busy_timeout)
    // instead of failing with SQLITE_BUSY when it upgrades a read lock.
    return run('rotate', () => this.#sql.rotate.immediate(parentHash, row, rotatedAt.getTime()));
  }

  async revokeFamily(familyId: string, revokedAt: Date): Promise<number> {
    // Run once: SQLite has one writer at a time, so a rotation's transaction never interleaves with it.
    this.#batcher?.flush();
    return run('revokeFamily', () => this.#sql.revokeFamily.run(revokedAt.getTime(), familyId)).changes;
  }

  async revokeUser(userId: string, revokedAt: Date): Promise<number> {
    this.#batcher?.flush();
    return run('revokeUser', () => this.#sql.revokeUser.run(revokedAt.getTime(), userId)).changes;
  }

  async listFamilies(userId: string, now: Date): Promise<FamilySummary[]> {
    const rows = run('listFamilies', () => this.#sql.listFamilies.all({ userId, now: now.getTime() }));
    return rows.map((row) => fromFamilyRow(row, toDate));
  }

  async blockAccessToken(jti: string, expiresAt: Date): Promise<void> {
    this.#batcher?.flush();
    run('blockAccessToken', () => this.#sql.block.run(jti, expiresAt.getTime()));
  }

  async isAccessTokenBlocked(jti: string, now: Date): Promise<boolean> {
    return run('isAccessTokenBlocked', () => this.#sql.isBlocked.get(jti, now.getTime())) !== undefined;
  }

  async setRevokedBefore(userId: string, at: Date): Promise<void> {
    this.#batcher?.flush();
    run('setRevokedBefore', () => this.#sql.setRevokedBefore.run(userId, at.getTime()));
  }

  async getRevokedBefore(userId: string): Promise<Date | null> {
    const at = run('getRevokedBefore', () => this.#sql.getRevokedBefore.get(userId));
    return at === undefined ? null : new Date(at);
  }

  async hitRateLimit(key: string, windowSeconds: number, now: Date): Promise<RateLimitHit> {
    const window = rateLimitWindow(now, windowSeconds);
    this.#batcher?.flush();
    const row = run('hitRateLimit', () => this.#sql.hitRateLimit.get(key, window.startMs, window.resetAt.getTime()));
    return { count: row?.count ?? 1, resetAt: new Date(row?.reset_at ?? window.resetAt.getTime()) };
  }

  async deleteExpired(before: Date, batchSize: number): Promise<number> {
    assertBatchSize(batchSize);
    this.#batcher?.flush();
    // Through the valid_until index; small batches keep each write lock short.
    return run('deleteExpired', () => this.#sql.deleteExpired.run(before.getTime(), batchSize)).changes;
  }

  async purgeExpiredState(before: Date, watermarksBefore?: Date): Promise<number> {
    const cutoff = before.getTime();
    this.#batcher?.flush();
    return run('purgeExpiredState', () =>
      this.database.transaction(
        () =>
          this.#sql.purgeBlocklist.run(cutoff).changes +
          this.#sql.purgeRateLimits.run(cutoff).changes +
          (watermarksBefore === undefined ? 0 : this.#sql.purgeWatermarks.run(watermarksBefore.getTime()).changes),
      )(),
    );
  }

  async audit(now: Date, options?: StoreAuditOptions): Promise<StoreAudit> {
    return auditSqlite(this.database, this.tableName, now, options);
  }

  async count(): Promise<number> {
    return run('count', () => this.#sql.count.get()) ?? 0;
  }

  async ping(): Promise<void> {
    // In-process: a statement on the connection is the whole check (it fails once the database is closed).
    run('ping', () => this.database.prepare('SELECT 1').get());
  }

  async close(): Promise<void> {
    if (this.database.open) this.#batcher?.flush();
    // The worker first: the serving connection, closing last, checkpoints what is left and removes the WAL.
    await this.#checkpointer?.stop();
    if (this.#ownsDatabase && this.database.open) run('close', () => this.database.close());
  }

  get #sql(): Statements {
    // Prepared at most once: in the constructor, or on first use when `migrate: false` left the table to the app.
    this.#statements ??= run('prepare', () => prepareStatements(this.database, this.tableName));
    return this.#statements;
  }

  /**
   * The kit's migration runner (kit/migration-runner.ts) written out synchronously, since
   * better-sqlite3 is synchronous and the constructor migrates: each step is checked,
   * applied and recorded in one BEGIN IMMEDIATE transaction, whose write lock is the guard.
   */
  #migrate(): number[] {
    return run('migrate', () => {
      this.database.exec(`
        CREATE TABLE IF NOT EXISTS ${SQLITE_MIGRATIONS_TABLE} (
          table_name TEXT NOT NULL,
          version INTEGER NOT NULL,
          name TEXT NOT NULL,
          applied_at INTEGER NOT NULL,
          PRIMARY KEY (table_name, version)
        )
      `);
      const isApplied = this.database
        .prepare<[string, number], number>(`SELECT 1 FROM ${SQLITE_MIGRATIONS_TABLE} WHERE table_name = ? COLLATE NOCASE AND version = ?`)
        .pluck();
      const record = this.database.prepare<[string, number, string, number], void>(
        `INSERT INTO ${SQLITE_MIGRATIONS_TABLE} (table_name, version, name, applied_at) VALUES (?, ?, ?, ?)`,
      );
      const step = this.database.transaction((migration: (typeof sqliteMigrations)[number]): boolean => {
        if (isApplied.get(this.tableName, migration.version) !== undefined) return false;
        this.database.exec(migration.up(this.tableName));
        record.run(this.tableName, migration.version, migration.name, this.#clock().getTime());
        return true;
      });
      return sqliteMigrations.filter((migration) => step.immediate(migration)).map((migration) => migration.version);
    });
  }
}

/**
 * A {@link SqliteRefreshTokenStore}.
 *
 * @example
 * const store = createSqliteStore({ filename: 'var/jwt-refresh.sqlite' });
 * // or, sharing the app's connection:
 * const shared = createSqliteStore({ database: appDb, tableName: 'jwt_refresh_tokens' });
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteRefreshTokenStore {
  return new SqliteRefreshTokenStore(options);
}

function groupCommitBatch(option: SqliteStoreOptions['groupCommit']): number | undefined {
  if (option === false) return undefined;
  const maxBatch = option === undefined || option === true ? DEFAULT_MAX_BATCH : (option.maxBatch ?? DEFAULT_MAX_BATCH);
  if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new ConfigError('stores.sqlite.groupCommit.maxBatch: expected an integer ≥ 1');
  return maxBatch;
}

function checkpointOptions(option: SqliteStoreOptions['checkpoint']): false | SqliteCheckpointOptions {
  if (option === false) return false;
  for (const key of ['intervalMs', 'walLimitBytes'] as const) {
    const value = option?.[key];
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new ConfigError(`stores.sqlite.checkpoint.${key}: expected a positive number`);
    }
  }
  return option ?? {};
}

/** The kit's `attempt`, for synchronous work. */
function run<T>(operation: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw asStoreError(operation, error);
  }
}

function openDatabase(filename: string): Database.Database {
  try {
    // ':memory:', '' (a private temporary database) and URIs name no directory to create.
    if (filename !== '' && filename !== ':memory:' && !filename.startsWith('file:')) {
      mkdirSync(dirname(filename), { recursive: true });
      // The file holds token hashes, user ids and client addresses: owner-only, like the
      // keys beside it. SQLite gives the -wal and -shm files the database file's mode.
      closeSync(openSync(filename, 'a', 0o600));
    }
    const database = new Database(filename);
    // busy_timeout first: switching a fresh file to WAL takes a lock that another process
    // opening it at the same moment may hold. WAL lets readers run alongside the one writer;
    // NORMAL is durable in WAL except for the last transactions on power loss (a re-login at worst).
    database.pragma('busy_timeout = 5000');
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('foreign_keys = ON');
    return database;
  } catch (error) {
    throw new StoreError('open', { cause: error });
  }
}

function toMillis(date: Date): number {
  return date.getTime();
}

function toDate(millis: number): Date {
  return new Date(millis);
}
