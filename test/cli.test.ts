import { spawn, spawnSync } from 'node:child_process';
import { createPublicKey, createSecretKey, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { MongoClient } from 'mongodb';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createScryptHasher } from '../src/auth/password-hasher.js';
import { parseDateArgument } from '../src/cli/parse-date.js';
import { generateKeyPair } from '../src/jwt/generate-key-pair.js';
import { POSTGRES_MIGRATION_LOCK_KEY, postgresMigrations } from '../src/stores/postgres-migrations.js';
import { createPostgresStore, type PostgresRefreshTokenStore } from '../src/stores/postgres.js';
import { sqliteMigrations } from '../src/stores/sqlite-migrations.js';
import { createSqliteStore, type SqliteRefreshTokenStore } from '../src/stores/sqlite.js';
import type { RefreshTokenRecord, RefreshTokenStore } from '../src/stores/store.js';
import { generateRefreshToken } from '../src/tokens/generate-token.js';
import { createTokenHasher } from '../src/tokens/hash-token.js';
import { CLI, type CliResult, ensureBuilt, runCli } from './support/cli.js';
import { startCongoServer } from './support/congo-server.js';
import { DAY, HOUR, wallClockRecord } from './support/token-records.js';

/**
 * The operator CLI as operators meet it (SPEC §10): the built `jwt-refresh`
 * in a child process, against SQLite files and a real PostgreSQL. Tokens are
 * seeded with the library itself, hashed with the same pepper the CLI gets
 * from the environment, and the store is inspected afterwards.
 */

const PEPPER = 'cli-test-pepper-0123456789abcdef';
const hashToken = createTokenHasher(PEPPER);

/** Every plain token a test seeded: no CLI output may ever contain one. */
const seededTokens = new Set<string>();
/** Every CLI output of this file, checked against {@link seededTokens} at the end. */
const outputs: CliResult[] = [];

let scratch: string;

beforeAll(() => {
  ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'jwt-refresh-cli-'));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

async function cli(args: string[], options: { cwd?: string; env?: Record<string, string>; input?: string } = {}): Promise<CliResult> {
  const result = await runCli(args, {
    cwd: options.cwd ?? scratch,
    env: { REFRESH_TOKEN_PEPPER: PEPPER, ...options.env },
    ...(options.input === undefined ? {} : { input: options.input }),
  });
  outputs.push(result);
  // Whatever happened, never a stack trace.
  expect(result.stderr).not.toMatch(/\n\s+at /);
  return result;
}

/** A stored record for a known plain token; validity one day ahead unless overridden. */
function tokenRecord(token: string, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  seededTokens.add(token);
  return wallClockRecord(token, { id: randomUUID(), tokenHash: hashToken(token), familyId: randomUUID(), ...overrides });
}

/** `clear`'s stdout: the cutoff it announces first (ISO 8601, UTC), then the bundle's total line. */
function clearReport(result: CliResult): { cutoff: string; total: string } {
  const lines = result.stdout.split('\n');
  expect(lines, result.stdout + result.stderr).toHaveLength(3);
  const cutoff = /^Deleting refresh tokens whose validity ended before (\S+)$/.exec(lines[0] ?? '')?.[1];
  expect(cutoff, result.stdout).toBeDefined();
  return { cutoff: cutoff ?? '', total: lines[1] ?? '' };
}

/** Inserts a token valid until `validUntil` and answers its plain value. */
async function seed(store: RefreshTokenStore, overrides: Partial<RefreshTokenRecord> = {}): Promise<string> {
  const token = generateRefreshToken();
  await store.insert(tokenRecord(token, overrides));
  return token;
}

/** One store under test: the CLI reaches it through `args`, the test through `store`. */
interface StoreUnderTest {
  args: string[];
  store: RefreshTokenStore;
  /** Rows of a companion table (`blocklist`, `watermarks`, `rate_limits`) read directly. */
  countCompanion(suffix: string): Promise<number>;
  /** Whether the database holds a table of this name, read directly. */
  hasTable(name: string): Promise<boolean>;
}

interface Backend {
  name: string;
  /** A fresh, migrated store (new file or new table) for one case. */
  create(): Promise<StoreUnderTest>;
  /** A store location nothing has migrated yet, for `migrate`; `exists` tells whether anything was created there. */
  unmigrated(): { args: string[]; exists(): Promise<boolean> };
  expectedMigrations: number[];
}

let sqliteCounter = 0;
const sqliteBackend: Backend = {
  name: 'sqlite',
  async create() {
    sqliteCounter += 1;
    const filename = join(scratch, `store-${sqliteCounter}.db`);
    const store: SqliteRefreshTokenStore = createSqliteStore({ filename, tableName: 'cli_tokens' });
    opened.push(store);
    return {
      args: ['--database-url', `sqlite:${filename}`, '--table', 'cli_tokens'],
      store,
      async countCompanion(suffix) {
        return store.database.prepare(`SELECT COUNT(*) FROM "cli_tokens_${suffix}"`).pluck().get() as number;
      },
      async hasTable(name) {
        return store.database.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).pluck().get(name) !== undefined;
      },
    };
  },
  unmigrated() {
    sqliteCounter += 1;
    // In a directory of its own, so a command that created anything (file or directory) would show.
    const directory = join(scratch, `fresh-${sqliteCounter}`);
    return {
      args: ['--database-url', `sqlite:${join(directory, 'tokens.db')}`],
      exists: async () => existsSync(directory),
    };
  },
  expectedMigrations: sqliteMigrations.map((migration) => migration.version),
};

const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const POSTGRES_HINT =
  `PostgreSQL is not reachable at ${POSTGRES_URL.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')}. Start it with ` +
  '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` ' +
  '(or install it: `apt-get update && apt-get install -y postgresql`), or point POSTGRES_URL at another server.';
const RUN = `cli_${process.pid}_${randomBytes(3).toString('hex')}`;
const postgresTables = new Set<string>();
let postgresCounter = 0;
let admin: pg.Pool | null = null;

function postgresTable(): string {
  postgresCounter += 1;
  const table = `${RUN}_${postgresCounter}`;
  postgresTables.add(table);
  return table;
}

