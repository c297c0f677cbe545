/**
 * The embedded default store, on better-sqlite3.
 *
 * better-sqlite3 is synchronous: every method does its work inside the
 * returned promise's executor, and the atomic steps run in SQLite
 * transactions, so they also hold against other connections and processes
 * sharing the file.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError, StoreError } from '../errors.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { SQLITE_MIGRATIONS_TABLE, sqliteMigrations } from './sqlite-migrations.js';
import { rateLimitWindow } from './rate-limit-window.js';
import { TOKEN_COLUMNS, fromFamilyRow, fromRow, toRow, type FamilyRow, type TokenRow } from './record-codec.js';
import type { FamilySummary, RateLimitHit, RefreshTokenRecord, RefreshTokenStore, RotateOutcome } from './store.js';
import { assertBatchSize } from './store-records.js';

/** Options of {@link createSqliteStore}. Give exactly one of `filename` and `database`. */
export interface SqliteStoreOptions {
  /** Database file to open (parent directories are created). The store owns this connection and `close()` closes it. */
  filename?: string;
  /** An open better-sqlite3 database the app owns: the store neither changes its pragmas nor closes it. */
  database?: Database.Database;
  /** Token table, an SQL identifier (`/^[A-Za-z_][A-Za-z0-9_]{0,62}$/`). Default `refresh_tokens`. */
  tableName?: string;
  /** Apply missing migrations on construction. Default true; with false, run {@link SqliteRefreshTokenStore.migrate} yourself. */
  migrate?: boolean;
  /** Source of the `applied_at` time of migrations. Default the wall clock. */
  clock?: Clock;
}

/** The token table's row: instants are unix milliseconds. */
type SqliteTokenRow = TokenRow<number>;

interface Statements {
  insert: Database.Statement<[SqliteTokenRow], void>;
  findByHash: Database.Statement<[string], SqliteTokenRow>;
  touch: Database.Statement<[number, number, string], void>;
  rotate: Database.Transaction<(parentHash: string, successor: SqliteTokenRow, rotatedAt: number) => RotateOutcome>;
  revoke: Database.Statement<[number, string], void>;
  revokeFamily: Database.Statement<[number, string], void>;
  revokeUser: Database.Statement<[number, string], void>;
  listFamilies: Database.Statement<[{ userId: string; now: number }], FamilyRow<number>>;
  deleteExpired: Database.Statement<[number, number], void>;
  count: Database.Statement<[], number>;
  block: Database.Statement<[string, number], void>;
  isBlocked: Database.Statement<[string, number], number>;
  setRevokedBefore: Database.Statement<[string, number], void>;
  getRevokedBefore: Database.Statement<[string], number>;
  hitRateLimit: Database.Statement<[string, number, number], { count: number; reset_at: number }>;
  purgeBlocklist: Database.Statement<[number], void>;
  purgeRateLimits: Database.Statement<[number], void>;
  purgeWatermarks: Database.Statement<[number], void>;
}

const DEFAULT_TABLE_NAME = 'refresh_tokens';
// 63 characters at most (PostgreSQL and MySQL stores cap lower, since they derive longer names from it).
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * A {@link RefreshTokenStore} on a SQLite file through better-sqlite3. Build
 * it with {@link createSqliteStore}.
 *
 * @example
 * const store = new SqliteRefreshTokenStore({ filename: 'var/tokens.sqlite' });
 * const record = await store.findByHash(hash);
 */
export class SqliteRefreshTokenStore implements RefreshTokenStore {
  /** The connection, exposed for tests and operators that inspect raw rows. */
  readonly database: Database.Database;
  /** The validated token table name. */
  readonly tableName: string;
  readonly #ownsDatabase: boolean;
  readonly #clock: Clock;
  #statements: Statements | undefined;

