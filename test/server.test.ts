import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { ensureKeysAndSecret } from '../src/server/dev-material.js';
import { CLI, freePort, type RunningServer, spawnServer, killServer } from './support/spawn-server.js';

const PUBLIC_ONLY_PEM = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

/**
 * The standalone server as a user meets it (SPEC §12): the built CLI in a
 * child process, spoken to over TCP, running the README's curl session.
 */
describe('standalone server', () => {
  let cwd: string;
  let server: RunningServer | null = null;

  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'jwt-refresh-server-'));
  });
  afterEach(async () => {
    await killServer(server);
    server = null;
    rmSync(cwd, { recursive: true, force: true });
  });

  // Cookie mode by default, yet a client that is no browser sends no extra header (docs/csrf.md).
  async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${server!.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  it('serves the README curl session on the default SQLite file, then shuts down gracefully', async () => {
    server = await spawnServer({}, cwd);
    const output = server.output();
    expect(output).toContain('Seeded the demo user');
    expect(output).toContain('Generated a development');

    const login = await post('/api/login_check', { username: 'demo', password: 'demo' });
    expect(login.status).toBe(200);
    expect(login.json.refresh_token).toMatch(/^[0-9a-f]{128}$/);

    const me = await fetch(`${server.baseUrl}/api/me`, { headers: { authorization: `Bearer ${login.json.token as string}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: 'demo', roles: ['ROLE_USER'] });
    const anonymous = await fetch(`${server.baseUrl}/api/me`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ code: 401, message: 'JWT Token not found' });

    const refreshed = await post('/api/token/refresh', { refresh_token: login.json.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.refresh_token).not.toBe(login.json.refresh_token);

    const logout = await post('/api/token/invalidate', { refresh_token: refreshed.json.refresh_token });
    expect(logout).toEqual({ status: 200, json: { code: 200, message: 'The supplied refresh_token has been invalidated.' } });
    const after = await post('/api/token/refresh', { refresh_token: refreshed.json.refresh_token });
    expect(after).toEqual({ status: 401, json: { code: 401, message: 'Invalid JWT Refresh Token' } });

    // Logs carry no token: neither the refresh tokens nor the access token appear.
    for (const secret of [login.json.refresh_token, refreshed.json.refresh_token, login.json.token] as string[]) {
      expect(server.output()).not.toContain(secret);
    }

    server.process.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    // The database was closed: SQLite removes the WAL file on the last clean close.
    expect(existsSync(join(cwd, 'var/jwt-refresh.db'))).toBe(true);
    expect(existsSync(join(cwd, 'var/jwt-refresh.db-wal'))).toBe(false);
    const db = new Database(join(cwd, 'var/jwt-refresh.db'), { readonly: true });
    const rows = db.prepare('SELECT token_hash FROM refresh_tokens').all() as Array<{ token_hash: string }>;
    db.close();
    expect(rows).toHaveLength(2);
    expect(rows.map((row) => row.token_hash)).not.toContain(login.json.refresh_token);
  });

  it.each([
    ['PostgreSQL', process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test'],
    ['Redis', process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'],
  ])('serves the README curl session on %s through DATABASE_URL', async (_name, databaseUrl) => {
    server = await spawnServer({ DATABASE_URL: databaseUrl }, cwd);
    if (server.process.exitCode !== null) throw new Error(`server did not start on ${databaseUrl}:\n${server.output()}`);
    const login = await post('/api/login_check', { username: 'demo', password: 'demo' });
    expect(login.status).toBe(200);
    expect(login.json.refresh_token).toMatch(/^[0-9a-f]{128}$/);
    const me = await fetch(`${server.baseUrl}/api/me`, { headers: { authorization: `Bearer ${login.json.token as string}` } });
    expect(me.status).toBe(200);
    const refreshed = await post('/api/token/refresh', { refresh_token: login.json.refresh_token });
    expect(refreshed.status).toBe(200);
    const logout = await post('/api/token/invalidate', { refresh_token: refreshed.json.refresh_token });
    expect(logout.json.message).toBe('The supplied refresh_token has been invalidated.');
    expect(await post('/api/token/refresh', { refresh_token: refreshed.json.refresh_token })).toEqual({
      status: 401,
      json: { code: 401, message: 'Invalid JWT Refresh Token' },
    });
    server.process.kill('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('keeps the generated keys, secret and users across restarts', async () => {
    server = await spawnServer({}, cwd);
    const login = await post('/api/login_check', { username: 'demo', password: 'demo' });
    server.process.kill('SIGTERM');
    await server.exited;
    const key = readFileSync(join(cwd, 'var/jwt-es256-private.pem'), 'utf8');

    server = await spawnServer({}, cwd);
    expect(server.output()).not.toContain('Seeded the demo user');
    expect(readFileSync(join(cwd, 'var/jwt-es256-private.pem'), 'utf8')).toBe(key);
    const me = await fetch(`${server.baseUrl}/api/me`, { headers: { authorization: `Bearer ${login.json.token as string}` } });
    expect(me.status).toBe(200);
    expect((await post('/api/token/refresh', { refresh_token: login.json.refresh_token })).status).toBe(200);
  });

  it('honours DATABASE_URL and a gesdinet config file from JWT_REFRESH_CONFIG', async () => {
    const configPath = join(cwd, 'jwt_refresh.yaml');
    writeFileSync(
      configPath,
      ['gesdinet_jwt_refresh_token:', '  ttl: 120', '  token_parameter_name: refreshToken', '  return_expiration: true', ''].join('\n'),
    );
    server = await spawnServer({ DATABASE_URL: 'sqlite:./data/custom.db', JWT_REFRESH_CONFIG: configPath }, cwd);
    const started = Math.floor(Date.now() / 1000);
    const login = await post('/api/login_check', { username: 'demo', password: 'demo' });
    expect(login.json.refreshToken).toMatch(/^[0-9a-f]{128}$/);
    expect(login.json.refresh_token_expiration).toBeGreaterThanOrEqual(started + 120);
    expect(login.json.refresh_token_expiration).toBeLessThanOrEqual(started + 122);
    // The bundle's single_use default (false): the same token comes back.
    const refreshed = await post('/api/token/refresh', { refreshToken: login.json.refreshToken });
    expect(refreshed.json.refreshToken).toBe(login.json.refreshToken);
    expect(existsSync(join(cwd, 'data/custom.db'))).toBe(true);
    // A pasted gesdinet section without `cookie` keeps the bundle's default: no cookie mode.
    const plain = await fetch(`${server.baseUrl}/api/login_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'demo', password: 'demo' }),
    });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('set-cookie')).toBeNull();
  });

  it('serves the demo page under a hash-pinned CSP, and the claims never cacheable', async () => {
    server = await spawnServer({}, cwd);
    const page = await fetch(`${server.baseUrl}/`);
    expect(page.status).toBe(200);
    const policy = page.headers.get('content-security-policy') ?? '';
    expect(policy).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*';/);
    expect(policy).not.toContain('unsafe-inline');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    const login = await post('/api/login_check', { username: 'demo', password: 'demo' });
    const me = await fetch(`${server.baseUrl}/api/me`, { headers: { authorization: `Bearer ${login.json.token as string}` } });
    expect(me.headers.get('cache-control')).toBe('no-store');
    const badUrl = await fetch(`${server.baseUrl}/%zz?refresh_token=secret-in-url`);
    expect([badUrl.status, await badUrl.json()]).toEqual([400, { code: 400, message: 'Bad Request' }]);
  });

  it('shares revocation across two server processes on one SQLite file', async () => {
    server = await spawnServer({}, cwd);
    const first = server;
    const second = await spawnServer({}, cwd);
    try {
      const login = await post('/api/login_check', { username: 'demo', password: 'demo' });
      const auth = { authorization: `Bearer ${login.json.token as string}` };
      expect((await fetch(`${second.baseUrl}/api/me`, { headers: auth })).status).toBe(200);

      // A logout on the first instance ends the presented access token on the second.
      const other = await post('/api/login_check', { username: 'demo', password: 'demo' });
      const otherAuth = { authorization: `Bearer ${other.json.token as string}` };
      await fetch(`${first.baseUrl}/api/token/invalidate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...otherAuth },
        body: JSON.stringify({ refresh_token: other.json.refresh_token }),
      });
      expect((await fetch(`${second.baseUrl}/api/me`, { headers: otherAuth })).status).toBe(401);

      // Log out everywhere on the first; the second refuses the access token and the refresh token.
      const everywhere = await fetch(`${first.baseUrl}/api/sessions/revoke-all`, { method: 'POST', headers: auth });
      expect(everywhere.status).toBe(200);
      const me = await fetch(`${second.baseUrl}/api/me`, { headers: auth });
      expect([me.status, await me.json()]).toEqual([401, { code: 401, message: 'Invalid JWT Token' }]);
      const refreshed = await fetch(`${second.baseUrl}/api/token/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token: login.json.refresh_token }),
      });
      expect(refreshed.status).toBe(401);
    } finally {
      second.process.kill('SIGTERM');
      await second.exited;
    }
  });

  it("runs the README's curl session as written, with no extra header", async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('## A session with curl'));
    const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toContain('curl -s -X POST http://127.0.0.1:8080/api/login_check');
    server = await spawnServer({ LOG_LEVEL: 'silent' }, cwd);
    const script = block!.replaceAll('http://127.0.0.1:8080', server.baseUrl);
    const result = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd, encoding: 'utf8', timeout: 20_000 });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const login = JSON.parse(readFileSync(join(cwd, 'login.json'), 'utf8')) as Record<string, unknown>;
    expect(login.refresh_token).toMatch(/^[0-9a-f]{128}$/);
    const refreshed = JSON.parse(readFileSync(join(cwd, 'refresh.json'), 'utf8')) as Record<string, unknown>;
    expect(refreshed.refresh_token).toMatch(/^[0-9a-f]{128}$/);
    expect(refreshed.refresh_token).not.toBe(login.refresh_token);
    expect(result.stdout).toContain('"username":"demo"');
    expect(result.stdout).toContain('{"code":401,"message":"JWT Token not found"}');
    expect(result.stdout).toContain('{"code":200,"message":"The supplied refresh_token has been invalidated."}');
    expect(result.stdout.endsWith('{"code":401,"message":"Invalid JWT Refresh Token"}')).toBe(true);
  });

  it('refuses an invalid jwt.algorithm in the config file before it makes a development key, naming the file and the option', () => {
    writeFileSync(join(cwd, 'bad-algorithm.yaml'), 'jwt:\n  algorithm: XS256\n');
    const result = spawnSync(process.execPath, [CLI, 'serve'], {
      cwd,
      env: { PATH: process.env.PATH ?? '', PORT: '0', JWT_REFRESH_CONFIG: 'bad-algorithm.yaml' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^jwt-refresh: Config file bad-algorithm\.yaml: jwt\.algorithm: [^\n]+\n$/);
    expect(existsSync(join(cwd, 'var'))).toBe(false);
  });

  it('validates the options before it makes development material from them', async () => {
    const dataDirectory = join(cwd, 'var');
    const error: unknown = await ensureKeysAndSecret({ jwt: { algorithm: 'XS256' as never } }, dataDirectory, false, () => {}).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('jwt.algorithm');
    expect(existsSync(dataDirectory)).toBe(false);
  });

  it('listens on --host and --port, which override HOST and PORT', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port)], {
      cwd,
      // Neither is used: the options win, so even an invalid PORT does not stop the start.
      env: { PATH: process.env.PATH ?? '', HOST: '0.0.0.0', PORT: 'eighty', LOG_LEVEL: 'silent' },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      let healthy = false;
      for (let attempt = 0; attempt < 200 && !healthy && child.exitCode === null; attempt += 1) {
        healthy = await fetch(`http://127.0.0.1:${port}/health`).then(
          (response) => response.ok,
          () => false,
        );
        if (!healthy) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(healthy).toBe(true);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  it.each([
    ['--port', 'eighty'],
    ['--port', '0x1F90'],
    ['--port', '65536'],
    ['--host', ''],
  ])('refuses serve %s %j as a usage error (exit 2)', (option, value) => {
    const result = spawnSync(process.execPath, [CLI, 'serve', option, value], {
      cwd,
      env: { PATH: process.env.PATH ?? '' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`option '${option} `);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(cwd, 'var'))).toBe(false);
  });

  it.each([
    ['production without a signing key', { NODE_ENV: 'production' }, 'jwt.secretKey (or JWT_SECRET_KEY) is required'],
    ['a bad PORT', { PORT: 'eighty' }, 'PORT'],
    ['an unsupported store', { DATABASE_URL: 'oracle://db' }, 'DATABASE_URL'],
    ['a public key without a signing key', { JWT_PUBLIC_KEY: PUBLIC_ONLY_PEM }, 'jwt.secretKey (or JWT_SECRET_KEY) is required'],
    ['a PORT that is not digits', { PORT: '0x1F90' }, 'PORT'],
    ['an invalid option in the config file', { JWT_REFRESH_CONFIG: 'bad.json' }, 'ttl'],
  ])('refuses to start with %s, saying why', (_name, env, message) => {
    writeFileSync(join(cwd, 'bad.json'), JSON.stringify({ ttl: -5 }));
    const result = spawnSync(process.execPath, [CLI, 'serve'], {
      cwd,
      env: { PATH: process.env.PATH ?? '', PORT: '0', ...env },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