const postgresBackend: Backend = {
  name: 'postgres',
  async create() {
    const tableName = postgresTable();
    const store: PostgresRefreshTokenStore = createPostgresStore({ url: POSTGRES_URL, tableName });
    opened.push(store);
    await store.migrate();
    return {
      args: ['--database-url', POSTGRES_URL, '--table', tableName],
      store,
      async countCompanion(suffix) {
        const result = await store.pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${tableName}_${suffix}"`);
        return Number(result.rows[0]?.n);
      },
      hasTable: (name) => postgresHasTable(store.pool, name),
    };
  },
  unmigrated() {
    const tableName = postgresTable();
    return {
      args: ['--database-url', POSTGRES_URL, '--table', tableName],
      exists: async () => postgresHasTable(admin!, tableName),
    };
  },
  expectedMigrations: postgresMigrations.map((migration) => migration.version),
};

async function postgresHasTable(pool: pg.Pool, name: string): Promise<boolean> {
  const result = await pool.query(`SELECT 1 WHERE to_regclass($1) IS NOT NULL`, [`public."${name}"`]);
  return result.rowCount === 1;
}

/** Stores the test opened itself, closed after each case. */
const opened: RefreshTokenStore[] = [];
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
});

afterAll(async () => {
  if (admin === null) return;
  try {
    for (const table of postgresTables) {
      const names = [table, `${table}_blocklist`, `${table}_watermarks`, `${table}_rate_limits`];
      await admin.query(`DROP TABLE IF EXISTS ${names.map((name) => `public."${name}"`).join(', ')} CASCADE`);
    }
    const client = await admin.connect();
    try {
      await client.query('BEGIN');
      await client.query(`SELECT pg_advisory_xact_lock(${POSTGRES_MIGRATION_LOCK_KEY})`);
      const exists = await client.query(`SELECT 1 WHERE to_regclass('public.jwt_refresh_migrations') IS NOT NULL`);
      if (exists.rowCount !== 0) {
        await client.query('DELETE FROM public.jwt_refresh_migrations WHERE table_name LIKE $1', [`${RUN}\\_%`]);
      }
      await client.query('COMMIT');
    } finally {
      client.release();
    }
  } finally {
    await admin.end();
  }
});

