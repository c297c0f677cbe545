/**
 * The PostgreSQL store, on node-postgres (`pg`) and its connection pool.
 *
 * Every method is one statement, or one short READ COMMITTED transaction,
 * on a pooled connection, so several app instances can share the database.
 * Migrations run lazily before the first operation (a constructor cannot
 * await) or when {@link PostgresRefreshTokenStore.migrate} is called.
 */
import pg from 'pg';
import { ConfigError, StoreError } from '../errors.js';
import { systemClock, type Clock } from '../lib/clock.js';
import {
  POSTGRES_MAX_TABLE_NAME_LENGTH,
  POSTGRES_MIGRATION_LOCK_KEY,
  POSTGRES_MIGRATIONS_TABLE,
  postgresMigrations,
  qualified,
} from './postgres-migrations.js';
import { rateLimitWindow } from './rate-limit-window.js';
import {
  INSTANT_COLUMNS,
  TOKEN_COLUMNS,
  fromFamilyRow,
  fromRow,
  insertValues,
  type FamilyRow,
  type TokenColumn,
  type TokenRow,
} from './record-codec.js';
import type { FamilySummary, RateLimitHit, RefreshTokenRecord, RefreshTokenStore, RotateOutcome } from './store.js';
import { assertBatchSize } from './store-records.js';

/** Options of {@link createPostgresStore}. Give exactly one of `url` and `pool`. */
export interface PostgresStoreOptions {
  /**
   * Connection string (`postgres://user@host:5432/db`). The store opens a
   * `pg.Pool` on it (pg's defaults: up to 10 connections) and `close()` ends it.
   */
  url?: string;
  /** A pool the app owns and configures: the store borrows connections and `close()` leaves it open. */
  pool?: pg.Pool;
  /**
   * Token table, an SQL identifier of at most 38 characters (so every derived
   * name such as `<table>_rate_limits_reset_at_idx` fits PostgreSQL's 63). Default `refresh_tokens`.
   */
  tableName?: string;
  /** Schema of the store's tables, created by the first migration when missing. Default `public`. */
  schema?: string;
  /**
   * Apply missing migrations before the first operation. Default true; with
   * false, run {@link PostgresRefreshTokenStore.migrate} yourself (e.g. in a deploy step).
   */
  migrate?: boolean;
  /** Source of the `applied_at` time of migrations. Default the wall clock. */
  clock?: Clock;
}

/**
 * A numeric column as pg hands it over: int4 arrives as a number, int8 (our
 * epoch milliseconds and counts) as a string by default, or as whatever an
 * app's global type parser makes of it (number, bigint); `Number()` takes all.
 */
type Numeric = number | string | bigint;

/**
 * The token table's row as the store selects it: instants as epoch
 * milliseconds, and `generation` {@link Numeric} too, since an app's type
 * parser may turn int4 into something else.
 */
type PostgresTokenRow = Omit<TokenRow<Numeric>, 'generation'> & { generation: Numeric };

/** A parameter as the store sends it: instants go as ISO 8601 UTC strings, exact to the millisecond. */
type Param = string | number | null;

/** The SQL of every operation, built once for the store's schema and table. */
type Statements = ReturnType<typeof buildStatements>;

const DEFAULT_TABLE_NAME = 'refresh_tokens';
const DEFAULT_SCHEMA = 'public';
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/**
 * SQLSTATEs after which the whole statement or transaction was rolled back and
 * may simply run again: serialization_failure (only under an app's stronger
 * default isolation, since the store's own transactions pin READ COMMITTED) and
 * deadlock_detected (revokeFamily and revokeUser lock overlapping rows in
 * different orders).
 */
const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 10;

/**
 * A {@link RefreshTokenStore} on PostgreSQL through a `pg.Pool`. Build it with
 * {@link createPostgresStore}.
 *
 * @example
 * const store = new PostgresRefreshTokenStore({ url: process.env.DATABASE_URL });
 * const record = await store.findByHash(hash);
 */
