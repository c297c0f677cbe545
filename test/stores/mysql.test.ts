/**
 * The MySQL / MariaDB store against a real server: the conformance and
 * lifecycle suites, then what only this store has (migrations under GET_LOCK,
 * the schema, instants whatever the pool's settings, retries of deadlocks and
 * lock-wait timeouts).
 *
 * Server: `MYSQL_URL`, default `mysql://root@127.0.0.1:3306/test`. Every table
 * this file creates starts with `rt_<pid>_<random>` and is dropped in afterAll.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import type { Pool, PoolConnection, PoolOptions, RowDataPacket } from 'mysql2/promise';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { createMysqlStore, type MysqlRefreshTokenStore, type MysqlStoreOptions } from '../../src/stores/mysql.js';
import { MYSQL_MIGRATION_LOCK, mysqlMigrations } from '../../src/stores/mysql/mysql-migrations.js';
import type { RefreshTokenRecord } from '../../src/stores/store.js';
import { runStoreConformance } from '../conformance/store.suite.js';
import { runStoreLifecycle, trackedNames } from '../conformance/store-lifecycle.suite.js';
import { at, HOUR, labelHash as hashOf, recordMaker } from '../support/token-records.js';

const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const START_HINT =
  'start MariaDB with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` ' +
  '(not installed: `apt-get update && apt-get install -y mariadb-server`), or point MYSQL_URL at a MySQL 8 / MariaDB server';
/** Prefix of every table of this file run, so parallel runs never collide. */
const RUN = `rt_${process.pid}_${randomBytes(3).toString('hex')}`;
const CONFORMANCE_TABLE = RUN;
const { next: freshTable, created: createdTables } = trackedNames(RUN);

function redacted(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.href;
}

let adminPromise: Promise<Pool> | undefined;

/** The test's own pool, for raw rows and cleanup. Rejects, failing every case, when the server is unreachable. */
function admin(): Promise<Pool> {
  adminPromise ??= (async () => {
    const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: 4, timezone: 'Z' });
    try {
      await pool.query('SELECT 1');
      return pool;
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new Error(`cannot reach MySQL/MariaDB at ${redacted(MYSQL_URL)} (${String(error)}): ${START_HINT}`);
    }
  })();
  return adminPromise;
}

async function rows<Row = Record<string, unknown>>(sql: string, values: unknown[] = []): Promise<Row[]> {
  const [result] = await (await admin()).query<RowDataPacket[]>(sql, values);
  return result as unknown as Row[];
}

async function migrationRows(tableName: string): Promise<Array<{ version: number; name: string; applied_at: Date }>> {
  if (!(await tableExists('jwt_refresh_migrations'))) return [];
  // The admin pool reads DATETIME as UTC (timezone 'Z'), so a matching instant proves UTC storage.
  return rows('SELECT version, name, applied_at FROM jwt_refresh_migrations WHERE table_name = ? ORDER BY version', [tableName]);
}

async function tableExists(tableName: string): Promise<boolean> {
  return (await rows('SHOW TABLES LIKE ?', [tableName])).length > 0;
}

afterAll(async () => {
  if (adminPromise === undefined) return;
  const pool = await adminPromise.catch(() => undefined);
  if (pool === undefined) return;
  try {
    for (const table of [CONFORMANCE_TABLE, ...createdTables]) {
      await pool.query(`DROP TABLE IF EXISTS \`${table}\`, \`${table}_blocklist\`, \`${table}_watermarks\`, \`${table}_rate_limits\``);
    }
    // Under the migrators' lock, so a store migrating elsewhere never loses the table between its create and insert.
    const connection = await pool.getConnection();
    try {
      await connection.query('SELECT GET_LOCK(?, 30)', [MYSQL_MIGRATION_LOCK]);
      if (await tableExists('jwt_refresh_migrations')) {
        await connection.query('DELETE FROM jwt_refresh_migrations WHERE table_name LIKE ?', [`${RUN}%`]);
        const [[left]] = await connection.query<RowDataPacket[]>('SELECT COUNT(*) AS n FROM jwt_refresh_migrations');
        if (Number(left?.n) === 0) await connection.query('DROP TABLE jwt_refresh_migrations');
      }
    } finally {
      await connection.query('SELECT RELEASE_LOCK(?)', [MYSQL_MIGRATION_LOCK]);
      connection.release();
    }
  } finally {
    await pool.end();
  }
});