  /**
   * Opens or adopts the database and, unless `migrate: false`, brings the
   * schema up to date. Fails with a {@link ConfigError} on bad options and a
   * {@link StoreError} when the database cannot be opened or migrated.
   *
   * @example
   * const store = new SqliteRefreshTokenStore({ database: appDb, tableName: 'jwt_refresh_tokens' });
   */
  constructor(options: SqliteStoreOptions) {
    const tableName = options.tableName ?? DEFAULT_TABLE_NAME;
    if (!IDENTIFIER.test(tableName)) {
      throw new ConfigError(
        'stores.sqlite.tableName: expected an SQL identifier (a letter or "_", then letters, digits or "_", 63 characters at most)',
      );
    }
    if ((options.filename === undefined) === (options.database === undefined)) {
      throw new ConfigError('stores.sqlite: expected exactly one of `filename` and `database`');
    }
    this.tableName = tableName;
    this.#clock = options.clock ?? systemClock;
    if (options.database !== undefined) {
      this.database = options.database;
      this.#ownsDatabase = false;
    } else {
      this.database = openDatabase(options.filename ?? '');
      this.#ownsDatabase = true;
    }
    if (options.migrate !== false) {
      try {
        this.#migrate();
        // Prepared here so a broken schema fails at start, not on the first refresh.
        this.#statements = this.#run('prepare', () => prepareStatements(this.database, this.tableName));
      } catch (error) {
        if (this.#ownsDatabase) {
          this.database.close();
        }
        throw error;
      }
    }
  }

  /**
   * Applies the migrations this database lacks, each in its own
   * `BEGIN IMMEDIATE` transaction that re-checks the version under the write
   * lock, so two processes migrating at once apply each step once. Answers the
   * versions this call applied (none when up to date).
   *
   * @example
   * const store = createSqliteStore({ filename, migrate: false });
   * const applied = await store.migrate(); // e.g. [1]
   */
  async migrate(): Promise<number[]> {
    return this.#migrate();
  }

  /**
   * Stores a new record; rejects with a {@link StoreError} when its hash (or id) exists.
   *
   * @example
   * await store.insert(record);
   */
  async insert(record: RefreshTokenRecord): Promise<void> {
    this.#run('insert', () => this.#sql.insert.run(toRow(record, toMillis)));
  }

  /**
   * The record with this hash, whatever its state, or null.
   *
   * @example
   * const record = await store.findByHash(hash);
   */
  async findByHash(tokenHash: string): Promise<RefreshTokenRecord | null> {
    const row = this.#run('findByHash', () => this.#sql.findByHash.get(tokenHash));
    return row === undefined ? null : fromRow(row, toDate);
  }