export class PostgresRefreshTokenStore implements RefreshTokenStore {
  /** The pool, exposed for tests and operators that inspect raw rows. */
  readonly pool: pg.Pool;
  /** The validated token table name. */
  readonly tableName: string;
  /** The validated schema name. */
  readonly schema: string;
  readonly #ownsPool: boolean;
  readonly #clock: Clock;
  readonly #sql: Statements;
  /** Settles when the schema is up to date; undefined until the first operation, or after a failed migration so the next one retries. */
  #ready: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  /**
   * Validates the options and opens (or adopts) the pool. Nothing touches the
   * server yet: unless `migrate: false`, the first operation migrates, and a
   * failed migration is retried by the next one.
   *
   * @example
   * const store = new PostgresRefreshTokenStore({ pool: appPool, schema: 'auth', tableName: 'jwt_refresh_tokens' });
   */
  constructor(options: PostgresStoreOptions) {
    this.tableName = validIdentifier('tableName', options.tableName ?? DEFAULT_TABLE_NAME);
    if (this.tableName.length > POSTGRES_MAX_TABLE_NAME_LENGTH) {
      throw new ConfigError(
        `stores.postgres.tableName: expected at most ${POSTGRES_MAX_TABLE_NAME_LENGTH} characters, so derived index and table names fit PostgreSQL's 63`,
      );
    }
    this.schema = validIdentifier('schema', options.schema ?? DEFAULT_SCHEMA);
    if ((options.url === undefined) === (options.pool === undefined)) {
      throw new ConfigError('stores.postgres: expected exactly one of `url` and `pool`');
    }
    if (options.url !== undefined && (typeof options.url !== 'string' || options.url === '')) {
      throw new ConfigError('stores.postgres.url: expected a non-empty connection string');
    }
    this.#clock = options.clock ?? systemClock;
    this.#sql = buildStatements(this.schema, this.tableName);
    if (options.pool !== undefined) {
      this.pool = options.pool;
      this.#ownsPool = false;
    } else {
      this.pool = new pg.Pool({ connectionString: options.url });
      // An idle connection the server drops makes the pool emit 'error'; unhandled, that
      // would crash the process. The pool discards that connection and opens a fresh one.
      this.pool.on('error', () => {});
      this.#ownsPool = true;
    }
    this.#ready = options.migrate === false ? Promise.resolve() : undefined;
  }

  /**
   * Applies the migrations this table lacks, each in its own transaction that
   * takes `pg_advisory_xact_lock` and then re-checks `jwt_refresh_migrations`,
   * so two processes migrating at once apply each version once. Answers the
   * versions this call applied (none when up to date).
   *
   * @example
   * const store = createPostgresStore({ url, migrate: false });
   * const applied = await store.migrate(); // e.g. [1, 2]
   */
  async migrate(): Promise<number[]> {
    const applied = await this.#attempt('migrate', () => this.#migrate());
    this.#ready = Promise.resolve();
    return applied;
  }

  /**
   * Stores a new record; rejects with a {@link StoreError} when its hash (or id) exists.
   *
   * @example
   * await store.insert(record);
   */
  async insert(record: RefreshTokenRecord): Promise<void> {
    await this.#run('insert', () => this.#query(this.#sql.insert, insertValues(record, instant)));
  }

  /**
   * The record with this hash, whatever its state, or null.
   *
   * @example
   * const record = await store.findByHash(hash);
   */
  async findByHash(tokenHash: string): Promise<RefreshTokenRecord | null> {
    const rows = await this.#run('findByHash', () => this.#query<PostgresTokenRow>(this.#sql.findByHash, [tokenHash]));
    const row = rows.rows[0];
    return row === undefined ? null : fromRow({ ...row, generation: Number(row.generation) }, toDate);
  }

