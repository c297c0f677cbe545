/**
 * The PostgreSQL store through PgBouncer in transaction pooling mode, where a
 * server connection serves one transaction of one client and then another
 * client's: session state (SET, session advisory locks, named prepared
 * statements, temp tables) does not survive from one transaction to the next.
 * The store conformance and lifecycle suites run unchanged through it.
 */
import { trackedNames } from '../conformance/store-lifecycle.suite.js';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/stores/postgres.js';
import { startPgBouncer, type RunningPgBouncer } from '../support/pgbouncer.js';
import { dropRunTables, runPostgresStoreSuites } from '../support/postgres-store-suites.js';

/** The PostgreSQL behind PgBouncer: this project's machines run one on loopback with trust auth. */
const UPSTREAM = { host: '127.0.0.1', port: 5432, database: 'test', user: 'postgres' };
const DIRECT_URL = `postgres://${UPSTREAM.user}@${UPSTREAM.host}:${UPSTREAM.port}/${UPSTREAM.database}`;
const START_HINT =
  `PostgreSQL is not reachable at ${DIRECT_URL}. Start it with ` +
  '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` ' +
  '(or install it: `apt-get update && apt-get install -y postgresql`).';
/** Server connections PgBouncer keeps: fewer than the store's pool of 10, so clients take turns on them. */
const SERVER_CONNECTIONS = 3;

/** Prefix of every table this file creates; all dropped in afterAll. */
const RUN = `rtpgb_${process.pid}_${randomBytes(3).toString('hex')}`;
const { next: freshTable, created: createdTables } = trackedNames(RUN);

/** Direct to PostgreSQL, for raw rows, setup and cleanup. */
const admin = new pg.Pool({ connectionString: DIRECT_URL, max: 3 });
admin.on('error', () => {});

let bouncer: Promise<RunningPgBouncer> | undefined;
let bouncerUrl = '';

/**
 * Checks PostgreSQL and starts this file's PgBouncer once. Awaited by every case (a failed beforeAll would show the
 * cases as skipped): a missing server or binary fails each case with how to get it.
 */
async function ready(): Promise<void> {
  try {
    await admin.query('SELECT 1');
  } catch (error) {
    throw new Error(START_HINT, { cause: error });
  }
  bouncer ??= startPgBouncer({ upstream: UPSTREAM, poolSize: SERVER_CONNECTIONS });
  bouncerUrl = (await bouncer).url;
}

beforeEach(ready);

afterAll(async () => {
  try {
    await (await bouncer?.catch(() => undefined))?.stop();
    await dropRunTables(admin, RUN, createdTables);
  } finally {
    await admin.end();
  }
});

runPostgresStoreSuites('postgres through pgbouncer (transaction pooling)', {
  ready,
  url: () => bouncerUrl,
  admin,
  freshTable,
});

describe('PostgreSQL store through pgbouncer', () => {
  it(`really shares ${SERVER_CONNECTIONS} server connections among the store's pool of 10`, async () => {
    const store = createPostgresStore({ url: bouncerUrl, tableName: freshTable() });
    try {
      // pg_sleep keeps each transaction long enough that the 20 calls overlap.
      const pids = await Promise.all(
        Array.from(
          { length: 20 },
          async () => (await store.pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid, pg_sleep(0.02)')).rows[0]?.pid,
        ),
      );

      expect(store.pool.totalCount).toBe(10);
      expect(new Set(pids).size).toBeLessThanOrEqual(SERVER_CONNECTIONS);
    } finally {
      await store.close();
    }
  });
});