  /**
   * Extends a record that is neither rotated nor revoked; false when there is none.
   *
   * @example
   * await store.touch(hash, newValidUntil, now);
   */
  async touch(tokenHash: string, validUntil: Date, lastUsedAt: Date): Promise<boolean> {
    const result = this.#run('touch', () =>
      this.#sql.touch.run(validUntil.getTime(), lastUsedAt.getTime(), tokenHash),
    );
    return result.changes === 1;
  }

  /**
   * The compare-and-set of rotation in one immediate transaction: the guarded
   * UPDATE marks the parent, and only if it changed a row is the successor
   * inserted. A failed insert rolls the parent back too.
   *
   * @example
   * if ((await store.rotate(parentHash, successor, now)) === 'conflict') treatAsReuse();
   */
  async rotate(parentHash: string, successor: RefreshTokenRecord, rotatedAt: Date): Promise<RotateOutcome> {
    const row = toRow(successor, toMillis);
    // IMMEDIATE takes the write lock at BEGIN, so a second connection waits (busy_timeout)
    // instead of failing with SQLITE_BUSY when it upgrades a read lock.
    return this.#run('rotate', () => this.#sql.rotate.immediate(parentHash, row, rotatedAt.getTime()));
  }

  /**
   * Revokes one record unless it is revoked already; answers whether it changed.
   *
   * @example
   * await store.revoke(hash, now);
   */
  async revoke(tokenHash: string, revokedAt: Date): Promise<boolean> {
    return this.#run('revoke', () => this.#sql.revoke.run(revokedAt.getTime(), tokenHash)).changes === 1;
  }

  /**
   * Revokes every not-yet-revoked record of a family; answers how many changed.
   *
   * @example
   * await store.revokeFamily(familyId, now);
   */
  async revokeFamily(familyId: string, revokedAt: Date): Promise<number> {
    return this.#run('revokeFamily', () => this.#sql.revokeFamily.run(revokedAt.getTime(), familyId)).changes;
  }

  /**
   * Revokes every not-yet-revoked record of a user; answers how many changed.
   *
   * @example
   * await store.revokeUser(userId, now);
   */
  async revokeUser(userId: string, revokedAt: Date): Promise<number> {
    return this.#run('revokeUser', () => this.#sql.revokeUser.run(revokedAt.getTime(), userId)).changes;
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
    const rows = this.#run('listFamilies', () => this.#sql.listFamilies.all({ userId, now: now.getTime() }));
    return rows.map((row) => fromFamilyRow(row, toDate));
  }

  /**
   * Deletes up to `batchSize` records valid until before `before`, through the
   * `valid_until` index; call again until it answers 0. Small batches keep
   * each write lock short.
   *
   * @example
   * while ((await store.deleteExpired(now, 1000)) > 0) {}
   */
  async deleteExpired(before: Date, batchSize: number): Promise<number> {
    assertBatchSize(batchSize);
    return this.#run('deleteExpired', () => this.#sql.deleteExpired.run(before.getTime(), batchSize)).changes;
  }

  /**
   * Number of stored records, whatever their state.
   *
   * @example
   * const total = await store.count();
   */
  async count(): Promise<number> {
    return this.#run('count', () => this.#sql.count.get()) ?? 0;
  }

  /**
   * Closes the database if the store opened it; an app-owned database stays open.
   * Safe to call twice.
   *
   * @example
   * await store.close();
   */
  async close(): Promise<void> {
    if (this.#ownsDatabase && this.database.open) {
      this.#run('close', () => this.database.close());
    }
  }

  /**
   * Blocks `jti` until `expiresAt`; a later expiry wins.
   *
   * @example
   * await store.blockAccessToken(claims.jti, new Date(claims.exp * 1000));
   */
  async blockAccessToken(jti: string, expiresAt: Date): Promise<void> {
    this.#run('blockAccessToken', () => this.#sql.block.run(jti, expiresAt.getTime()));
  }

  /**
   * Whether `jti` is blocked at `now`.
   *
   * @example
   * if (await store.isAccessTokenBlocked(claims.jti, now)) refuse();
   */
  async isAccessTokenBlocked(jti: string, now: Date): Promise<boolean> {
    return this.#run('isAccessTokenBlocked', () => this.#sql.isBlocked.get(jti, now.getTime())) !== undefined;
  }

  /**
   * Moves the user's "revoked before" watermark forward to `at`.
   *
   * @example
   * await store.setRevokedBefore(userId, now);
   */
  async setRevokedBefore(userId: string, at: Date): Promise<void> {
    this.#run('setRevokedBefore', () => this.#sql.setRevokedBefore.run(userId, at.getTime()));
  }

  /**
   * The user's watermark, or null.
   *
   * @example
   * const before = await store.getRevokedBefore(userId);
   */
  async getRevokedBefore(userId: string): Promise<Date | null> {
    const at = this.#run('getRevokedBefore', () => this.#sql.getRevokedBefore.get(userId));
    return at === undefined ? null : new Date(at);
  }

  /**
   * One hit of `key` in its fixed window, as a single upsert: a row from an
   * older window starts over at 1.
   *
   * @example
   * const { count, resetAt } = await store.hitRateLimit(`login:${ip}`, 60, now);
   */
  async hitRateLimit(key: string, windowSeconds: number, now: Date): Promise<RateLimitHit> {
    const window = rateLimitWindow(now, windowSeconds);
    const row = this.#run('hitRateLimit', () =>
      this.#sql.hitRateLimit.get(key, window.startMs, window.resetAt.getTime()),
    );
    return { count: row?.count ?? 1, resetAt: new Date(row?.reset_at ?? window.resetAt.getTime()) };
  }

  /**
   * Deletes expired blocklist entries and ended rate-limit windows, and the
   * watermarks before `watermarksBefore` when it is given, in one transaction.
   *
   * @example
   * await store.purgeExpiredState(now, new Date(now.getTime() - (tokenTtl + clockSkew) * 1000));
   */
  async purgeExpiredState(before: Date, watermarksBefore?: Date): Promise<number> {
    const cutoff = before.getTime();
    return this.#run('purgeExpiredState', () =>
      this.database.transaction(
        () =>
          this.#sql.purgeBlocklist.run(cutoff).changes +
          this.#sql.purgeRateLimits.run(cutoff).changes +
          (watermarksBefore === undefined ? 0 : this.#sql.purgeWatermarks.run(watermarksBefore.getTime()).changes),
      )(),
    );
  }

  get #sql(): Statements {
    // Prepared at most once: in the constructor, or on first use when `migrate: false` left the table to the app.
    this.#statements ??= this.#run('prepare', () => prepareStatements(this.database, this.tableName));
    return this.#statements;
  }

  #migrate(): number[] {
    return this.#run('migrate', () => {
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
        .prepare<[string, number], number>(
          `SELECT 1 FROM ${SQLITE_MIGRATIONS_TABLE} WHERE table_name = ? COLLATE NOCASE AND version = ?`,
        )
        .pluck();
      const record = this.database.prepare<[string, number, string, number], void>(
        `INSERT INTO ${SQLITE_MIGRATIONS_TABLE} (table_name, version, name, applied_at) VALUES (?, ?, ?, ?)`,
      );
      const applied: number[] = [];
      for (const migration of sqliteMigrations) {
        const apply = this.database.transaction(() => {
          // Checked again under the write lock: another process may have applied it since we looked.
          if (isApplied.get(this.tableName, migration.version) !== undefined) {
            return;
          }
          this.database.exec(migration.up(this.tableName));
          record.run(this.tableName, migration.version, migration.name, this.#clock().getTime());
          applied.push(migration.version);
        });
        apply.immediate();
      }
      return applied;
    });
  }

  /** Runs driver work, turning any driver failure into a StoreError that keeps the SQL message in `cause` only. */
  #run<T>(operation: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      throw error instanceof StoreError ? error : new StoreError(operation, { cause: error });
    }
  }
}