  /**
   * Extends a record that is neither rotated nor revoked; false when there is none.
   *
   * @example
   * await store.touch(hash, newValidUntil, now);
   */
  async touch(tokenHash: string, validUntil: Date, lastUsedAt: Date): Promise<boolean> {
    const result = await this.#run('touch', () =>
      this.#query(this.#sql.touch, [instant(validUntil), instant(lastUsedAt), tokenHash]),
    );
    return result.rowCount === 1;
  }

  /**
   * The compare-and-set of rotation in one READ COMMITTED transaction: the
   * guarded `UPDATE ... RETURNING` marks the parent, and only when it returned
   * a row is the successor inserted. A racing rotation blocks on the parent's
   * row lock, re-evaluates the guard once the winner commits and matches no
   * row, so it answers 'conflict' without any serialization error. A failed
   * insert rolls the parent back too.
   *
   * @example
   * if ((await store.rotate(parentHash, successor, now)) === 'conflict') treatAsReuse();
   */
  async rotate(parentHash: string, successor: RefreshTokenRecord, rotatedAt: Date): Promise<RotateOutcome> {
    const params = [...insertValues(successor, instant), instant(rotatedAt), parentHash];
    const result = await this.#run('rotate', () => this.#query(this.#sql.rotate, params));
    return result.rowCount === 1 ? 'rotated' : 'conflict';
  }

  /**
   * Revokes one record unless it is revoked already; answers whether it changed.
   *
   * @example
   * await store.revoke(hash, now);
   */
  async revoke(tokenHash: string, revokedAt: Date): Promise<boolean> {
    const result = await this.#run('revoke', () => this.#query(this.#sql.revoke, [instant(revokedAt), tokenHash]));
    return result.rowCount === 1;
  }

  /**
   * Revokes every not-yet-revoked record of a family; answers how many changed.
   *
   * @example
   * await store.revokeFamily(familyId, now);
   */
  async revokeFamily(familyId: string, revokedAt: Date): Promise<number> {
    return this.#run('revokeFamily', () => this.#revokeUntilStable(this.#sql.revokeFamily, [instant(revokedAt), familyId]));
  }

  /**
   * Revokes every not-yet-revoked record of a user; answers how many changed.
   *
   * @example
   * await store.revokeUser(userId, now);
   */
  async revokeUser(userId: string, revokedAt: Date): Promise<number> {
    return this.#run('revokeUser', () => this.#revokeUntilStable(this.#sql.revokeUser, [instant(revokedAt), userId]));
  }

  /**
   * Runs a revoking UPDATE again until it changes nothing. Under READ COMMITTED an
   * UPDATE that waits on the parent row a concurrent rotation holds re-checks that
   * row once the rotation commits, but never sees the successor the rotation
   * inserted: its snapshot predates it, so the successor would stay live. The next
   * statement takes a new snapshot and catches it; a pass that changes nothing
   * proves no live record of the family (or user) is left, since a rotation still
   * in flight holds an unrevoked parent that such a pass would have waited for.
   */
  async #revokeUntilStable(sql: string, values: Param[]): Promise<number> {
    let total = 0;
    for (;;) {
      const changed = (await this.#query(sql, values)).rowCount ?? 0;
      if (changed === 0) return total;
      total += changed;
    }
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
    const result = await this.#run('listFamilies', () =>
      this.#query<FamilyRow<Numeric>>(this.#sql.listFamilies, [userId, instant(now)]),
    );
    return result.rows.map((row) => fromFamilyRow(row, toDate));
  }

  /**
   * Deletes up to `batchSize` records valid until before `before`, oldest
   * first through the `valid_until` index; call again until it answers 0.
   * `FOR UPDATE SKIP LOCKED` lets two purgers take disjoint batches instead of
   * queueing on the same rows; a row locked by another purger is that
   * purger's to delete.
   *
   * @example
   * while ((await store.deleteExpired(now, 1000)) > 0) {}
   */
  async deleteExpired(before: Date, batchSize: number): Promise<number> {
    assertBatchSize(batchSize);
    const result = await this.#run('deleteExpired', () =>
      this.#query(this.#sql.deleteExpired, [instant(before), batchSize]),
    );
    return result.rowCount ?? 0;
  }

  /**
   * Number of stored records, whatever their state.
   *
   * @example
   * const total = await store.count();
   */
  async count(): Promise<number> {
    const result = await this.#run('count', () => this.#query<{ n: Numeric }>(this.#sql.count, []));
    return Number(result.rows[0]?.n ?? 0);
  }

  /**
   * Ends the pool if the store opened it; an app-owned pool stays open.
   * Safe to call twice.
   *
   * @example
   * await store.close();
   */
  async close(): Promise<void> {
    if (this.#ownsPool) {
      this.#closed ??= this.#attempt('close', () => this.pool.end());
      await this.#closed;
    }
  }

  /**
   * Blocks `jti` until `expiresAt`; a later expiry wins.
   *
   * @example
   * await store.blockAccessToken(claims.jti, new Date(claims.exp * 1000));
   */
  async blockAccessToken(jti: string, expiresAt: Date): Promise<void> {
    await this.#run('blockAccessToken', () => this.#query(this.#sql.block, [jti, instant(expiresAt)]));
  }

  /**
   * Whether `jti` is blocked at `now`.
   *
   * @example
   * if (await store.isAccessTokenBlocked(claims.jti, now)) refuse();
   */
  async isAccessTokenBlocked(jti: string, now: Date): Promise<boolean> {
    const result = await this.#run('isAccessTokenBlocked', () => this.#query(this.#sql.isBlocked, [jti, instant(now)]));
    return result.rowCount === 1;
  }

  /**
   * Moves the user's "revoked before" watermark forward to `at`.
   *
   * @example
   * await store.setRevokedBefore(userId, now);
   */
  async setRevokedBefore(userId: string, at: Date): Promise<void> {
    await this.#run('setRevokedBefore', () => this.#query(this.#sql.setRevokedBefore, [userId, instant(at)]));
  }

  /**
   * The user's watermark, or null.
   *
   * @example
   * const before = await store.getRevokedBefore(userId);
   */
  async getRevokedBefore(userId: string): Promise<Date | null> {
    const result = await this.#run('getRevokedBefore', () =>
      this.#query<{ revoked_before: Numeric }>(this.#sql.getRevokedBefore, [userId]),
    );
    const row = result.rows[0];
    return row === undefined ? null : new Date(Number(row.revoked_before));
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
    const result = await this.#run('hitRateLimit', () =>
      this.#query<{ count: Numeric; reset_at: Numeric }>(this.#sql.hitRateLimit, [
        key,
        new Date(window.startMs).toISOString(),
        instant(window.resetAt),
      ]),
    );
    const row = result.rows[0];
    return {
      count: Number(row?.count ?? 1),
      resetAt: row === undefined ? window.resetAt : new Date(Number(row.reset_at)),
    };
  }

  /**
   * Deletes expired blocklist entries and ended rate-limit windows, and the
   * watermarks before `watermarksBefore` when it is given, in one statement.
   *
   * @example
   * await store.purgeExpiredState(now, new Date(now.getTime() - (tokenTtl + clockSkew) * 1000));
   */
  async purgeExpiredState(before: Date, watermarksBefore?: Date): Promise<number> {
    const result = await this.#run('purgeExpiredState', () =>
      this.#query<{ removed: Numeric }>(this.#sql.purgeExpiredState, [instant(before), nullableInstant(watermarksBefore ?? null)]),
    );
    return Number(result.rows[0]?.removed ?? 0);
  }

  async #migrate(): Promise<number[]> {
    const names = { schema: this.schema, table: this.tableName };
    const migrations = qualified(this.schema, POSTGRES_MIGRATIONS_TABLE);
    const applied: number[] = [];
    for (const migration of postgresMigrations) {
      const didApply = await this.#transaction(async (client) => {
        // Held until COMMIT: a second migrator waits here, then (READ COMMITTED taking a
        // fresh snapshot per statement) sees the version the first one recorded.
        await client.query(`SELECT pg_advisory_xact_lock(${POSTGRES_MIGRATION_LOCK_KEY})`);
        // Checked before creating rather than IF NOT EXISTS: CREATE SCHEMA needs the CREATE
        // privilege on the database even when the schema exists, and a role that can only
        // use an existing schema must still be able to migrate. Row counts, not selected
        // booleans, so an app pool's custom type parsers cannot fool the checks.
        const hasSchema = await client.query('SELECT 1 WHERE to_regnamespace($1) IS NOT NULL', [`"${this.schema}"`]);
        if (hasSchema.rowCount === 0) {
          await client.query(`CREATE SCHEMA "${this.schema}"`);
        }
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
        const seen = await client.query(`SELECT 1 FROM ${migrations} WHERE table_name = $1 AND version = $2`, [
          this.tableName,
          migration.version,
        ]);
        if (seen.rowCount !== 0) {
          return false;
        }
        await client.query(migration.up(names));
        await client.query(
          `INSERT INTO ${migrations} (table_name, version, name, applied_at) VALUES ($1, $2, $3, $4)`,
          [this.tableName, migration.version, migration.name, instant(this.#clock())],
        );
        return true;
      });
      if (didApply) {
        applied.push(migration.version);
      }
    }
    return applied;
  }

  /** Runs one operation once the schema is ready (migrating lazily on first use). */
  async #run<T>(operation: string, work: () => Promise<T>): Promise<T> {
    await this.#whenReady();
    return this.#attempt(operation, work);
  }

  #whenReady(): Promise<void> {
    if (this.#closed !== undefined) {
      return Promise.reject(new StoreError('closed', { cause: new Error('the store was closed') }));
    }
    if (this.#ready === undefined) {
      const pending = this.#attempt('migrate', () => this.#migrate()).then(() => undefined);
      this.#ready = pending;
      // Forget a failure so the next operation tries again (the server may be back by then).
      pending.catch(() => {
        if (this.#ready === pending) {
          this.#ready = undefined;
        }
      });
    }
    return this.#ready;
  }

  /**
   * Runs driver work, again when PostgreSQL rolled it back for a transient
   * conflict (see RETRYABLE_SQLSTATES), and turns any failure into a
   * StoreError that keeps the driver's message, which may quote SQL or values, in `cause` only.
   */
  async #attempt<T>(operation: string, work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await work();
      } catch (error) {
        if (attempt < MAX_ATTEMPTS && isRetryable(error)) {
          // A little random spread so the losers of one conflict do not collide again in step.
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 2 ** Math.min(attempt, 6)));
          continue;
        }
        throw error instanceof StoreError ? error : new StoreError(operation, { cause: error });
      }
    }
  }

  #query<R extends object = Record<string, unknown>>(text: string, values: Param[]): Promise<pg.QueryResult<R>> {
    return this.pool.query<R>(text, values);
  }

  /**
   * Runs `work` in one transaction on one pooled connection. READ COMMITTED is
   * pinned, whatever the database's default isolation, because rotation and
   * migration rely on its per-statement snapshots. A connection whose
   * ROLLBACK fails is destroyed instead of going back to the pool mid-transaction.
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
 * A {@link PostgresRefreshTokenStore} on a pool it opens from `url` (and ends
 * on `close()`) or on a `pg.Pool` the app owns. Migrates before the first
 * operation unless `migrate: false`.
 *
 * @example
 * const store = createPostgresStore({ url: 'postgres://app@db.internal:5432/app' });
 * // or, sharing the app's pool, in its own schema:
 * const shared = createPostgresStore({ pool: appPool, schema: 'auth', tableName: 'jwt_refresh_tokens' });
 */
