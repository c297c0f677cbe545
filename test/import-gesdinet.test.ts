import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from './support/cli.js';
import { type RunningServer, spawnServer, killServer } from './support/spawn-server.js';

/**
 * `jwt-refresh import-gesdinet` as an operator runs it: the bundle's tables
 * created on real MariaDB and PostgreSQL exactly as Doctrine's mapping makes
 * them, the CLI in a child process, and every imported live token refreshed
 * over HTTP on the standalone server that uses the imported store.
 */

const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const START_HINT =
  'import-gesdinet needs MariaDB at MYSQL_URL and PostgreSQL at POSTGRES_URL (defaults: 127.0.0.1:3306 root, 127.0.0.1:5432 postgres, db test). ' +
  'Start them with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` and ' +
  '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` ' +
  '(or install: `apt-get update && apt-get install -y mariadb-server postgresql`).';

const RUN = `gesdinet_${process.pid}_${randomBytes(3).toString('hex')}`;
const MYSQL_TABLE = `${RUN}_v1`;
const POSTGRES_TABLE = `${RUN}_v3`;
const PEPPER = 'import-test-pepper-0123456789';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const plainToken = () => randomBytes(64).toString('hex');
const bundleHash = (token: string) => `sha256$${createHash('sha256').update(token).digest('hex')}`;