describe.each([sqliteBackend, postgresBackend])('jwt-refresh against $name', (backend) => {
  if (backend === postgresBackend) {
    // Before each case, so an unreachable server fails every case loudly instead of skipping them.
    beforeEach(async () => {
      admin ??= new pg.Pool({ connectionString: POSTGRES_URL, max: 2 }).on('error', () => {});
      try {
        await admin.query('SELECT 1');
      } catch (error) {
        throw new Error(POSTGRES_HINT, { cause: error });
      }
    });
  }

  describe('clear', () => {
    it('deletes exactly the expired tokens over several batches, then expired blocklist entries', async () => {
      const { args, store, countCompanion } = await backend.create();
      const now = Date.now();
      for (let i = 0; i < 10; i += 1) await seed(store, { validUntil: new Date(now - (i + 1) * HOUR) });
      const live = [];
      for (let i = 0; i < 4; i += 1) live.push(await seed(store, { validUntil: new Date(now + (i + 1) * HOUR) }));
      await store.blockAccessToken('expired-jti', new Date(now - HOUR));
      await store.blockAccessToken('live-jti', new Date(now + HOUR));

      // 10 rows in batches of 3: 3 + 3 + 3 + 1, then an empty one.
      const result = await cli(['clear', '--batch-size', '3', ...args]);
      expect(result).toMatchObject({ status: 0, stderr: '' });
      expect(clearReport(result).total).toBe('Revoked 10 invalid token(s)');
      expect(await store.count()).toBe(4);
      for (const token of live) expect(await store.findByHash(hashToken(token))).not.toBeNull();
      expect(await countCompanion('blocklist')).toBe(1);
      expect(await store.isAccessTokenBlocked('live-jti', new Date())).toBe(true);

      const again = await cli(['clear', ...args]);
      expect(again.status).toBe(0);
      expect(clearReport(again).total).toBe('Revoked 0 invalid token(s)');
    });

    it('deletes the watermarks older than jwt.tokenTtl + jwt.clockSkew, which no valid access token predates', async () => {
      const { args, store, countCompanion } = await backend.create();
      const now = Date.now();
      const minutes = (n: number) => new Date(now - n * 60_000);
      await store.setRevokedBefore('u-120m', minutes(120));
      await store.setRevokedBefore('family:f-61m', minutes(61));
      await store.setRevokedBefore('u-30m', minutes(30));
      await store.setRevokedBefore('u-12m', minutes(12));
      await store.setRevokedBefore('family:f-10.5m', minutes(10.5));

      // The defaults, tokenTtl 3600 s and clockSkew 0: an hour-old watermark refuses nothing any more.
      const first = await cli(['clear', ...args]);
      expect(first).toMatchObject({ status: 0, stderr: '' });
      expect(clearReport(first).total).toBe('Revoked 0 invalid token(s)');
      expect(await store.getRevokedBefore('u-120m')).toBeNull();
      expect(await store.getRevokedBefore('family:f-61m')).toBeNull();
      expect(await countCompanion('watermarks')).toBe(3);

      // 600 s + 60 s: the skew counts, so the 10.5-minute-old watermark stays.
      const configPath = join(scratch, `ttl-${randomUUID()}.yaml`);
      writeFileSync(configPath, 'jwt:\n  tokenTtl: 600\n  clockSkew: 60\n');
      expect(await cli(['clear', '--config', configPath, ...args])).toMatchObject({ status: 0 });
      expect(await countCompanion('watermarks')).toBe(1);
      expect((await store.getRevokedBefore('family:f-10.5m'))?.getTime()).toBe(minutes(10.5).getTime());
    });

    it('takes a date: ISO 8601 forms and relative ones like "-1 day"', async () => {
      const { args, store } = await backend.create();
      const now = Date.now();
      const seeded = {
        aug7: await seed(store, { validUntil: new Date('2015-08-07T12:00:00Z') }),
        aug8Morning: await seed(store, { validUntil: new Date('2015-08-08T09:00:00Z') }),
        aug8Noon: await seed(store, { validUntil: new Date('2015-08-08T11:00:00Z') }),
        twoDaysAgo: await seed(store, { validUntil: new Date(now - 2 * DAY) }),
        anHourAgo: await seed(store, { validUntil: new Date(now - HOUR) }),
        live: await seed(store, { validUntil: new Date(now + HOUR) }),
      };
      const left = async () => {
        const present = [];
        for (const [name, token] of Object.entries(seeded)) if ((await store.findByHash(hashToken(token))) !== null) present.push(name);
        return present;
      };

      // The child runs with TZ=UTC, so zone-less dates are UTC here.
      // The resolved cutoff is printed first, in UTC.
      expect(clearReport(await cli(['clear', '2015-08-08', ...args]))).toEqual({
        cutoff: '2015-08-08T00:00:00.000Z',
        total: 'Revoked 1 invalid token(s)',
      });
      expect(await left()).toEqual(['aug8Morning', 'aug8Noon', 'twoDaysAgo', 'anHourAgo', 'live']);
      expect(clearReport(await cli(['clear', '2015-08-08 10:00:00', ...args]))).toEqual({
        cutoff: '2015-08-08T10:00:00.000Z',
        total: 'Revoked 1 invalid token(s)',
      });
      expect(clearReport(await cli(['clear', '2015-08-08T12:30:00+02:00', ...args]))).toEqual({
        cutoff: '2015-08-08T10:30:00.000Z',
        total: 'Revoked 0 invalid token(s)',
      });
      // Unquoted, as an operator types it: the words are one date.
      const relative = await cli(['clear', '-1', 'day', '--batch-size', '1', ...args]);
      expect(relative.status).toBe(0);
      expect(clearReport(relative).total).toBe('Revoked 2 invalid token(s)');
      expect(Math.abs(Date.parse(clearReport(relative).cutoff) - (Date.now() - DAY))).toBeLessThan(30_000);
      expect(await left()).toEqual(['anHourAgo', 'live']);
      expect(clearReport(await cli(['clear', 'now', ...args])).total).toBe('Revoked 1 invalid token(s)');
      expect(await left()).toEqual(['live']);
    });

    it('--dry-run shows the cutoff and deletes nothing, blocklist entries included', async () => {
      const { args, store, countCompanion } = await backend.create();
      const now = Date.now();
      for (let i = 0; i < 3; i += 1) await seed(store, { validUntil: new Date(now - 2 * DAY) });
      await seed(store, { validUntil: new Date(now + HOUR) });
      await store.blockAccessToken('expired-jti', new Date(now - HOUR));

      const result = await cli(['clear', '--dry-run', '2015-08-08', ...args]);
      expect(result).toMatchObject({ status: 0, stderr: '' });
      expect(result.stdout).toBe(
        'Dry run: would delete refresh tokens whose validity ended before 2015-08-08T00:00:00.000Z\n' +
          'Dry run: nothing deleted; the store holds 4 refresh token(s) in all, expired or not (a dry run cannot count those past the cutoff)\n',
      );
      expect((await cli(['clear', '--dry-run', ...args])).status).toBe(0);
      expect(await store.count()).toBe(4);
      expect(await countCompanion('blocklist')).toBe(1);
    });

    it('warns on stderr when the cutoff is in the future, then deletes the tokens that expire before it', async () => {
      const { args, store } = await backend.create();
      const now = Date.now();
      await seed(store, { validUntil: new Date(now + HOUR) });
      const later = await seed(store, { validUntil: new Date(now + 3 * HOUR) });

      const result = await cli(['clear', '+2', 'hours', ...args]);
      expect(result.status).toBe(0);
      expect(result.stderr).toMatch(
        /^jwt-refresh: warning: the cutoff \S+ is in the future: refresh tokens still valid until then are deleted\n$/,
      );
      const { cutoff, total } = clearReport(result);
      expect(Math.abs(Date.parse(cutoff) - (now + 2 * HOUR))).toBeLessThan(30_000);
      expect(total).toBe('Revoked 1 invalid token(s)');
      expect(await store.count()).toBe(1);
      expect(await store.findByHash(hashToken(later))).not.toBeNull();

      const dryRun = await cli(['clear', '--dry-run', 'tomorrow', ...args]);
      expect(dryRun.stderr).toContain('is in the future');
      expect(await store.count()).toBe(1);
    });

    it('refuses a bad date or batch size with exit 2 and touches nothing', async () => {
      const { args, store } = await backend.create();
      await seed(store, { validUntil: new Date(Date.now() - HOUR) });
      for (const bad of [['next', 'tuesday'], ['2015-02-30'], ['2015-08-08T25:00:00Z'], ['-1 parsec']]) {
        const result = await cli(['clear', ...bad, ...args]);
        expect(result.status).toBe(2);
        expect(result.stderr).toContain(`invalid date "${bad.join(' ')}"`);
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
      }
      for (const size of ['0', '100001', 'abc', '2.5', '-3']) {
        const result = await cli(['clear', '--batch-size', size, ...args]);
        expect(result.status).toBe(2);
        expect(result.stderr).toContain('--batch-size');
        expect(result.stderr).toContain('expected an integer from 1 to 100000');
      }
      const unknown = await cli(['clear', '--batchsize', '3', ...args]);
      expect(unknown.status).toBe(2);
      expect(unknown.stderr).toContain("unknown option '--batchsize");
      expect(await store.count()).toBe(1);
    });
  });

  describe('revoke', () => {
    it('revokes the whole session of a token and ends its access tokens; never prints the token', async () => {
      const { args, store } = await backend.create();
      const familyId = randomUUID();
      const rotated = await seed(store, { familyId, generation: 0, rotatedAt: new Date() });
      const current = await seed(store, { familyId, generation: 1 });
      const otherSession = await seed(store);

      const result = await cli(['revoke', current, ...args]);
      expect(result).toMatchObject({ status: 0, stdout: 'Revoked refresh token\n', stderr: '' });
      expect((await store.findByHash(hashToken(current)))?.revokedAt).toBeInstanceOf(Date);
      expect((await store.findByHash(hashToken(rotated)))?.revokedAt).toBeInstanceOf(Date);
      expect((await store.findByHash(hashToken(otherSession)))?.revokedAt).toBeNull();
      const watermark = await store.getRevokedBefore(`family:${familyId}`);
      expect(Math.abs((watermark?.getTime() ?? 0) - Date.now())).toBeLessThan(30_000);

      // From stdin, which keeps the token out of ps and shell history.
      const fromStdin = await cli(['revoke', '-', ...args], { input: `${otherSession}\n` });
      expect(fromStdin).toMatchObject({ status: 0, stdout: 'Revoked refresh token\n' });
      expect((await store.findByHash(hashToken(otherSession)))?.revokedAt).toBeInstanceOf(Date);
    });

    it('answers exit 1 for a token that does not exist, or that was hashed with another pepper', async () => {
      const { args, store } = await backend.create();
      const token = await seed(store);
      const unknown = generateRefreshToken();
      seededTokens.add(unknown);
      const result = await cli(['revoke', unknown, ...args]);
      expect(result).toMatchObject({ status: 1, stdout: '', stderr: 'Refresh token does not exist\n' });

      const wrongPepper = await cli(['revoke', token, ...args], { env: { REFRESH_TOKEN_PEPPER: 'another-pepper-0123456789' } });
      expect(wrongPepper).toMatchObject({ status: 1, stderr: 'Refresh token does not exist\n' });
      expect((await store.findByHash(hashToken(token)))?.revokedAt).toBeNull();
    });

    it('--user revokes every session of the user and moves their watermark (log out everywhere)', async () => {
      const { args, store } = await backend.create();
      const mine = [await seed(store, { userId: 'u1' }), await seed(store, { userId: 'u1' }), await seed(store, { userId: 'u1' })];
      const theirs = await seed(store, { userId: 'u2' });
      const before = Date.now();

      const result = await cli(['revoke', '--user', 'u1', ...args]);
      expect(result).toMatchObject({ status: 0, stdout: 'Revoked 3 refresh token(s) of user u1\n' });
      for (const token of mine) expect((await store.findByHash(hashToken(token)))?.revokedAt).toBeInstanceOf(Date);
      expect((await store.findByHash(hashToken(theirs)))?.revokedAt).toBeNull();
      expect((await store.getRevokedBefore('u1'))?.getTime()).toBeGreaterThanOrEqual(before - 1000);
      expect(await store.getRevokedBefore('u2')).toBeNull();
    });

    it('--family revokes one session and its access tokens', async () => {
      const { args, store } = await backend.create();
      const familyId = randomUUID();
      const a = await seed(store, { familyId, generation: 0, rotatedAt: new Date() });
      const b = await seed(store, { familyId, generation: 1 });
      const other = await seed(store);

      const result = await cli(['revoke', '--family', familyId, ...args]);
      expect(result).toMatchObject({ status: 0, stdout: `Revoked 2 refresh token(s) of session ${familyId}\n` });
      for (const token of [a, b]) expect((await store.findByHash(hashToken(token)))?.revokedAt).toBeInstanceOf(Date);
      expect((await store.findByHash(hashToken(other)))?.revokedAt).toBeNull();
      expect(await store.getRevokedBefore(`family:${familyId}`)).toBeInstanceOf(Date);
    });

    it('--family answers exit 1 for a session with nothing live, storing no watermark', async () => {
      const { args, store } = await backend.create();
      const result = await cli(['revoke', '--family', 'no-such-session', ...args]);
      expect(result).toMatchObject({ status: 1, stdout: '', stderr: 'Session no-such-session does not exist or is already revoked\n' });
      expect(await store.getRevokedBefore('family:no-such-session')).toBeNull();
    });

    it('wants exactly one of TOKEN, --user and --family (exit 2)', async () => {
      const { args } = await backend.create();
      for (const bad of [[], ['sometoken', '--user', 'u1'], ['--user', 'u1', '--family', 'f1'], ['--user']]) {
        const result = await cli(['revoke', ...bad, ...args]);
        expect(result.status).toBe(2);
        expect(result.stderr).toMatch(/exactly one of TOKEN, --user ID and --family ID|argument missing/);
      }
    });
  });

  describe('sessions', () => {
    it("lists the user's live sessions as an aligned table and as JSON", async () => {
      const { args, store } = await backend.create();
      const now = Date.now();
      const older = randomUUID();
      const newer = randomUUID();
      await seed(store, {
        familyId: older,
        createdAt: new Date('2026-01-02T03:04:05Z'),
        validUntil: new Date(now + DAY),
        // A client-sent user agent with a terminal escape sequence: shown defanged.
        userAgent: 'Mozilla/5.0 \u001b[31mred',
        ip: '203.0.113.5',
        metadata: '{"device":"laptop","login":"google"}',
      });
      await seed(store, { familyId: newer, generation: 0, createdAt: new Date(now - HOUR), rotatedAt: new Date(now - 60_000) });
      await seed(store, {
        familyId: newer,
        generation: 1,
        createdAt: new Date(now - 60_000),
        lastUsedAt: new Date(now - 60_000),
        validUntil: new Date(now + 2 * DAY),
      });
      await seed(store, { revokedAt: new Date() });
      await seed(store, { validUntil: new Date(now - HOUR) });
      await seed(store, { userId: 'u2' });

      const table = await cli(['sessions', '--user', 'u1', ...args]);
      expect(table.status).toBe(0);
      expect(table.stdout).not.toContain('\u001b');
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/^SESSION +CREATED +LAST USED +EXPIRES +USER AGENT +IP$/);
      expect(lines[1]).toContain(newer);
      expect(lines[2]).toContain(older);
      expect(lines[2]).toContain('2026-01-02 03:04:05Z');
      expect(lines[2]).toContain('Mozilla/5.0 ?[31mred');
      expect(lines[2]).toMatch(/203\.0\.113\.5$/);
      // Aligned: each column starts at the same offset on every line.
      for (const heading of ['CREATED', 'LAST USED', 'EXPIRES', 'USER AGENT']) {
        const column = lines[0]!.indexOf(heading);
        for (const line of lines.slice(1)) expect(line[column - 1]).toBe(' ');
        for (const line of lines.slice(1)) expect(line[column]).not.toBe(' ');
      }

      const json = await cli(['sessions', '--user', 'u1', '--json', ...args]);
      expect(json.status).toBe(0);
      const sessions = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
      expect(sessions.map((session) => session.sessionId)).toEqual([newer, older]);
      expect(sessions[1]).toEqual({
        sessionId: older,
        userId: 'u1',
        userIdentifier: 'alice',
        createdAt: '2026-01-02T03:04:05.000Z',
        lastUsedAt: null,
        expiresAt: new Date(now + DAY).toISOString(),
        familyDeadline: null,
        userAgent: 'Mozilla/5.0 \u001b[31mred',
        ip: '203.0.113.5',
        metadata: { device: 'laptop', login: 'google' },
      });
      expect(sessions[0]?.lastUsedAt).toBe(new Date(now - 60_000).toISOString());

      expect(await cli(['sessions', '--user', 'nobody', ...args])).toMatchObject({ status: 0, stdout: 'No sessions\n' });
      expect(await cli(['sessions', '--user', 'nobody', '--json', ...args])).toMatchObject({ status: 0, stdout: '[]\n' });
      expect((await cli(['sessions', ...args])).status).toBe(2);
    });
  });

  describe('migrate', () => {
    it('applies the shipped migrations once, then says the schema is up to date', async () => {
      const { args } = backend.unmigrated();
      const first = await cli(['migrate', ...args]);
      expect(first).toMatchObject({ status: 0, stdout: `Applied migration(s): ${backend.expectedMigrations.join(', ')}\n` });
      const second = await cli(['migrate', ...args]);
      expect(second).toMatchObject({ status: 0, stdout: 'Schema is up to date\n' });
      // The schema works: another command runs on it.
      const cleared = await cli(['clear', ...args]);
      expect(cleared.status).toBe(0);
      expect(clearReport(cleared).total).toBe('Revoked 0 invalid token(s)');
    });
  });

  describe('a store that was never migrated', () => {
    const commands = [
      ['clear'],
      ['clear', '--dry-run'],
      ['revoke', 'some-token'],
      ['revoke', '--user', 'u1'],
      ['revoke', '--family', 'f1'],
      ['sessions', '--user', 'u1'],
    ];

    it('is refused by clear, revoke and sessions (exit 1, one line naming `jwt-refresh migrate`), which create nothing', async () => {
      const { args, exists } = backend.unmigrated();
      for (const command of commands) {
        const result = await cli([...command, ...args]);
        expect(result, command.join(' ')).toMatchObject({ status: 1, stdout: '' });
        expect(result.stderr).toMatch(/^jwt-refresh: .*(does not exist|has no table).*jwt-refresh migrate.*\n$/);
      }
      expect(await exists()).toBe(false);
    });

    it('is refused for a mistyped --table, which is not created', async () => {
      const { args, hasTable } = await backend.create();
      // A fresh name (registered for clean-up) on PostgreSQL, whose tables outlive the case.
      const typo = [...args.slice(0, -1), backend === postgresBackend ? postgresTable() : 'cli_tokns'];
      for (const command of commands) {
        const result = await cli([...command, ...typo]);
        expect(result, command.join(' ')).toMatchObject({ status: 1, stdout: '' });
        expect(result.stderr).toMatch(/^jwt-refresh: the store has no table "\w+"; `jwt-refresh migrate --table \w+` creates it\n$/);
      }
      expect(await hasTable(typo.at(-1)!)).toBe(false);
      expect(await hasTable(args.at(-1)!)).toBe(true);
    });
  });
});

