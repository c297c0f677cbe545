import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built CLI, as `npm test` (which builds first) and users run it. */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Builds dist/ when it is missing (a bare `npx vitest` on a fresh checkout); `npm test` builds anyway. */
export function ensureBuilt(): void {
  if (existsSync(CLI)) return;
  const result = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (!existsSync(CLI)) throw new Error(`could not build the CLI:\n${result.stdout}${result.stderr}`);
}

/** What one CLI run printed and how it ended. */
export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runCli}. */
export interface RunCliOptions {
  /** Working directory (relative store paths and ./var resolve there). */
  cwd: string;
  /** Environment on top of PATH and TZ=UTC; nothing else leaks in from the test process. */
  env?: Record<string, string>;
  /** Written to stdin, which is then closed. */
  input?: string;
}

/** Runs `jwt-refresh <args>` from dist/ in a child process. */
export function runCli(args: string[], options: RunCliOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '', TZ: 'UTC', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