let conformanceTableReady: Promise<unknown> | undefined;

runStoreConformance('mysql', async () => {
  const pool = await admin();
  // Migrated once for the file; each case's store still runs its own (no-op) lazy migration.
  conformanceTableReady ??= createMysqlStore({ pool, tableName: CONFORMANCE_TABLE }).migrate();
  await conformanceTableReady;
  // A store that owns its pool (mysql2's default 10 connections), so 50 parallel rotations really race.
  const store = createMysqlStore({ url: MYSQL_URL, tableName: CONFORMANCE_TABLE });
  return {
    store,
    rawRows: () => rows(`SELECT * FROM \`${CONFORMANCE_TABLE}\``),
    cleanup: async () => {
      await store.close();
      for (const suffix of ['', '_blocklist', '_watermarks', '_rate_limits']) {
        await pool.query(`DELETE FROM \`${CONFORMANCE_TABLE}${suffix}\``);
      }
    },
  };
});

function unreachableUrl(): string {
  const url = new URL(MYSQL_URL);
  url.port = '1';
  return url.href;
}

runStoreLifecycle('mysql', {
  setup: async () => void (await admin()),
  create: (options) => createMysqlStore(options as MysqlStoreOptions),
  table: { option: 'tableName', maxLength: 52, fresh: freshTable },
  connection: {
    owned: () => ({ url: MYSQL_URL }),
    shared: async () => {
      const pool = mysql.createPool({ uri: MYSQL_URL });
      return {
        options: { pool },
        isOpen: async () => (await pool.query<RowDataPacket[]>('SELECT 1 AS one'))[0][0]?.one === 1,
        close: () => pool.end(),
      };
    },
    isClosed: (store) =>
      store.pool.query('SELECT 1').then(
        () => false,
        () => true,
      ),
    failsAfterClose: true,
  },
  migrations: {
    mode: 'lazy',
    steps: mysqlMigrations,
    needsSchema: true,
    records: async (table) =>
      (await migrationRows(table)).map((row) => ({ version: row.version, name: row.name, appliedAt: row.applied_at })),
    foreignTable: {
      create: async (table) => {
        await rows(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY, refresh_token VARCHAR(128), username VARCHAR(255), valid DATETIME)`);
      },
      drop: async (table) => {
        await rows(`DROP TABLE \`${table}\``);
      },
    },
    withoutMetadata: async (table) => {
      await rows(`ALTER TABLE \`${table}\` DROP COLUMN metadata`);
      await rows('DELETE FROM jwt_refresh_migrations WHERE table_name = ? AND version = 3', [table]);
    },
  },
  driverFailure: {
    break: async (_store, table) => {
      await rows(`DROP TABLE \`${table}\``);
    },
    cause: { code: 'ER_NO_SUCH_TABLE' },
  },
  unreachable: { options: async () => ({ url: unreachableUrl() }), cause: /ECONNREFUSED/ },
});

/** This file's records: a one-step label hash and the bare `alice` identifier. */
const record = recordMaker({ hash: hashOf, userIdentifier: 'alice' });

function successorOf(parent: RefreshTokenRecord, label: string): RefreshTokenRecord {
  return record(label, { familyId: parent.familyId, generation: parent.generation + 1, createdAt: at(HOUR) });
}

/**
 * Polls `check` until it holds; for waiting on the server's lock state, not on time. InnoDB
 * refreshes its INNODB_TRX snapshot only when nobody read it for 100 ms, hence the pace.
 */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i += 1) {
    if (await check()) return;
    await sleep(150);
  }
  throw new Error(`timed out waiting until ${what}`);
}