describe('store selection', () => {
  it('takes --database-url over DATABASE_URL over databaseUrl in the config file over ./var/jwt-refresh.db', async () => {
    const cwd = mkdtempSync(join(scratch, 'select-'));
    const stores = {
      flag: createSqliteStore({ filename: join(cwd, 'flag.db') }),
      env: createSqliteStore({ filename: join(cwd, 'env.db') }),
      config: createSqliteStore({ filename: join(cwd, 'config.db') }),
      default: createSqliteStore({ filename: join(cwd, 'var/jwt-refresh.db') }),
    };
    opened.push(...Object.values(stores));
    for (const store of Object.values(stores)) await seed(store, { validUntil: new Date(Date.now() - HOUR) });
    const configPath = join(cwd, 'jwt-refresh.yaml');
    writeFileSync(configPath, `databaseUrl: sqlite:${join(cwd, 'config.db')}\n`);

    await cli(['clear', '--database-url', `sqlite:${join(cwd, 'flag.db')}`, '--config', configPath], {
      cwd,
      env: { DATABASE_URL: `sqlite:${join(cwd, 'env.db')}` },
    });
    expect(await stores.flag.count()).toBe(0);
    await cli(['clear'], { cwd, env: { DATABASE_URL: `sqlite:${join(cwd, 'env.db')}`, JWT_REFRESH_CONFIG: configPath } });
    expect(await stores.env.count()).toBe(0);
    await cli(['clear'], { cwd, env: { JWT_REFRESH_CONFIG: configPath } });
    expect(await stores.config.count()).toBe(0);
    expect(await stores.default.count()).toBe(1);
    await cli(['clear'], { cwd });
    expect(await stores.default.count()).toBe(0);
  });

  it('takes the pepper from the config file when REFRESH_TOKEN_PEPPER is not set', async () => {
    const cwd = mkdtempSync(join(scratch, 'pepper-'));
    const store = createSqliteStore({ filename: join(cwd, 'var/jwt-refresh.db') });
    opened.push(store);
    const token = await seed(store);
    const configPath = join(cwd, 'config.json');
    writeFileSync(configPath, JSON.stringify({ pepper: PEPPER }));
    const result = await runCli(['revoke', token, '--config', configPath], { cwd });
    outputs.push(result);
    expect(result).toMatchObject({ status: 0, stdout: 'Revoked refresh token\n' });
  });

  it('reports config and store errors in one line with exit 1', async () => {
    const missing = await cli(['clear', '--config', join(scratch, 'missing.yaml')]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^jwt-refresh: Config file .*missing\.yaml: cannot be read \(ENOENT\)\n$/);

    const unsupported = await cli(['migrate', '--database-url', 'oracle://db.example']);
    expect(unsupported.status).toBe(1);
    expect(unsupported.stderr).toContain('DATABASE_URL: unsupported store "oracle:"');

    const shortPepper = await cli(['migrate'], { env: { REFRESH_TOKEN_PEPPER: 'short' } });
    expect(shortPepper.status).toBe(1);
    expect(shortPepper.stderr).toContain('REFRESH_TOKEN_PEPPER');

    // Nothing listens on port 1: the driver's error code is shown, its message is not.
    const down = await cli(['migrate', '--database-url', 'postgres://postgres@127.0.0.1:1/test']);
    expect(down.status).toBe(1);
    expect(down.stderr).toBe('jwt-refresh: Store operation failed: migrate (ECONNREFUSED)\n');

    const badTable = await cli(['migrate', '--table', 'drop table;']);
    expect(badTable.status).toBe(2);
    expect(badTable.stderr).toContain('--table');
  });
});