export function createPostgresStore(options: PostgresStoreOptions): PostgresRefreshTokenStore {
  return new PostgresRefreshTokenStore(options);
}

function validIdentifier(option: string, value: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new ConfigError(
      `stores.postgres.${option}: expected an SQL identifier (a letter or "_", then letters, digits or "_", 63 characters at most)`,
    );
  }
  return value;
}

/** Epoch milliseconds of a `timestamptz(3)` expression, computed in SQL so no session setting or type parser gets a say. */
function ms(expression: string): string {
  return `(extract(epoch FROM ${expression}) * 1000)::int8`;
}

function columnType(column: TokenColumn): string {
  if (INSTANT_COLUMNS.has(column)) return 'timestamptz';
  return column === 'generation' ? 'integer' : 'text';
}

function buildStatements(schema: string, tableName: string) {
  const t = qualified(schema, tableName);
  const blocklist = qualified(schema, `${tableName}_blocklist`);
  const watermarks = qualified(schema, `${tableName}_watermarks`);
  const rateLimits = qualified(schema, `${tableName}_rate_limits`);
  const selectList = TOKEN_COLUMNS.map((column) =>
    INSTANT_COLUMNS.has(column) ? `${ms(column)} AS ${column}` : column,
  ).join(', ');
  const placeholders = TOKEN_COLUMNS.map((_, i) => `$${i + 1}`).join(', ');
  return {
    insert: `INSERT INTO ${t} (${TOKEN_COLUMNS.join(', ')}) VALUES (${placeholders})`,
    findByHash: `SELECT ${selectList} FROM ${t} WHERE token_hash = $1`,
    touch: `UPDATE ${t} SET valid_until = $1, last_used_at = $2
            WHERE token_hash = $3 AND rotated_at IS NULL AND revoked_at IS NULL`,
    // ONE statement, so one round trip and atomic by itself. The UPDATE's WHERE is the
    // compare-and-set: under READ COMMITTED a racing rotation waits for the first one's row lock,
    // re-checks the WHERE on the committed row and matches nothing, so its INSERT (fed by the
    // UPDATE's rows) inserts nothing: 'conflict'. A taken successor hash fails the whole statement,
    // leaving the parent unrotated. Casts: parameters of a SELECT list are not typed by the INSERT.
    rotate: `WITH parent AS (
               UPDATE ${t} SET rotated_at = $${TOKEN_COLUMNS.length + 1}, successor_hash = $2, last_used_at = $${TOKEN_COLUMNS.length + 1}
               WHERE token_hash = $${TOKEN_COLUMNS.length + 2} AND rotated_at IS NULL AND revoked_at IS NULL
               RETURNING id
             )
             INSERT INTO ${t} (${TOKEN_COLUMNS.join(', ')})
             SELECT ${TOKEN_COLUMNS.map((column, i) => `$${i + 1}::${columnType(column)}`).join(', ')} FROM parent
             RETURNING id`,
    revoke: `UPDATE ${t} SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL`,
    revokeFamily: `UPDATE ${t} SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL`,
    revokeUser: `UPDATE ${t} SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`,
    // One pass over the user's rows (user_id index) aggregates each family: its first creation,
    // its latest use and the generation of its live token; the join then fetches that token.
    listFamilies: `
      SELECT cur.family_id, cur.user_id, cur.user_identifier,
             ${ms('fam.first_created_at')} AS first_created_at, ${ms('fam.last_used_at')} AS last_used_at,
             ${ms('cur.valid_until')} AS valid_until, ${ms('cur.family_deadline')} AS family_deadline,
             cur.user_agent, cur.ip, cur.metadata
      FROM (
        SELECT family_id,
               MIN(created_at) AS first_created_at,
               MAX(last_used_at) AS last_used_at,
               MAX(CASE WHEN rotated_at IS NULL AND revoked_at IS NULL AND valid_until > $2
                        THEN generation END) AS live_generation
        FROM ${t} WHERE user_id = $1 GROUP BY family_id
      ) AS fam
      JOIN ${t} AS cur
        ON cur.family_id = fam.family_id AND cur.user_id = $1 AND cur.generation = fam.live_generation
      WHERE cur.rotated_at IS NULL AND cur.revoked_at IS NULL AND cur.valid_until > $2
      ORDER BY fam.first_created_at DESC, cur.family_id ASC`,
    deleteExpired: `
      DELETE FROM ${t} WHERE id IN (
        SELECT id FROM ${t} WHERE valid_until < $1 ORDER BY valid_until LIMIT $2 FOR UPDATE SKIP LOCKED
      )`,
    count: `SELECT count(*) AS n FROM ${t}`,
    block: `INSERT INTO ${blocklist} AS b (jti, expires_at) VALUES ($1, $2)
            ON CONFLICT (jti) DO UPDATE SET expires_at = GREATEST(b.expires_at, EXCLUDED.expires_at)`,
    isBlocked: `SELECT 1 FROM ${blocklist} WHERE jti = $1 AND expires_at > $2`,
    setRevokedBefore: `INSERT INTO ${watermarks} AS w (user_id, revoked_before) VALUES ($1, $2)
                       ON CONFLICT (user_id) DO UPDATE SET revoked_before = GREATEST(w.revoked_before, EXCLUDED.revoked_before)`,
    getRevokedBefore: `SELECT ${ms('revoked_before')} AS revoked_before FROM ${watermarks} WHERE user_id = $1`,
    // One statement, so concurrent hits from several instances never lose a count: a racing
    // insert of the same new key waits for the first and then takes the DO UPDATE branch.
    hitRateLimit: `
      INSERT INTO ${rateLimits} AS r (key, window_start, reset_at, count) VALUES ($1, $2, $3, 1)
      ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN r.window_start = EXCLUDED.window_start THEN r.count + 1 ELSE 1 END,
        reset_at = EXCLUDED.reset_at,
        window_start = EXCLUDED.window_start
      RETURNING r.count, ${ms('r.reset_at')} AS reset_at`,
    purgeExpiredState: `
      WITH blocked AS (DELETE FROM ${blocklist} WHERE expires_at <= $1 RETURNING 1),
           windows AS (DELETE FROM ${rateLimits} WHERE reset_at <= $1 RETURNING 1),
           -- A null $2 (no cutoff given) matches no row: watermarks are kept.
           watermarks AS (DELETE FROM ${watermarks} WHERE revoked_before < $2 RETURNING 1)
      SELECT (SELECT count(*) FROM blocked) + (SELECT count(*) FROM windows) + (SELECT count(*) FROM watermarks) AS removed`,
  };
}

/**
 * An instant as an ISO 8601 UTC string: unambiguous whatever the session's
 * TimeZone, and exact to the millisecond (pg would render a Date in the
 * process's local zone instead).
 */
function instant(date: Date): string {
  return date.toISOString();
}

function nullableInstant(date: Date | null): string | null {
  return date === null ? null : instant(date);
}

function toDate(millis: Numeric): Date {
  return new Date(Number(millis));
}

function isRetryable(error: unknown): boolean {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' && RETRYABLE_SQLSTATES.has(code);
}