/** InnoDB transactions of these connection threads that wait for a lock, by transaction id. */
async function waitingTransactions(threadIds: Set<number>): Promise<string[]> {
  const trx = await rows<{ trx_id: string | number; trx_mysql_thread_id: number }>(
    "SELECT trx_id, trx_mysql_thread_id FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'",
  );
  return trx.filter((t) => threadIds.has(Number(t.trx_mysql_thread_id))).map((t) => String(t.trx_id));
}

/** An app-owned pool that records the thread id of every connection it hands out. */
function appPool(connectionLimit: number, extra: PoolOptions = {}): { pool: Pool; threadIds: Set<number> } {
  const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit, ...extra });
  const threadIds = new Set<number>();
  pool.on('acquire', (connection) => {
    threadIds.add(connection.threadId);
  });
  return { pool, threadIds };
}

describe('MySQL store', () => {
  const toClose: Array<{ close?: () => Promise<void>; end?: () => Promise<void> }> = [];
  const toRelease: PoolConnection[] = [];

  function track<T extends MysqlRefreshTokenStore>(store: T): T {
    toClose.push(store);
    return store;
  }

  function trackPool(pool: Pool): Pool {
    toClose.push(pool);
    return pool;
  }

  afterEach(async () => {
    for (const connection of toRelease.splice(0)) {
      await connection.query('ROLLBACK').catch(() => undefined);
      connection.release();
    }
    // Stores first: an app-owned pool must outlive the stores on it.
    for (const item of toClose.splice(0).reverse()) {
      await (item.close ?? item.end)?.call(item).catch(() => undefined);
    }
  });

  describe('migrations', () => {
    it('release GET_LOCK once migrated, so the next migrator of any table need not wait', async () => {
      const tableName = freshTable();
      await Promise.all(Array.from({ length: 2 }, () => track(createMysqlStore({ url: MYSQL_URL, tableName })).migrate()));

      const [lockHolder] = await rows<{ holder: number | null }>('SELECT IS_USED_LOCK(?) AS holder', [MYSQL_MIGRATION_LOCK]);
      expect(lockHolder?.holder).toBeNull();
    });

    it('complete migration 3 when a process died after adding the column but before recording the version', async () => {
      const tableName = freshTable();
      await track(createMysqlStore({ url: MYSQL_URL, tableName })).insert(record('kept', { metadata: '{"a":1}' }));
      // DDL auto-commits: the column is there, the record of version 3 is not.
      await rows('DELETE FROM jwt_refresh_migrations WHERE table_name = ? AND version = 3', [tableName]);

      expect(await track(createMysqlStore({ url: MYSQL_URL, tableName })).migrate()).toEqual([3]);
      expect((await migrationRows(tableName)).map((row) => row.version)).toEqual(mysqlMigrations.map((m) => m.version));
      expect((await track(createMysqlStore({ url: MYSQL_URL, tableName })).findByHash(hashOf('kept')))?.metadata).toBe('{"a":1}');
      const [column] = await rows<{ COLUMN_TYPE: string; IS_NULLABLE: string }>(
        `SELECT COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = 'metadata'`,
        [tableName],
      );
      expect(column).toEqual({ COLUMN_TYPE: 'text', IS_NULLABLE: 'YES' });
    });
  });

  describe('schema', () => {
    it('indexes token_hash (unique), user_id, family_id and valid_until, on InnoDB with utf8mb4_bin', async () => {
      const tableName = freshTable();
      await track(createMysqlStore({ url: MYSQL_URL, tableName })).migrate();

      const indexes = await rows<{ Key_name: string; Column_name: string; Non_unique: number }>(`SHOW INDEX FROM \`${tableName}\``);
      const byColumn = indexes.map((index) => ({ column: index.Column_name, unique: Number(index.Non_unique) === 0 }));
      expect(byColumn).toEqual(
        expect.arrayContaining([
          { column: 'id', unique: true },
          { column: 'token_hash', unique: true },
          { column: 'user_id', unique: false },
          { column: 'family_id', unique: false },
          { column: 'valid_until', unique: false },
        ]),
      );
      const [info] = await rows<{ ENGINE: string; TABLE_COLLATION: string }>(
        'SELECT ENGINE, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
        [tableName],
      );
      expect(info).toEqual({ ENGINE: 'InnoDB', TABLE_COLLATION: 'utf8mb4_bin' });
      const instants = await rows<{ COLUMN_NAME: string; COLUMN_TYPE: string }>(
        `SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND DATA_TYPE = 'datetime' ORDER BY ORDINAL_POSITION`,
        [tableName],
      );
      expect(instants).toEqual(
        ['valid_until', 'family_deadline', 'created_at', 'last_used_at', 'rotated_at', 'revoked_at'].map((name) => ({
          COLUMN_NAME: name,
          COLUMN_TYPE: 'datetime(3)',
        })),
      );
      for (const table of [`${tableName}_blocklist`, `${tableName}_watermarks`, `${tableName}_rate_limits`]) {
        expect(await tableExists(table), table).toBe(true);
      }
    });

    it('deletes expired rows for deleteExpired through the valid_until index', async () => {
      const tableName = freshTable();
      const store = track(createMysqlStore({ url: MYSQL_URL, tableName }));
      for (let i = 0; i < 40; i += 1) {
        await store.insert(record(`row-${i}`, { familyId: `fam-${i}`, validUntil: at(i * HOUR) }));
      }
      await rows(`ANALYZE TABLE \`${tableName}\``);

      const plan = await rows<{ key: string | null }>(
        `EXPLAIN DELETE FROM \`${tableName}\` WHERE valid_until < ? ORDER BY valid_until LIMIT ?`,
        ['2031-03-04 10:00:00.000', 10],
      );
      expect(plan.map((step) => step.key)).toContain('valid_until_idx');
    });

    it('compares ids and hashes exactly: no case-insensitive match', async () => {
      const store = track(createMysqlStore({ url: MYSQL_URL, tableName: freshTable() }));
      const live = record('live');
      await store.insert(live);

      expect(await store.revokeUser('USER-1', at(HOUR))).toBe(0);
      expect(await store.revokeFamily('FAMILY-1', at(HOUR))).toBe(0);
      expect(await store.findByHash(live.tokenHash.toUpperCase())).toBeNull();
      expect(await store.findByHash(live.tokenHash)).toEqual(live);
    });
  });

  describe('options', () => {
    it('needs a well-formed url, which it does not echo', () => {
      expect(() => createMysqlStore({ url: 'not a url with s3cret' })).toThrow(ConfigError);
      expect(() => createMysqlStore({ url: 'not a url with s3cret' })).not.toThrow(/s3cret/);
    });

    it('keeps instants exact and stored in UTC whatever timezone, dateStrings and rowsAsArray the app pool uses', async () => {
      const tableName = freshTable();
      const pool = trackPool(
        mysql.createPool({
          uri: MYSQL_URL,
          connectionLimit: 1,
          timezone: '+05:30',
          dateStrings: true,
          rowsAsArray: true,
          supportBigNumbers: true,
          bigNumberStrings: true,
        }),
      );
      await pool.query("SET time_zone = '-08:00'");
      const store = track(createMysqlStore({ pool, tableName }));
      const full = record('tz', {
        familyDeadline: at(30 * 24 * HOUR + 2),
        lastUsedAt: at(HOUR + 4),
        rotatedAt: at(HOUR + 5),
        successorHash: hashOf('tz-next'),
        revokedAt: at(2 * HOUR + 6),
      });

      await store.insert(full);

      expect(await store.findByHash(full.tokenHash)).toEqual(full);
      expect(await store.count()).toBe(1);
      const [raw] = await rows<{ valid_until: string }>(
        `SELECT DATE_FORMAT(valid_until, '%Y-%m-%d %H:%i:%s.%f') AS valid_until FROM \`${tableName}\``,
      );
      expect(raw?.valid_until).toBe('2031-03-05 05:06:07.123000');
    });
  });

  describe('rotation under contention', () => {
    it('lets exactly one of 50 parallel rotations win through an app pool of 12 connections, with no error', async () => {
      const { pool, threadIds } = appPool(12);
      trackPool(pool);
      const store = track(createMysqlStore({ pool, tableName: freshTable() }));
      const parent = record('contended');
      await store.insert(parent);
      threadIds.clear();
      const successors = Array.from({ length: 50 }, (_, i) => successorOf(parent, `contender-${i}`));

      const outcomes = await Promise.all(successors.map((s) => store.rotate(parent.tokenHash, s, at(HOUR))));

      expect(outcomes.filter((o) => o === 'rotated')).toHaveLength(1);
      expect(outcomes.filter((o) => o === 'conflict')).toHaveLength(49);
      // The race ran over many connections, not serialised on one.
      expect(threadIds.size).toBeGreaterThanOrEqual(10);
      const winner = successors[outcomes.indexOf('rotated')];
      expect((await store.findByHash(parent.tokenHash))?.successorHash).toBe(winner?.tokenHash);
      expect(await store.count()).toBe(2);
    });

    it('retries a rotation InnoDB chose as a deadlock victim, so the caller sees "rotated"', async () => {
      const { pool, threadIds } = appPool(2);
      trackPool(pool);
      const tableName = freshTable();
      const store = track(createMysqlStore({ pool, tableName }));
      const parent = record('parent');
      const child = successorOf(parent, 'child');
      await store.insert(parent);
      // Heavy work for the other transaction, so InnoDB picks the rotation (one row changed) as the victim.
      for (let i = 0; i < 20; i += 1) {
        await store.insert(record(`bulk-${i}`, { familyId: 'bulk' }));
      }
      const [[before]] = await (await admin()).query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'");
      const other = await (await admin()).getConnection();
      toRelease.push(other);
      await other.query('START TRANSACTION');
      await other.query(`UPDATE \`${tableName}\` SET user_agent = 'bulk' WHERE family_id = 'bulk'`);
      // A gap lock where the successor's hash would go: the rotation's INSERT will wait on it.
      await other.query(`SELECT id FROM \`${tableName}\` WHERE token_hash = ? FOR UPDATE`, [child.tokenHash]);

      threadIds.clear();
      const rotation = store.rotate(parent.tokenHash, child, at(HOUR));
      // Observed below; this keeps a failure from surfacing as an unhandled rejection while the case waits.
      rotation.catch(() => undefined);
      await until(async () => (await waitingTransactions(threadIds)).length === 1, 'the rotation waits to insert');
      // Now wait for the parent the rotation holds: a cycle. This only returns once the rotation rolled back.
      await other.query(`UPDATE \`${tableName}\` SET user_agent = user_agent WHERE token_hash = ?`, [parent.tokenHash]);
      await other.query('COMMIT');

      expect(await rotation).toBe('rotated');
      expect((await store.findByHash(parent.tokenHash))?.successorHash).toBe(child.tokenHash);
      if (before !== undefined) {
        const [[after]] = await (await admin()).query<RowDataPacket[]>("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'");
        expect(Number(after?.Value)).toBeGreaterThan(Number(before.Value));
      }
    });

    it('retries a rotation whose lock wait timed out, so the caller sees "rotated"', async () => {
      // One connection, so the session's 1-second lock-wait timeout applies to every attempt.
      const { pool, threadIds } = appPool(1);
      trackPool(pool);
      await pool.query('SET SESSION innodb_lock_wait_timeout = 1');
      const tableName = freshTable();
      const store = track(createMysqlStore({ pool, tableName }));
      const parent = record('parent');
      await store.insert(parent);
      const other = await (await admin()).getConnection();
      toRelease.push(other);
      await other.query('START TRANSACTION');
      await other.query(`SELECT id FROM \`${tableName}\` WHERE token_hash = ? FOR UPDATE`, [parent.tokenHash]);

      const rotation = store.rotate(parent.tokenHash, successorOf(parent, 'child'), at(HOUR));
      rotation.catch(() => undefined);
      let first: string | undefined;
      await until(async () => {
        const [waiting] = await waitingTransactions(threadIds);
        first ??= waiting;
        // A waiting transaction with another id: the first attempt timed out and the rotation began again.
        return waiting !== undefined && waiting !== first;
      }, 'the rotation is retried after a lock-wait timeout');
      await other.query('COMMIT');

      expect(await rotation).toBe('rotated');
      expect(await store.count()).toBe(2);
    });
  });
});