describe('clear on a terminal', () => {
  it('draws a progress line on stderr and prints the total on stdout', async () => {
    const script = spawnSync('script', ['--version'], { encoding: 'utf8' });
    expect(script.status, 'util-linux `script` runs the CLI on a pseudo-terminal').toBe(0);
    const { args, store } = await sqliteBackend.create();
    for (let i = 0; i < 7; i += 1) await seed(store, { validUntil: new Date(Date.now() - HOUR) });
    const command = [process.execPath, CLI, 'clear', '--batch-size', '3', ...args].map((word) => `'${word}'`).join(' ');
    const result = spawnSync('script', ['-qec', command, '/dev/null'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', REFRESH_TOKEN_PEPPER: PEPPER, TERM: 'dumb' },
      timeout: 25_000,
    });
    expect(result.status).toBe(0);
    // The first batch is drawn at once; the line is erased before the total is printed.
    expect(result.stdout).toContain('\rDeleted 3 token(s)…');
    expect(result.stdout).toContain('\r\u001b[KRevoked 7 invalid token(s)');
    expect(await store.count()).toBe(0);
  });
});

describe('token generate', () => {
  let keyDir: string;
  let es256: { privatePath: string; publicKey: KeyObject };

  beforeAll(async () => {
    keyDir = mkdtempSync(join(scratch, 'keys-'));
    const pair = await generateKeyPair('ES256');
    if (pair.privateKeyPem === null) throw new Error('expected a PEM pair');
    es256 = { privatePath: join(keyDir, 'private.pem'), publicKey: createPublicKey(pair.publicKeyPem) };
    writeFileSync(es256.privatePath, pair.privateKeyPem, { mode: 0o600 });
  });

  it('signs the library claims with the configured key; --role, --ttl and --user-id set them', async () => {
    const result = await cli(
      ['token', 'generate', 'alice', '--role', 'ROLE_ADMIN', '--role', 'ROLE_API', '--ttl', '120', '--user-id', '42'],
      {
        env: { JWT_SECRET_KEY: es256.privatePath },
      },
    );
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const { payload, protectedHeader } = await jwtVerify(result.stdout.trim(), es256.publicKey, { algorithms: ['ES256'] });
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'JWT' });
    expect(payload).toMatchObject({ username: 'alice', sub: '42', roles: ['ROLE_ADMIN', 'ROLE_API'] });
    expect(payload.exp! - payload.iat!).toBe(120);
    expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(30);
    expect(typeof payload.jti).toBe('string');
  });

  it('defaults to ROLE_USER, the username as id and jwt.tokenTtl from the config file (bundle sections too)', async () => {
    const ownConfig = join(keyDir, 'own.yaml');
    writeFileSync(ownConfig, `jwt:\n  algorithm: ES256\n  secretKey: ${es256.privatePath}\n  tokenTtl: 600\n  userIdClaim: email\n`);
    const own = await cli(['token', 'generate', 'bob@example.com', '--config', ownConfig]);
    expect(own.status).toBe(0);
    const { payload } = await jwtVerify(own.stdout.trim(), es256.publicKey, { algorithms: ['ES256'] });
    expect(payload).toMatchObject({ email: 'bob@example.com', sub: 'bob@example.com', roles: ['ROLE_USER'] });
    expect(payload.exp! - payload.iat!).toBe(600);

    const secret = randomBytes(48).toString('base64url');
    const lexikConfig = join(keyDir, 'lexik.yaml');
    writeFileSync(
      lexikConfig,
      [
        'lexik_jwt_authentication:',
        `  secret_key: '${secret}'`,
        '  token_ttl: 900',
        '  encoder:',
        '    signature_algorithm: HS256',
        '',
      ].join('\n'),
    );
    const lexik = await cli(['token', 'generate', 'carol'], { env: { JWT_REFRESH_CONFIG: lexikConfig } });
    expect(lexik.status).toBe(0);
    const verified = await jwtVerify(lexik.stdout.trim(), createSecretKey(Buffer.from(secret)), { algorithms: ['HS256'] });
    expect(verified.payload.exp! - verified.payload.iat!).toBe(900);
  });

  it('signs with the development key `serve` generated beside the database, outside production', async () => {
    const cwd = mkdtempSync(join(scratch, 'devkey-'));
    const pair = await generateKeyPair('ES256');
    if (pair.privateKeyPem === null) throw new Error('expected a PEM pair');
    mkdirSync(join(cwd, 'var'));
    writeFileSync(join(cwd, 'var/jwt-es256-private.pem'), pair.privateKeyPem);
    const result = await cli(['token', 'generate', 'demo'], { cwd });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('using the development signing key');
    await jwtVerify(result.stdout.trim(), createPublicKey(pair.publicKeyPem), { algorithms: ['ES256'] });

    const production = await cli(['token', 'generate', 'demo'], { cwd, env: { NODE_ENV: 'production' } });
    expect(production.status).toBe(2);
    expect(production.stdout).toBe('');
  });

  it('refuses with exit 2 when there is no signing key or an argument is bad', async () => {
    const missing = await cli(['token', 'generate', 'alice']);
    expect(missing).toMatchObject({ status: 2, stdout: '' });
    expect(missing.stderr).toContain(
      'no signing key: set jwt.secretKey in the config file (--config or JWT_REFRESH_CONFIG) or JWT_SECRET_KEY',
    );
    const env = { JWT_SECRET_KEY: es256.privatePath };
    expect((await cli(['token', 'generate', 'alice', '--ttl', '0'], { env })).status).toBe(2);
    expect((await cli(['token', 'generate', 'alice', '--ttl', 'soon'], { env })).status).toBe(2);
    expect((await cli(['token', 'generate'], { env })).status).toBe(2);
    // A key that is there but broken is a config error (exit 1), named without its content.
    writeFileSync(join(keyDir, 'broken.pem'), 'not a key');
    const broken = await cli(['token', 'generate', 'alice'], { env: { JWT_SECRET_KEY: join(keyDir, 'broken.pem') } });
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain('jwt.secretKey names a file that holds no PEM key');
  });
});