/** `YYYY-MM-DD HH:MM:SS` of an instant's wall clock in a zone, as PHP writes a naive Doctrine datetime. */
function wallClock(instant: number, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(new Date(instant))
      .map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

interface Row {
  token: string;
  username: string;
  valid: string;
  family?: string | null;
  familyValid?: string | null;
}

let mariadb: mysql.Connection | null = null;
let postgres: pg.Client | null = null;
let cwd = '';
let server: RunningServer | null = null;

/** Connects once; fails (never skips) with how to start the servers when one is down. */
async function connectSources(): Promise<{ mariadb: mysql.Connection; postgres: pg.Client }> {
  try {
    mariadb ??= await mysql.createConnection({ uri: MYSQL_URL });
    if (postgres === null) {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      client.on('error', () => {});
      await client.connect();
      postgres = client;
    }
    return { mariadb, postgres };
  } catch (error) {
    throw new Error(START_HINT, { cause: error });
  }
}

beforeAll(() => ensureBuilt());
beforeEach(async () => {
  await connectSources();
});

afterAll(async () => {
  await killServer(server);
  await mariadb?.query(`DROP TABLE IF EXISTS \`${MYSQL_TABLE}\``).catch(() => {});
  await mariadb?.end().catch(() => {});
  await postgres?.query(`DROP TABLE IF EXISTS "${POSTGRES_TABLE}"`).catch(() => {});
  await postgres?.query(`DROP SEQUENCE IF EXISTS "${POSTGRES_TABLE}_id_seq"`).catch(() => {});
  await postgres?.end().catch(() => {});
  if (cwd !== '') rmSync(cwd, { recursive: true, force: true });
});

describe('jwt-refresh import-gesdinet', () => {
  it('imports the live rows of a 1.x table (MariaDB) and a 3.0 table (PostgreSQL); every one refreshes on the server; a rerun imports nothing', async () => {
    const sources = await connectSources();
    const now = Date.now();

    // 1.x on MariaDB, the DDL Doctrine generates for the bundle's mapping (MySQL platform).
    // PHP's date.timezone is Europe/Paris here: `valid` holds Paris wall-clock times.
    await sources.mariadb.query(
      `CREATE TABLE \`${MYSQL_TABLE}\` (id INT AUTO_INCREMENT NOT NULL, refresh_token VARCHAR(128) NOT NULL, ` +
        'username VARCHAR(255) NOT NULL, valid DATETIME NOT NULL, UNIQUE INDEX UNIQ_9BACE7E1C74F2195 (refresh_token), PRIMARY KEY(id)) ' +
        'DEFAULT CHARACTER SET utf8mb4 COLLATE `utf8mb4_unicode_ci` ENGINE = InnoDB',
    );
    const paris = (instant: number) => wallClock(instant, 'Europe/Paris');
    const v1 = {
      alice1: { token: plainToken(), username: 'alice', valid: paris(now + 20 * DAY) },
      alice2: { token: plainToken(), username: 'alice', valid: paris(now + 2 * DAY) },
      bob: { token: plainToken(), username: 'bob', valid: paris(now + 5 * DAY) },
      expired: { token: plainToken(), username: 'alice', valid: paris(now - HOUR) },
      // Expired 30 minutes ago in Paris; read as UTC it would still be valid for half an hour.
      expiredInParis: { token: plainToken(), username: 'bob', valid: wallClock(now + 30 * 60_000, 'UTC') },
      carol: { token: plainToken(), username: 'carol', valid: paris(now + 5 * DAY) },
    } satisfies Record<string, Row>;
    for (const row of Object.values(v1)) {
      await sources.mariadb.query(`INSERT INTO \`${MYSQL_TABLE}\` (refresh_token, username, valid) VALUES (?, ?, ?)`, [
        row.token,
        row.username,
        row.valid,
      ]);
    }

    // 3.0 on PostgreSQL (UTC), as Doctrine's PostgreSQL platform creates it, families and
    // family deadlines included; some rows are `hash_tokens` ones (`sha256$` + hex SHA-256).
    await sources.postgres.query(`CREATE SEQUENCE "${POSTGRES_TABLE}_id_seq" INCREMENT BY 1 MINVALUE 1 START 1`);
    await sources.postgres.query(
      `CREATE TABLE "${POSTGRES_TABLE}" (id INT NOT NULL, refresh_token VARCHAR(128) NOT NULL, username VARCHAR(255) NOT NULL, ` +
        'valid TIMESTAMP(0) WITHOUT TIME ZONE NOT NULL, family VARCHAR(32) DEFAULT NULL, family_valid TIMESTAMP(0) WITHOUT TIME ZONE DEFAULT NULL, PRIMARY KEY(id))',
    );
    await sources.postgres.query(`CREATE UNIQUE INDEX "UNIQ_${RUN}" ON "${POSTGRES_TABLE}" (refresh_token)`);
    const utc = (instant: number) => wallClock(instant, 'UTC');
    const familyDeadline = utc(now + 7 * DAY);
    const family = () => randomBytes(16).toString('hex');
    const forked = family();
    const v3 = {
      plain: { token: plainToken(), username: 'alice', valid: utc(now + 20 * DAY), family: family(), familyValid: familyDeadline },
      legacy: { token: plainToken(), username: 'bob', valid: utc(now + 3 * DAY), family: family(), familyValid: utc(now + 30 * DAY) },
      // The bundle's non-atomic rotation left two live tokens in one family.
      forkA: { token: plainToken(), username: 'alice', valid: utc(now + 4 * DAY), family: forked, familyValid: utc(now + 30 * DAY) },
      forkB: { token: plainToken(), username: 'alice', valid: utc(now + 6 * DAY), family: forked, familyValid: utc(now + 30 * DAY) },
      expired: { token: plainToken(), username: 'bob', valid: utc(now - DAY), family: family(), familyValid: utc(now + DAY) },
      pastFamilyDeadline: { token: plainToken(), username: 'bob', valid: utc(now + DAY), family: family(), familyValid: utc(now - HOUR) },
      dave: { token: plainToken(), username: 'dave', valid: utc(now + DAY), family: family(), familyValid: utc(now + 30 * DAY) },
      loggedOut: { token: plainToken(), username: 'alice', valid: utc(now + DAY), family: family(), familyValid: utc(now + 30 * DAY) },
    } satisfies Record<string, Row>;
    const storedAsBundleHash = new Set([v3.legacy, v3.forkB, v3.dave, v3.loggedOut]);
    for (const row of Object.values(v3)) {
      await sources.postgres.query(
        `INSERT INTO "${POSTGRES_TABLE}" (id, refresh_token, username, valid, family, family_valid) ` +
          `VALUES (nextval('"${POSTGRES_TABLE}_id_seq"'), $1, $2, $3, $4, $5)`,
        [storedAsBundleHash.has(row) ? bundleHash(row.token) : row.token, row.username, row.valid, row.family, row.familyValid],
      );
    }

    // The server's files: its store (SQLite, the default), users, and config.
    cwd = mkdtempSync(join(tmpdir(), 'jwt-refresh-import-'));
    mkdirSync(join(cwd, 'var'));
    writeFileSync(
      join(cwd, 'var/users.json'),
      JSON.stringify([
        { id: 'user-alice', identifier: 'alice', roles: ['ROLE_USER'] },
        { id: 'user-bob', identifier: 'bob', roles: ['ROLE_USER'] },
      ]),
    );
    const serverConfig = { cookie: { enabled: false }, rateLimit: { enabled: false }, returnExpiration: true };
    writeFileSync(join(cwd, 'config.json'), JSON.stringify({ ...serverConfig, legacySha256Tokens: true }));
    writeFileSync(join(cwd, 'config-without-legacy.json'), JSON.stringify(serverConfig));
    const env = { REFRESH_TOKEN_PEPPER: PEPPER, JWT_REFRESH_CONFIG: join(cwd, 'config.json') };
    const cli = (args: string[], extraEnv: Record<string, string> = {}) => runCli(args, { cwd, env: { ...env, ...extraEnv } });

    expect(await cli(['migrate'])).toMatchObject({ status: 0 });

    // A dry run writes nothing, and says that the sha256$ rows need legacySha256Tokens when it is off.
    const dryRun = await cli(['import-gesdinet', '--from', POSTGRES_URL, '--table', POSTGRES_TABLE, '--dry-run'], {
      JWT_REFRESH_CONFIG: join(cwd, 'config-without-legacy.json'),
    });
    expect(dryRun.stderr).toContain('legacySha256Tokens: true');
    expect(dryRun).toMatchObject({ status: 0 });
    expect(dryRun.stdout).toContain('Dry run: would import 5 refresh token(s)');

    const fromMariadb = await cli(['import-gesdinet', '--from', MYSQL_URL, '--table', MYSQL_TABLE, '--timezone', 'Europe/Paris']);
    expect(fromMariadb).toMatchObject({ status: 0, stderr: '' });
    expect(fromMariadb.stdout).toContain(`Imported 3 refresh token(s) from ${MYSQL_TABLE}`);
    expect(fromMariadb.stdout).toContain('Read 6 of 6 row(s)');
    expect(fromMariadb.stdout).toContain('Skipped 3 row(s): 2 expired, 1 unknown user, 0 already imported, 0 invalid');
    expect(fromMariadb.stdout).toContain('Unknown users: carol');

    const fromPostgres = await cli(['import-gesdinet', '--from', POSTGRES_URL, '--table', POSTGRES_TABLE, '--json']);
    expect(fromPostgres).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(fromPostgres.stdout)).toMatchObject({
      table: POSTGRES_TABLE,
      total: 8,
      read: 8,
      imported: 5,
      skipped: { expired: 2, unknownUser: 1, alreadyImported: 0, invalid: 0 },
      unknownUsers: ['dave'],
      bundleHashed: 3,
      markedLegacy: 3,
      dryRun: false,
      interrupted: false,
    });
    // No token or hash in the output.
    for (const row of [...Object.values(v1), ...Object.values(v3)]) {
      expect(fromMariadb.stdout + fromPostgres.stdout + dryRun.stdout).not.toContain(row.token.slice(0, 16));
      expect(fromPostgres.stdout).not.toContain(bundleHash(row.token).slice(7, 23));
    }

    server = await spawnServer({ ...env, LOG_LEVEL: 'silent' }, cwd);
    const refresh = async (token: string) => {
      const response = await fetch(`${server!.baseUrl}/api/token/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: token }),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    };
    const claimsOf = (jwt: unknown) =>
      JSON.parse(Buffer.from(String(jwt).split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;

    // Every live imported token refreshes, as the user the provider maps its username to.
    const owners = new Map<Row, string>([
      [v1.alice1, 'alice'],
      [v1.alice2, 'alice'],
      [v1.bob, 'bob'],
      [v3.plain, 'alice'],
      [v3.legacy, 'bob'],
      [v3.forkA, 'alice'],
      [v3.forkB, 'alice'],
    ]);
    const successors = new Map<Row, string>();
    for (const [row, username] of owners) {
      const refreshed = await refresh(row.token);
      expect(refreshed.status, `${username}'s imported token`).toBe(200);
      expect(claimsOf(refreshed.body.token).username).toBe(username);
      expect(refreshed.body.refresh_token).toMatch(/^[0-9a-f]{128}$/);
      successors.set(row, refreshed.body.refresh_token as string);
    }
    // The 3.0 family deadline is kept: the successor's validity stops at family_valid, not now + ttl.
    const plainSuccessor = await refresh(successors.get(v3.plain)!);
    expect(plainSuccessor.status).toBe(200);
    expect(plainSuccessor.body.refresh_token_expiration).toBe(Date.parse(`${familyDeadline}Z`) / 1000);

    // Skipped rows were not imported.
    for (const row of [v1.expired, v1.expiredInParis, v1.carol, v3.expired, v3.pastFamilyDeadline, v3.dave]) {
      expect(await refresh(row.token)).toEqual({ status: 401, body: { code: 401, message: 'Invalid JWT Refresh Token' } });
    }

    // A legacy (sha256$) token: inside the grace window the same successor comes back; once that
    // successor has been used, presenting the legacy token again is reuse and ends the family.
    const legacyReplay = await refresh(v3.legacy.token);
    expect(legacyReplay).toMatchObject({ status: 200, body: { refresh_token: successors.get(v3.legacy) } });
    const next = await refresh(successors.get(v3.legacy)!);
    expect(next.status).toBe(200);
    expect((await refresh(v3.legacy.token)).status).toBe(401);
    expect((await refresh(next.body.refresh_token as string)).status).toBe(401);

    // A logout with a legacy token ends its session.
    const logout = await fetch(`${server.baseUrl}/api/token/invalidate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: v3.loggedOut.token }),
    });
    expect(await logout.json()).toEqual({ code: 200, message: 'The supplied refresh_token has been invalidated.' });
    expect((await refresh(v3.loggedOut.token)).status).toBe(401);

    // A second run imports nothing and says so; the counts match.
    // Small batches: after the first, a rerun looks each row up before writing it.
    const againMariadb = await cli([
      'import-gesdinet',
      '--from',
      MYSQL_URL,
      '--table',
      MYSQL_TABLE,
      '--timezone',
      'Europe/Paris',
      '--batch-size',
      '2',
    ]);
    expect(againMariadb).toMatchObject({ status: 0, stderr: '' });
    expect(againMariadb.stdout).toContain(`Nothing to import: 3 live row(s) of ${MYSQL_TABLE} already imported`);
    expect(againMariadb.stdout).toContain('Skipped 6 row(s): 2 expired, 1 unknown user, 3 already imported, 0 invalid');
    const againPostgres = await cli(['import-gesdinet', '--from', POSTGRES_URL, '--table', POSTGRES_TABLE, '--json']);
    expect(againPostgres).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(againPostgres.stdout)).toMatchObject({
      read: 8,
      imported: 0,
      skipped: { expired: 2, unknownUser: 1, alreadyImported: 5, invalid: 0 },
    });

    // The operator's revoke finds a legacy row the same way the server does.
    expect(await cli(['revoke', v3.forkB.token])).toMatchObject({ status: 0, stdout: 'Revoked refresh token\n' });
    expect((await refresh(successors.get(v3.forkB)!)).status).toBe(401);
    // The fork's other branch is a session of its own, untouched.
    expect((await refresh(successors.get(v3.forkA)!)).status).toBe(200);
  });

  it('refuses a wrong command line with exit 2 and an unreachable or missing source with exit 1, writing nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jwt-refresh-import-args-'));
    try {
      mkdirSync(join(dir, 'var'));
      writeFileSync(join(dir, 'var/users.json'), '[]');
      const cli = (args: string[]) => runCli(['import-gesdinet', ...args], { cwd: dir });
      expect(await cli([])).toMatchObject({ status: 2, stderr: expect.stringContaining("'--from <url>' not specified") });
      expect(await cli(['--from', 'redis://127.0.0.1'])).toMatchObject({ status: 2, stderr: expect.stringContaining('mysql://') });
      expect(await cli(['--from', MYSQL_URL, '--timezone', 'Mars/Olympus'])).toMatchObject({
        status: 2,
        stderr: expect.stringContaining('IANA time zone'),
      });
      expect(await cli(['--from', MYSQL_URL, '--columns', 'token=x'])).toMatchObject({ status: 2 });
      expect(await cli(['--from', MYSQL_URL, '--table', 'a;drop'])).toMatchObject({ status: 2 });
      expect(await cli(['--from', MYSQL_URL, '--batch-size', '0'])).toMatchObject({ status: 2 });

      expect(await runCli(['migrate'], { cwd: dir })).toMatchObject({ status: 0 });
      const missingTable = await cli(['--from', MYSQL_URL, '--table', `${RUN}_absent`]);
      expect(missingTable).toMatchObject({
        status: 1,
        stderr: `jwt-refresh: import-gesdinet: the source database has no table ${RUN}_absent\n`,
      });
      const unreachable = await cli(['--from', 'postgres://postgres@127.0.0.1:1/test']);
      expect(unreachable).toMatchObject({
        status: 1,
        stderr: 'jwt-refresh: Store operation failed: read the gesdinet table (ECONNREFUSED)\n',
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
