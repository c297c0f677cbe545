import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from './support/cli.js';
import { type RunningServer, spawnServer, killServer } from './support/spawn-server.js';

/**
 * Crash safety of rotation: the standalone server is SIGKILLed while clients
 * rotate their refresh tokens as fast as it answers, restarted on the same
 * store, and then `jwt-refresh doctor` must find the store consistent and
 * every client's chain must go on. Rotation is one transaction (SQLite) or
 * one statement (PostgreSQL), so a kill at any instant leaves either the old
 * state or the new one, never half of it.
 */

const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const POSTGRES_HINT =
  'start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` ' +
  '(or install it: `apt-get update && apt-get install -y postgresql`), or point POSTGRES_URL at another server.';
/** Clients, each rotating its own token chain. */
const CLIENTS = 6;
/** How long the clients refresh before the kill. */
const LOAD_MS = 3000;
/** Generous, so the replay of a token rotated by a request the kill cut off stays inside it however slow the restart. */
const GRACE_SECONDS = 120;
const SECRET = randomBytes(32).toString('hex');

/** One client's chain: the last refresh token the server answered with, and how many refreshes it got. */
interface Chain {
  token: string;
  refreshes: number;
}

let cwd: string;
let server: RunningServer | null = null;

beforeAll(() => {
  ensureBuilt();
});

beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), 'jwt-refresh-crash-'));
  // The server's rate limits stay on (their counters are store writes the kill may cut too), raised above the load.
  const rateLimit = { enabled: true, refresh: 1_000_000, family: 1_000_000, login: 1000 };
  writeFileSync(join(cwd, 'config.json'), JSON.stringify({ reuseGraceSeconds: GRACE_SECONDS, rateLimit }));
});

afterEach(async () => {
  // Only our own server process is ever killed, never the database.
  await killServer(server);
  server = null;
  rmSync(cwd, { recursive: true, force: true });
});

function serverEnv(databaseUrl: string): Record<string, string> {
  return { DATABASE_URL: databaseUrl, JWT_REFRESH_CONFIG: join(cwd, 'config.json'), REFRESH_TOKEN_SECRET: SECRET, LOG_LEVEL: 'silent' };
}

async function post(baseUrl: string, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function login(baseUrl: string): Promise<Chain> {
  const answer = await post(baseUrl, '/api/login_check', { username: 'demo', password: 'demo' });
  expect(answer.status).toBe(200);
  return { token: answer.json.refresh_token as string, refreshes: 0 };
}

/**
 * Refreshes the chain until the server stops answering. Only a network failure (the kill) ends it; any answer but
 * 200 is a failure of the test, since nothing else touches these sessions.
 */
async function refreshUntilKilled(baseUrl: string, chain: Chain, statuses: number[]): Promise<void> {
  for (;;) {
    let answer: { status: number; json: Record<string, unknown> };
    try {
      answer = await post(baseUrl, '/api/token/refresh', { refresh_token: chain.token });
    } catch {
      return;
    }
    if (answer.status !== 200) {
      statuses.push(answer.status);
      return;
    }
    chain.token = answer.json.refresh_token as string;
    chain.refreshes += 1;
  }
}

/** Runs the whole scenario on the store at `databaseUrl`. */
async function crashUnderLoadAndRecover(databaseUrl: string): Promise<void> {
  server = await spawnServer(serverEnv(databaseUrl), cwd);
  const first = server;
  const chains: Chain[] = [];
  for (let i = 0; i < CLIENTS; i += 1) chains.push(await login(first.baseUrl));

  const statuses: number[] = [];
  const load = Promise.all(chains.map((chain) => refreshUntilKilled(first.baseUrl, chain, statuses)));
  await new Promise((resolve) => setTimeout(resolve, LOAD_MS));
  // Mid-load: requests are in flight, some rotations committed whose answer never leaves the process.
  first.process.kill('SIGKILL');
  expect(await first.exited).toBeNull();
  expect(first.process.signalCode).toBe('SIGKILL');
  await load;
  expect(statuses).toEqual([]);
  const total = chains.reduce((sum, chain) => sum + chain.refreshes, 0);
  // Under load, not idle: every chain rotated many times.
  for (const chain of chains) expect(chain.refreshes).toBeGreaterThan(5);
  expect(total).toBeGreaterThan(CLIENTS * 5);

  server = await spawnServer(serverEnv(databaseUrl), cwd);
  const doctor = await runCli(['doctor', '--json'], { cwd, env: { DATABASE_URL: databaseUrl } });
  expect(doctor.stderr).toBe('');
  expect(doctor.status).toBe(0);
  const report = JSON.parse(doctor.stdout) as { clean: boolean; records: number; violations: number };
  expect(report).toMatchObject({ clean: true, violations: 0 });
  // One record per login and per answered refresh at least (a cut-off request may have added one more per chain).
  expect(report.records).toBeGreaterThanOrEqual(CLIENTS + total);
  expect(report.records).toBeLessThanOrEqual(2 * CLIENTS + total);

  // Each client's last answered token still works: it is current, or a request the kill cut off rotated it, and
  // inside the grace window the server hands out that same (never delivered) successor again.
  for (const chain of chains) {
    const next = await post(server.baseUrl, '/api/token/refresh', { refresh_token: chain.token });
    expect(next.status).toBe(200);
    const after = await post(server.baseUrl, '/api/token/refresh', { refresh_token: next.json.refresh_token });
    expect(after.status).toBe(200);
  }
  const again = await runCli(['doctor'], { cwd, env: { DATABASE_URL: databaseUrl } });
  expect(again.status).toBe(0);
  expect(again.stdout).toContain('Store is consistent');

  server.process.kill('SIGTERM');
  expect(await server.exited).toBe(0);
}

describe('kill -9 under refresh load', () => {
  it('SQLite: restart, doctor clean, every chain continues', async () => {
    await crashUnderLoadAndRecover(`sqlite:${join(cwd, 'var', 'tokens.db')}`);
  }, 40_000);

  describe('PostgreSQL', () => {
    const database = `jwt_refresh_crash_${randomBytes(6).toString('hex')}`;
    let admin: pg.Pool;

    beforeAll(async () => {
      admin = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
      try {
        await admin.query(`CREATE DATABASE ${database}`);
      } catch (error) {
        await admin.end();
        throw new Error(`PostgreSQL is not reachable at ${POSTGRES_URL} (${(error as Error).message}): ${POSTGRES_HINT}`);
      }
    });

    afterAll(async () => {
      // Our own database only; the server holding it open was killed or stopped already.
      await admin?.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin?.end();
    });

    it('restart, doctor clean, every chain continues', async () => {
      const url = new URL(POSTGRES_URL);
      url.pathname = `/${database}`;
      await crashUnderLoadAndRecover(url.toString());
    }, 40_000);
  });
});