describe('hash-password', () => {
  it('prints a scrypt hash that verifies, from --password or from stdin', async () => {
    const hasher = createScryptHasher();
    const fromOption = await cli(['hash-password', '--password', 'correct horse']);
    expect(fromOption.status).toBe(0);
    expect(fromOption.stdout).toMatch(/^\$scrypt\$ln=15,r=8,p=1\$\S+\n$/);
    expect(await hasher.verify(fromOption.stdout.trim(), 'correct horse')).toBe(true);

    const fromStdin = await cli(['hash-password'], { input: 'battery staple\r\nignored second line\n' });
    expect(fromStdin.status).toBe(0);
    expect(await hasher.verify(fromStdin.stdout.trim(), 'battery staple')).toBe(true);
    expect(fromStdin.stdout).not.toContain('battery');

    const empty = await cli(['hash-password'], { input: '' });
    expect(empty).toMatchObject({ status: 2, stdout: '' });
    expect(empty.stderr).toContain('the password is empty');
  });
});

describe('usage errors', () => {
  it.each([
    ['an unknown command', ['frobnicate'], "unknown command 'frobnicate'"],
    ['an unknown option', ['migrate', '--force'], "unknown option '--force'"],
    ['a missing option value', ['clear', '--batch-size'], "option '--batch-size <n>' argument missing"],
    ['a missing argument', ['token', 'generate'], "missing required argument 'username'"],
    ['an excess argument', ['migrate', 'now'], 'too many arguments'],
    ['no command', [], 'Usage: jwt-refresh'],
  ])('exits 2 on %s, saying what is wrong', async (_name, args, message) => {
    const result = await cli(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it('exits 0 for --help, listing every command', async () => {
    const result = await cli(['--help']);
    expect(result.status).toBe(0);
    for (const command of ['serve', 'keys', 'token', 'clear', 'revoke', 'sessions', 'migrate', 'hash-password']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
  });
});

describe('stores the read and revoke commands refuse', () => {
  it('refuses the default ./var/jwt-refresh.db when it does not exist, creating no directory', async () => {
    const cwd = mkdtempSync(join(scratch, 'nodb-'));
    const result = await cli(['sessions', '--user', 'u1'], { cwd });
    expect(result).toMatchObject({
      status: 1,
      stdout: '',
      stderr: 'jwt-refresh: the database ./var/jwt-refresh.db does not exist; `jwt-refresh migrate` creates it\n',
    });
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('refuses a SQLite table that lacks a shipped migration, applying none', async () => {
    const filename = join(scratch, `outdated-${randomUUID()}.db`);
    const store = createSqliteStore({ filename, tableName: 'cli_tokens' });
    opened.push(store);
    const args = ['--database-url', `sqlite:${filename}`, '--table', 'cli_tokens'];
    const latest = sqliteMigrations.at(-1)!.version;
    store.database.prepare('DELETE FROM jwt_refresh_migrations WHERE table_name = ? AND version = ?').run('cli_tokens', latest);
    const result = await cli(['sessions', '--user', 'u1', ...args]);
    expect(result).toMatchObject({
      status: 1,
      stderr: `jwt-refresh: the table "cli_tokens" lacks migration(s) ${latest}; run \`jwt-refresh migrate --table cli_tokens\` first\n`,
    });
    const versions = store.database.prepare('SELECT version FROM jwt_refresh_migrations WHERE table_name = ?').pluck().all('cli_tokens');
    expect(versions).not.toContain(latest);
  });

  it('refuses a MariaDB table that was never migrated, creating nothing', async () => {
    const url = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
    const table = `cli_${process.pid}_never`;
    const result = await cli(['sessions', '--user', 'u1', '--database-url', url, '--table', table]);
    const pool = mysql.createPool({ uri: url, connectionLimit: 1 });
    try {
      const [rows] = await pool.query<mysql.RowDataPacket[]>(
        'SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?',
        [table],
      );
      expect(rows).toHaveLength(0);
    } finally {
      await pool.query(`DROP TABLE IF EXISTS \`${table}\`, \`${table}_blocklist\`, \`${table}_watermarks\`, \`${table}_rate_limits\``);
      await pool.end();
    }
    expect(result).toMatchObject({
      status: 1,
      stdout: '',
      stderr: `jwt-refresh: the store has no table "${table}"; \`jwt-refresh migrate --table ${table}\` creates it\n`,
    });
  });
});

describe('a MongoDB collection the read and revoke commands refuse', () => {
  it('is refused when never migrated, and not created (CongoServer)', async () => {
    const congo = await startCongoServer();
    const url = congo.url.replace('/?', '/cli_never?');
    const client = new MongoClient(url);
    try {
      const result = await cli(['revoke', '--user', 'u1', '--database-url', url, '--table', 'never']);
      expect(result).toMatchObject({
        status: 1,
        stdout: '',
        stderr: 'jwt-refresh: the store has no collection "never"; `jwt-refresh migrate --table never` creates it\n',
      });
      expect(await client.db('cli_never').listCollections({}, { nameOnly: true }).toArray()).toEqual([]);
      expect((await cli(['migrate', '--database-url', url, '--table', 'never'])).status).toBe(0);
      expect(await cli(['revoke', '--user', 'u1', '--database-url', url, '--table', 'never'])).toMatchObject({
        status: 0,
        stdout: 'Revoked 0 refresh token(s) of user u1\n',
      });
    } finally {
      await client.close();
      await congo.stop();
    }
  });
});

describe('with only jwt-refresh and its dependencies installed', () => {
  // An installed package: a copy of dist/ and package.json whose node_modules holds the four
  // dependencies and none of the optional peers (fastify, fastify-plugin, better-sqlite3, pg, mysql2, ioredis, mongodb).
  let installed: string;
  /** The package's dependencies: installed with it, so never in an install hint. */
  let dependencies: string[];
  const VERSION = '0.0.0-installed-test';

  beforeAll(() => {
    installed = join(mkdtempSync(join(scratch, 'installed-')), 'node_modules', 'jwt-refresh');
    const root = join(CLI, '../../..');
    cpSync(join(root, 'dist'), join(installed, 'dist'), { recursive: true });
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(installed, 'package.json'), JSON.stringify({ ...manifest, version: VERSION }));
    mkdirSync(join(installed, 'node_modules'));
    dependencies = Object.keys(manifest.dependencies as Record<string, string>);
    for (const dependency of dependencies) {
      symlinkSync(join(root, 'node_modules', dependency), join(installed, 'node_modules', dependency));
    }
  });

  /** Runs the installed copy's CLI (in `cwd`, else a fresh directory) with only PATH, TZ and `env`. */
  async function bare(args: string[], env: Record<string, string> = {}, cwd = mkdtempSync(join(scratch, 'bare-'))): Promise<CliResult> {
    const child = spawn(process.execPath, [join(installed, 'dist/cli/main.js'), ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', TZ: 'UTC', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
    const result = { status, stdout, stderr };
    outputs.push(result);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    return result;
  }

  it('runs --help, --version, keys generate, hash-password and token generate', async () => {
    const help = await bare(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^ {2}serve\b/m);
    expect(await bare(['--version'])).toMatchObject({ status: 0, stdout: `${VERSION}\n` });

    const dir = mkdtempSync(join(scratch, 'bare-keys-'));
    expect(await bare(['keys', 'generate', '--dir', dir])).toMatchObject({ status: 0, stderr: '' });
    expect(readdirSync(dir).sort()).toEqual(['private.pem', 'public.pem']);
    expect((await bare(['hash-password', '--password', 'pw'])).stdout).toMatch(/^\$scrypt\$/);
    const token = await bare(['token', 'generate', 'alice'], { JWT_SECRET_KEY: join(dir, 'private.pem') });
    expect(token).toMatchObject({ status: 0, stderr: '' });
  });

  it('stops serve with one line naming the packages to install (exit 2)', async () => {
    // Fastify, its plugin helper unless the package depends on it, and the store's driver.
    const server = ['fastify', 'fastify-plugin'].filter((name) => !dependencies.includes(name)).join(' ');
    expect(await bare(['serve'])).toMatchObject({
      status: 2,
      stdout: '',
      stderr: `jwt-refresh: serve needs the "fastify" package: npm install ${server} better-sqlite3\n`,
    });
    expect((await bare(['serve'], { DATABASE_URL: 'postgres://db.invalid/app' })).stderr).toBe(
      `jwt-refresh: serve needs the "fastify" package: npm install ${server} pg\n`,
    );
  });

  it.each([
    ['postgres://postgres@127.0.0.1:1/test', 'pg'],
    ['mariadb://root@127.0.0.1:1/test', 'mysql2'],
    ['redis://127.0.0.1:1', 'ioredis'],
    ['mongodb://127.0.0.1:1/test', 'mongodb'],
    ['sqlite:./tokens.db', 'better-sqlite3'],
  ])('names the driver of %s: npm install %s (exit 2), creating nothing', async (url, driver) => {
    const cwd = mkdtempSync(join(scratch, 'bare-'));
    const result = await bare(['migrate', '--database-url', url], {}, cwd);
    expect(result).toMatchObject({ status: 2, stdout: '' });
    expect(result.stderr).toMatch(new RegExp(`^jwt-refresh: the \\w+ store needs the "${driver}" package: npm install ${driver}\\n$`));
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe('--version', () => {
  it("prints the package's version", async () => {
    const { version } = JSON.parse(readFileSync(join(CLI, '../../../package.json'), 'utf8')) as { version: string };
    expect(await cli(['--version'])).toMatchObject({ status: 0, stdout: `${version}\n`, stderr: '' });
  });
});

describe('config errors', () => {
  it('reports every invalid option of the config file, with its path, the file and a suggestion for a typo', async () => {
    const configPath = join(scratch, `typos-${randomUUID()}.yaml`);
    writeFileSync(configPath, 'ttlUpdte: true\njwt:\n  algoritm: HS256\n  tokenTtl: -1\ncookie:\n  sameSite: sometimes\n');
    const result = await cli(['sessions', '--user', 'u1', '--config', configPath]);
    expect(result).toMatchObject({ status: 1, stdout: '' });
    expect(result.stderr.split('\n')).toHaveLength(2);
    expect(result.stderr).toMatch(new RegExp(`^jwt-refresh: Config file ${configPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    expect(result.stderr).toContain('ttlUpdte: unknown option, did you mean ttlUpdate?');
    expect(result.stderr).toContain('jwt.algoritm: unknown option, did you mean algorithm?');
    expect(result.stderr).toContain('jwt.tokenTtl:');
    expect(result.stderr).toContain('cookie.sameSite:');
  });

  it('names the errno of a missing key file once', async () => {
    const result = await cli(['token', 'generate', 'alice'], { env: { JWT_SECRET_KEY: join(scratch, 'no-such-key.pem') } });
    expect(result.status).toBe(1);
    expect(result.stderr.match(/ENOENT/g)).toHaveLength(1);
  });
});

describe('parseDateArgument', () => {
  // A fixed local instant: the expectations below are built in local time too, so any TZ works.
  const now = new Date(2026, 2, 15, 14, 30, 0);

  it.each([
    ['2015-08-08', new Date(2015, 7, 8)],
    ['2015-08-08 10:00', new Date(2015, 7, 8, 10, 0)],
    ['2015-08-08 10:00:00', new Date(2015, 7, 8, 10, 0, 0)],
    ['2015-08-08T10:00:00.250', new Date(2015, 7, 8, 10, 0, 0, 250)],
    ['2015-08-08T10:00:00Z', new Date(Date.UTC(2015, 7, 8, 10))],
    ['2015-08-08 10:00:00 UTC', new Date(Date.UTC(2015, 7, 8, 10))],
    ['2015-08-08T10:00:00+02:00', new Date(Date.UTC(2015, 7, 8, 8))],
    ['2015-08-08T10:00:00-0530', new Date(Date.UTC(2015, 7, 8, 15, 30))],
    ['@1438992000', new Date(1_438_992_000_000)],
    ['now', now],
    ['NOW', now],
    ['today', new Date(2026, 2, 15)],
    ['midnight', new Date(2026, 2, 15)],
    ['yesterday', new Date(2026, 2, 14)],
    ['tomorrow', new Date(2026, 2, 16)],
    ['-1 day', new Date(2026, 2, 14, 14, 30)],
    ['-2 weeks', new Date(2026, 2, 1, 14, 30)],
    ['+3 hours', new Date(now.getTime() + 3 * 3_600_000)],
    ['3 hours', new Date(now.getTime() + 3 * 3_600_000)],
    ['30 minutes ago', new Date(now.getTime() - 30 * 60_000)],
    ['-90 seconds', new Date(now.getTime() - 90_000)],
    ['-1 month -2 days', new Date(2026, 1, 13, 14, 30)],
    ['-1 year', new Date(2025, 2, 15, 14, 30)],
    ['yesterday -12 hours', new Date(2026, 2, 13, 12, 0)],
    ['2015-08-08 +10 hours', new Date(2015, 7, 8, 10)],
    ['2015-01-31 +1 month', new Date(2015, 2, 3)],
  ])('reads %s', (text, expected) => {
    expect(parseDateArgument(text, now)?.toISOString()).toBe(expected.toISOString());
  });

  it.each([
    '',
    ' ',
    'next tuesday',
    '2015-02-30',
    '2015-13-01',
    '2015-08-08T24:00:00',
    '2015-08-08T10:00:00+15:00',
    '1 parsec',
    '-1',
    'now now',
    '2015-08-08x',
  ])('refuses %j', (text) => {
    expect(parseDateArgument(text, now)).toBeNull();
  });
});

describe('output', () => {
  it('never contains a seeded refresh token', () => {
    expect(outputs.length).toBeGreaterThan(20);
    for (const { stdout, stderr } of outputs) {
      for (const token of seededTokens) {
        expect(stdout).not.toContain(token);
        expect(stderr).not.toContain(token);
      }
    }
  });
});
