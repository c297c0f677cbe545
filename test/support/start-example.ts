import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './spawn-server.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const EXAMPLES = join(ROOT, 'examples');

function newestMtime(directory: string): number {
  return readdirSync(directory, { recursive: true, encoding: 'utf8' })
    .map((name) => statSync(join(directory, name)))
    .filter((stat) => stat.isFile())
    .reduce((newest, stat) => Math.max(newest, stat.mtimeMs), 0);
}

function isBuilt(): boolean {
  const marker = join(ROOT, 'dist', 'index.js');
  return existsSync(marker) && statSync(marker).mtimeMs >= newestMtime(join(ROOT, 'src'));
}

/**
 * The examples import the package by name, which resolves to dist/: build it unless `npm test`
 * just did. Test files run in parallel workers, so a lock lets one of them build while the
 * others wait: no example imports a dist/ file another tsc is halfway through writing.
 */
export function ensureBuilt(): void {
  const lock = join(ROOT, 'node_modules', '.cache', 'jwt-refresh-example-build.lock');
  mkdirSync(dirname(lock), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    // A lock older than any build is left over from a killed run.
    const held = statSync(lock, { throwIfNoEntry: false });
    if (held !== undefined && Date.now() - held.mtimeMs > 180_000) rmSync(lock, { recursive: true, force: true });
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
  try {
    if (!isBuilt())
      spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: ROOT });
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface RunningExample {
  child: ChildProcess;
  baseUrl: string;
  output(): string;
}

/** Starts `node examples/<name>/app.mjs` on a free port and waits until it answers HTTP (any status on `/api/me`). */
export async function startExample(name: string): Promise<RunningExample> {
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

/** Kills a started example and waits for it to exit; nothing to do when it is gone already. */
export async function stopExample(running: RunningExample | null): Promise<void> {
  const child = running?.child;
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** POSTs `body` as JSON to a running example; the status and the parsed JSON answer. */
export async function postJson(baseUrl: string, path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}