/**
 * A {@link SqliteRefreshTokenStore} on a file it opens (and closes) or on a
 * better-sqlite3 database the app owns. Migrates unless `migrate: false`.
 *
 * @example
 * const store = createSqliteStore({ filename: 'var/jwt-refresh.sqlite' });
 * // or, sharing the app's connection:
 * const shared = createSqliteStore({ database: appDb, tableName: 'jwt_refresh_tokens' });
 */
export function createSqliteStore(options: SqliteStoreOptions): SqliteRefreshTokenStore {
  return new SqliteRefreshTokenStore(options);
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
    // WAL lets readers run alongside the one writer; NORMAL is durable in WAL except for
    // the last transactions on power loss, which for refresh tokens means re-login at worst.
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = NORMAL');
    database.pragma('busy_timeout = 5000');
    database.pragma('foreign_keys = ON');
    return database;
  } catch (error) {
    throw new StoreError('open', { cause: error });
  }
}

function prepareStatements(database: Database.Database, tableName: string): Statements {
  const t = `"${tableName}"`;
  const markRotated = database.prepare<[number, string, number, string], void>(
    `UPDATE ${t} SET rotated_at = ?, successor_hash = ?, last_used_at = ?
     WHERE token_hash = ? AND rotated_at IS NULL AND revoked_at IS NULL`,
  );
  const insert = database.prepare<[SqliteTokenRow], void>(
    `INSERT INTO ${t} (${TOKEN_COLUMNS.join(', ')}) VALUES (${TOKEN_COLUMNS.map((column) => `@${column}`).join(', ')})`,
  );
  const blocklist = `"${tableName}_blocklist"`;
  const watermarks = `"${tableName}_watermarks"`;
  const rateLimits = `"${tableName}_rate_limits"`;
  return {
    block: database.prepare<[string, number], void>(
      `INSERT INTO ${blocklist} (jti, expires_at) VALUES (?, ?)
       ON CONFLICT (jti) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)`,
    ),
    isBlocked: database.prepare<[string, number], number>(`SELECT 1 FROM ${blocklist} WHERE jti = ? AND expires_at > ?`).pluck(),
    setRevokedBefore: database.prepare<[string, number], void>(
      `INSERT INTO ${watermarks} (user_id, revoked_before) VALUES (?, ?)
       ON CONFLICT (user_id) DO UPDATE SET revoked_before = MAX(revoked_before, excluded.revoked_before)`,
    ),
    getRevokedBefore: database.prepare<[string], number>(`SELECT revoked_before FROM ${watermarks} WHERE user_id = ?`).pluck(),
    // One statement, so concurrent hits from several processes never lose a count.
    hitRateLimit: database.prepare<[string, number, number], { count: number; reset_at: number }>(
      `INSERT INTO ${rateLimits} (key, window_start, reset_at, count) VALUES (?, ?, ?, 1)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN window_start = excluded.window_start THEN count + 1 ELSE 1 END,
         reset_at = excluded.reset_at,
         window_start = excluded.window_start
       RETURNING count, reset_at`,
    ),
    purgeBlocklist: database.prepare<[number], void>(`DELETE FROM ${blocklist} WHERE expires_at <= ?`),
    purgeRateLimits: database.prepare<[number], void>(`DELETE FROM ${rateLimits} WHERE reset_at <= ?`),
    purgeWatermarks: database.prepare<[number], void>(`DELETE FROM ${watermarks} WHERE revoked_before < ?`),
    insert,
    findByHash: database.prepare<[string], SqliteTokenRow>(`SELECT * FROM ${t} WHERE token_hash = ?`),
    touch: database.prepare<[number, number, string], void>(
      `UPDATE ${t} SET valid_until = ?, last_used_at = ?
       WHERE token_hash = ? AND rotated_at IS NULL AND revoked_at IS NULL`,
    ),
    rotate: database.transaction((parentHash: string, successor: SqliteTokenRow, rotatedAt: number): RotateOutcome => {
      // The WHERE clause is the compare-and-set: of racing rotations only one finds the parent unrotated.
      if (markRotated.run(rotatedAt, successor.token_hash, rotatedAt, parentHash).changes !== 1) {
        return 'conflict';
      }
      insert.run(successor);
      return 'rotated';
    }),
    revoke: database.prepare<[number, string], void>(
      `UPDATE ${t} SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL`,
    ),
    revokeFamily: database.prepare<[number, string], void>(
      `UPDATE ${t} SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`,
    ),
    revokeUser: database.prepare<[number, string], void>(
      `UPDATE ${t} SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`,
    ),
    // One pass over the user's rows (user_id index) aggregates each family: its first creation,
    // its latest use and the generation of its live token; the join then fetches that token.
    listFamilies: database.prepare<[{ userId: string; now: number }], FamilyRow<number>>(
      `SELECT cur.family_id, cur.user_id, cur.user_identifier, fam.first_created_at, fam.last_used_at,
              cur.valid_until, cur.family_deadline, cur.user_agent, cur.ip, cur.metadata
       FROM (
         SELECT family_id,
                MIN(created_at) AS first_created_at,
                MAX(last_used_at) AS last_used_at,
                MAX(CASE WHEN rotated_at IS NULL AND revoked_at IS NULL AND valid_until > @now
                         THEN generation END) AS live_generation
         FROM ${t} WHERE user_id = @userId GROUP BY family_id
       ) AS fam
       JOIN ${t} AS cur
         ON cur.family_id = fam.family_id AND cur.user_id = @userId AND cur.generation = fam.live_generation
       WHERE cur.rotated_at IS NULL AND cur.revoked_at IS NULL AND cur.valid_until > @now
       ORDER BY fam.first_created_at DESC, cur.family_id ASC`,
    ),
    deleteExpired: database.prepare<[number, number], void>(
      `DELETE FROM ${t} WHERE id IN (SELECT id FROM ${t} WHERE valid_until < ? LIMIT ?)`,
    ),
    count: database.prepare<[], number>(`SELECT COUNT(*) FROM ${t}`).pluck(),
  };
}

function toMillis(date: Date): number {
  return date.getTime();
}

function toDate(millis: number): Date {
  return new Date(millis);
}

