import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/spawn-server.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');
const examples = existsSync(EXAMPLES)
  ? readdirSync(EXAMPLES).filter((name) => existsSync(join(EXAMPLES, name, 'app.mjs'))).sort()
  : [];

function newestMtime(directory: string): number {
  return readdirSync(directory, { recursive: true, encoding: 'utf8' })
    .map((name) => statSync(join(directory, name)))
    .filter((stat) => stat.isFile())
    .reduce((newest, stat) => Math.max(newest, stat.mtimeMs), 0);
}

/** The examples import the package by name, which resolves to dist/: build it unless `npm test` just did. */
function ensureBuilt(): void {
  const marker = join(ROOT, 'dist', 'index.js');
  if (existsSync(marker) && statSync(marker).mtimeMs >= newestMtime(join(ROOT, 'src'))) return;
  spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: ROOT });
}

interface RunningExample {
  child: ChildProcess;
  baseUrl: string;
  output(): string;
}

/** Starts `node examples/<name>/app.mjs` on a free port and waits until it answers HTTP. */
async function startExample(name: string): Promise<RunningExample> {
  const port = await freePort();
  const child = spawn(process.execPath, [join('examples', name, 'app.mjs')], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`examples/${name} exited with ${child.exitCode}:\n${output}`);
    try {
      await fetch(`${baseUrl}/api/me`);
      break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`examples/${name} did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, baseUrl, output: () => output };
}

/** Every examples/<framework>/app.mjs, run as a user would, through the README's curl session. */
describe.runIf(examples.length > 0)('examples', () => {
  let running: RunningExample | null = null;

  beforeAll(ensureBuilt, 120_000);
  afterEach(async () => {
    const child = running?.child;
    running = null;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  });

  it.each(examples)('examples/%s/app.mjs serves the README session', async (name) => {
    running = await startExample(name);
    const { baseUrl } = running;
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${baseUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };

    const login = await post('/api/login_check', { username: 'demo', password: 'demo' });
    expect(login.status).toBe(200);
    expect(login.json.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(login.json.refresh_token).toMatch(/^[0-9a-f]{128}$/);

    const me = await fetch(`${baseUrl}/api/me`, { headers: { authorization: `Bearer ${login.json.token as string}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: 'demo', roles: ['ROLE_USER'] });
    const anonymous = await fetch(`${baseUrl}/api/me`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ code: 401, message: 'JWT Token not found' });

    const refreshed = await post('/api/token/refresh', { refresh_token: login.json.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(refreshed.json.refresh_token).toMatch(/^[0-9a-f]{128}$/);
    expect(refreshed.json.refresh_token).not.toBe(login.json.refresh_token);

    const logout = await post('/api/token/invalidate', { refresh_token: refreshed.json.refresh_token });
    expect(logout).toEqual({ status: 200, json: { code: 200, message: 'The supplied refresh_token has been invalidated.' } });

    const afterLogout = await post('/api/token/refresh', { refresh_token: refreshed.json.refresh_token });
    expect(afterLogout).toEqual({ status: 401, json: { code: 401, message: 'Invalid JWT Refresh Token' } });
  });
});
