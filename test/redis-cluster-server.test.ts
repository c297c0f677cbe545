/**
 * The standalone server and the CLI on a Redis Cluster, named by
 * `DATABASE_URL=redis+cluster://host:port,host:port`: a 3-master cluster this
 * file starts on loopback, `jwt-refresh serve` as a process serving a login,
 * a refresh and a logout over HTTP with the sessions in the per-user cluster
 * layout, then `jwt-refresh doctor` on the same URL.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, runCli } from './support/cli.js';
import { startRedisCluster, type RunningRedisCluster } from './support/redis-cluster.js';
import { type RunningServer, spawnServer, killServer } from './support/spawn-server.js';

/** The server's default key namespace (`keyPrefix` + `tableName`): the cluster is this file's own. */
const NAMESPACE = 'jwt-refresh:refresh_tokens:';

let cluster: RunningRedisCluster | undefined;
let admin: Cluster | undefined;
let cwd: string;
let server: RunningServer | undefined;

beforeAll(async () => {
  ensureBuilt();
  cwd = mkdtempSync(join(tmpdir(), 'jwt-refresh-redis-cluster-'));
  cluster = await startRedisCluster(3);
  admin = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
  admin.on('error', () => {});
  await once(admin, 'ready');
}, 30_000);

afterAll(async () => {
  await killServer(server);
  admin?.disconnect();
  await cluster?.stop();
  if (cwd !== undefined) rmSync(cwd, { recursive: true, force: true });
});

/** The cluster URL the server and the CLI get: two of the three masters, ioredis finds the third. */
function clusterUrl(running: RunningRedisCluster): string {
  return `redis+cluster://${running.ports
    .slice(0, 2)
    .map((port) => `127.0.0.1:${port}`)
    .join(',')}`;
}

/** Every key of the server's namespace, from every master. */
async function serverKeys(client: Cluster): Promise<string[]> {
  const perMaster = await Promise.all(client.nodes('master').map((node) => node.keys(`${NAMESPACE}*`)));
  return perMaster.flat();
}

async function post(baseUrl: string, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('jwt-refresh serve and the CLI on DATABASE_URL=redis+cluster://…', () => {
  it('logs in, refreshes and logs out with the sessions in the cluster layout, then doctor finds the store clean', async () => {
    if (cluster === undefined || admin === undefined) throw new Error('the Redis Cluster did not start');
    const env = { DATABASE_URL: clusterUrl(cluster), LOG_LEVEL: 'silent' };
    server = await spawnServer(env, cwd);
    const { baseUrl } = server;

    const login = await post(baseUrl, '/api/login_check', { username: 'demo', password: 'demo' });
    expect(login.status, server.output()).toBe(200);
    const refreshed = await post(baseUrl, '/api/token/refresh', { refresh_token: login.json.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.refresh_token).not.toBe(login.json.refresh_token);

    // The per-user layout: the demo user's two records under one hash tag, with an owner key per token.
    const keys = await serverKeys(admin);
    const records = keys.filter((key) => /^\{u:[^}]+\}:token:/.test(key.slice(NAMESPACE.length)));
    expect(records).toHaveLength(2);
    expect(new Set(records.map((key) => key.slice(0, key.indexOf('}')))).size).toBe(1);
    expect(keys.filter((key) => key.startsWith(`${NAMESPACE}owner:`))).toHaveLength(2);

    const logout = await post(baseUrl, '/api/token/invalidate', { refresh_token: refreshed.json.refresh_token });
    expect(logout).toEqual({ status: 200, json: { code: 200, message: 'The supplied refresh_token has been invalidated.' } });
    const after = await post(baseUrl, '/api/token/refresh', { refresh_token: refreshed.json.refresh_token });
    expect(after).toEqual({ status: 401, json: { code: 401, message: 'Invalid JWT Refresh Token' } });

    const doctor = await runCli(['doctor', '--json'], { cwd, env: { DATABASE_URL: env.DATABASE_URL } });
    // This cluster persists nothing, which the store says on stderr, as on one server; nothing else goes there.
    const warnings = doctor.stderr.split('\n').filter((line) => line !== '');
    for (const line of warnings) expect(JSON.parse(line)).toMatchObject({ level: 'warn', store: 'redis', appendonly: 'no' });
    expect(doctor.status).toBe(0);
    expect(JSON.parse(doctor.stdout)).toMatchObject({ clean: true, records: 2, violations: 0 });

    server.process.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  }, 30_000);

  it('refuses a cluster URL without nodes, with a database number, a query or an empty host, naming the form and not the password', async () => {
    const refused = [
      'redis+cluster://',
      'redis+cluster://:hunter2@127.0.0.1:7000/1',
      'redis+cluster://127.0.0.1:7000?db=1',
      'redis+cluster://a,,b',
    ];
    for (const url of refused) {
      const result = await runCli(['doctor'], { cwd, env: { DATABASE_URL: url } });
      expect(result.status, url).toBe(1);
      expect(result.stderr, url).toMatch(/^jwt-refresh: DATABASE_URL: .*redis\+cluster:\/\/host:port,host:port/);
      expect(result.stderr, url).not.toContain('hunter2');
      expect(result.stdout, url).toBe('');
    }
  });
});
