// Runs a Node script as a child process and measures what it used: wall time, peak RSS and CPU time.
// Shared by the benches that time the CLI (bench/clear-million.mjs, bench/import-gesdinet.mjs).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs `node ...args` with stdout and stderr captured. Peak RSS (kB) and CPU seconds come from /usr/bin/time when
 * present; without it, peak RSS is VmHWM polled every 20 ms from /proc and CPU seconds are null.
 * `options`: { cwd, env } for the child (the bench's own when absent).
 * Resolves to { code, stdout, stderr, wallMs, peakRssKb, cpuSeconds, rssMethod }.
 */
export function runMeasured(args, { cwd, env } = {}) {
  const useTime = existsSync('/usr/bin/time');
  const timeFile = join(tmpdir(), `bench-time-${process.pid}-${randomBytes(4).toString('hex')}`);
  const started = performance.now();
  const child = useTime
    ? spawn('/usr/bin/time', ['-f', '%M %U %S', '-o', timeFile, process.execPath, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  let polledKb = 0;
  const poll = useTime
    ? null
    : setInterval(() => {
        try {
          const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
          if (match) polledKb = Math.max(polledKb, Number(match[1]));
        } catch {
          // exited between two polls
        }
      }, 20);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      const wallMs = performance.now() - started;
      if (poll) clearInterval(poll);
      let peakRssKb = polledKb;
      let cpuSeconds = null;
      if (useTime) {
        // The last line: /usr/bin/time writes "Command exited with non-zero status N" above it on a failure.
        const [rss, user, system] = (readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '').split(' ').map(Number);
        peakRssKb = rss;
        cpuSeconds = user + system;
        rmSync(timeFile, { force: true });
      }
      resolve({ code, stdout, stderr, wallMs, peakRssKb, cpuSeconds, rssMethod: useTime ? '/usr/bin/time %M' : '/proc VmHWM polled' });
    });
  });
}
