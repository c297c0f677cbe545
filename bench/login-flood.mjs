// `npm run bench:login-flood`: token-route latency while logins for unknown users flood
// the standalone server (issue 11). Runnable alone.
//
// For each server configuration it starts `jwt-refresh serve` (dist/cli/bin.cjs, as
// `npm start` does, so UV_THREADPOOL_SIZE is sized by the executable) on a fresh SQLite
// file, then measures, from this process:
//   quiet   refresh (rotation) and GET /api/me latency, nothing else running;
//   flood   the same while FLOOD_CONCURRENCY clients post logins for unknown users in a
//           closed loop (each client sends its next login when the previous one answered).
// Configurations:
//   unbounded  passwordHashing.concurrency 64: every login hashes at once, as before the
//              check queue existed (issue 11's measurement);
//   bounded    the defaults: concurrency = cores − 1 (at most the pool − 2), 32 queued.
// The flood is distributed: every login carries its own X-Forwarded-For (trustProxy on),
// so the server's default per-IP login limit (10/min) does not stop it. The refresh and
// family limits are raised for the measuring clients only because they refresh hundreds of
// times a minute from one address; logins keep the default limit.
//
// Prints a table and writes its section at the end of docs/benchmarks.md (between
// <!-- login-flood:start --> and <!-- login-flood:end -->, replaced on each run; nothing
// else in the file is touched). Exits 1 if a measured request failed.
//
// Environment:
//   FLOOD_DURATION      seconds per measured phase (default 8)
//   FLOOD_WARMUP        seconds of unreported load before each phase (default 1)
//   FLOOD_CONCURRENCY   concurrent unknown-user logins (default 16)
//   FLOOD_CLIENTS       refresh loops and /api/me loops, each (default 2)
//   FLOOD_WRITE_DOCS    0 = do not write docs/benchmarks.md (default 1)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { envNumber, writeBenchmarksSection } from './benchmarks-page.mjs';
import { Agent, request } from 'node:http';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DURATION = envNumber('FLOOD_DURATION', 8);
const WARMUP = envNumber('FLOOD_WARMUP', 1);
const FLOOD = Math.max(1, Math.floor(envNumber('FLOOD_CONCURRENCY', 16)));
const CLIENTS = Math.max(1, Math.floor(envNumber('FLOOD_CLIENTS', 2)));
const WRITE_DOCS = process.env.FLOOD_WRITE_DOCS !== '0';
const GOAL = 3;
const START = '<!-- login-flood:start -->';
const END = '<!-- login-flood:end -->';
const BIN = join(root, 'dist/cli/bin.cjs');

const CONFIGS = [
  { id: 'unbounded', label: 'unbounded (concurrency 64, the old behaviour)', passwordHashing: { concurrency: 64, maxQueued: 0 } },
  { id: 'bounded', label: 'bounded (defaults)', passwordHashing: {} },
];

if (!existsSync(BIN)) {
  console.error('dist/cli/bin.cjs is missing: run `npm run build` (or `npm run bench:login-flood`, which builds)');
  process.exit(2);
}

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** One HTTP request; resolves { status, body, ms }. */
function call(port, method, path, { body, headers = {} } = {}) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        agent,
        headers: { ...(payload === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      },
      (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolvePromise({ status: res.statusCode, body: text, ms: performance.now() - started });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function freePort() {
  return new Promise((resolvePromise, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePromise(port));
    });
  });
}

let ipCounter = 0;
/** A fresh client address per request: a distributed flood, past any per-IP limit. */
function nextIp() {
  ipCounter += 1;
  return `10.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
}

async function startServer(config) {
  const dir = mkdtempSync(join(tmpdir(), `jwt-refresh-flood-${config.id}-`));
  const configFile = join(dir, 'jwt-refresh.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      trustProxy: true,
      rateLimit: { enabled: true, refresh: 1_000_000, family: 1_000_000 },
      passwordHashing: config.passwordHashing,
    }),
  );
  const port = await freePort();
  // UV_THREADPOOL_SIZE left out: the executable sizes the pool, as for an operator who sets nothing.
  const env = { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', JWT_REFRESH_CONFIG: configFile };
  env.DATABASE_URL = `sqlite:${join(dir, 'jwt-refresh.db')}`;
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited:\n${output}`);
    try {
      if ((await call(port, 'GET', '/health')).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const threads = Number(/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
  return {
    port,
    threads,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function logIn(port) {
  const response = await call(port, 'POST', '/api/login_check', {
    body: { username: 'demo', password: 'demo' },
    headers: { 'x-forwarded-for': nextIp() },
  });
  if (response.status !== 200) throw new Error(`demo login failed: ${response.status} ${response.body}`);
  const body = JSON.parse(response.body);
  return { token: body.token, refreshToken: body.refresh_token };
}

/** Closed loops of refreshes (each rotating its own token) and of GET /api/me until `until`. */
async function measureTokenRoutes(port, sessions, until) {
  const samples = { refresh: [], me: [] };
  const errors = [];
  const refreshLoop = async (session) => {
    while (performance.now() < until) {
      const response = await call(port, 'POST', '/api/token/refresh', {
        body: { refresh_token: session.refreshToken },
        headers: { 'x-forwarded-for': '192.0.2.1' },
      });
      if (response.status !== 200) {
        errors.push(`refresh ${response.status}`);
        return;
      }
      const body = JSON.parse(response.body);
      session.refreshToken = body.refresh_token;
      session.token = body.token;
      samples.refresh.push(response.ms);
    }
  };
  const meLoop = async (session) => {
    while (performance.now() < until) {
      const response = await call(port, 'GET', '/api/me', { headers: { authorization: `Bearer ${session.token}` } });
      if (response.status !== 200) {
        errors.push(`me ${response.status}`);
        return;
      }
      samples.me.push(response.ms);
    }
  };
  await Promise.all([...sessions.refresh.map(refreshLoop), ...sessions.me.map(meLoop)]);
  return { samples, errors };
}

/** FLOOD closed-loop clients posting logins for unknown users until `until`. */
async function flood(port, until) {
  const statuses = {};
  const latencies = [];
  const client = async (n) => {
    let i = 0;
    while (performance.now() < until) {
      i += 1;
      const response = await call(port, 'POST', '/api/login_check', {
        body: { username: `nobody-${n}-${i}-${Math.random().toString(36).slice(2)}`, password: 'guess' },
        headers: { 'x-forwarded-for': nextIp() },
      });
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      latencies.push(response.ms);
      // A refused login comes back at once; its client pauses 50 ms rather than spin
      // (a real flood client might not pause; a 429 costs no hashing either way).
      if (response.status === 429) await new Promise((r) => setTimeout(r, 50));
    }
  };
  await Promise.all(Array.from({ length: FLOOD }, (_, n) => client(n)));
  return { statuses, latencies };
}

function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

const ms = (value) => (Number.isFinite(value) ? `${value.toFixed(1)} ms` : 'n/a');

async function phase(port, sessions, withFlood) {
  const now = performance.now();
  if (WARMUP > 0) {
    const warmUntil = now + WARMUP * 1000;
    await Promise.all([measureTokenRoutes(port, sessions, warmUntil), withFlood ? flood(port, warmUntil) : null]);
  }
  const until = performance.now() + DURATION * 1000;
  const [routes, logins] = await Promise.all([measureTokenRoutes(port, sessions, until), withFlood ? flood(port, until) : null]);
  return { ...routes, logins };
}

const loadBefore = loadavg()[0];
const results = [];
let failed = false;
for (const config of CONFIGS) {
  const server = await startServer(config);
  try {
    const sessions = { refresh: [], me: [] };
    for (let i = 0; i < CLIENTS; i += 1) sessions.refresh.push(await logIn(server.port));
    for (let i = 0; i < CLIENTS; i += 1) sessions.me.push(await logIn(server.port));
    const quiet = await phase(server.port, sessions, false);
    const flooded = await phase(server.port, sessions, true);
    for (const [name, run] of [
      ['quiet', quiet],
      ['flood', flooded],
    ]) {
      if (run.errors.length > 0) {
        failed = true;
        console.error(`${config.id} ${name}: ${run.errors.join(', ')}`);
      }
    }
    results.push({ config, threads: server.threads, quiet, flooded });
  } finally {
    await server.stop();
  }
}

const rows = results.map(({ config, quiet, flooded }) => {
  const quietP99 = percentile(quiet.samples.refresh, 99);
  const floodP99 = percentile(flooded.samples.refresh, 99);
  const logins = flooded.logins;
  const seconds = DURATION;
  return {
    config: config.label,
    refreshQuiet: `${ms(percentile(quiet.samples.refresh, 50))} / ${ms(quietP99)}`,
    refreshFlood: `${ms(percentile(flooded.samples.refresh, 50))} / ${ms(floodP99)}`,
    ratio: floodP99 / quietP99,
    meQuiet: `${ms(percentile(quiet.samples.me, 50))} / ${ms(percentile(quiet.samples.me, 99))}`,
    meFlood: `${ms(percentile(flooded.samples.me, 50))} / ${ms(percentile(flooded.samples.me, 99))}`,
    refreshes: `${Math.round(quiet.samples.refresh.length / seconds)} → ${Math.round(flooded.samples.refresh.length / seconds)}`,
    logins: `${Object.entries(logins.statuses)
      .map(([status, count]) => `${status}: ${Math.round(count / seconds)}/s`)
      .join(', ')}; p50 ${ms(percentile(logins.latencies, 50))}`,
  };
});

const table = [
  '| server | refresh p50 / p99, quiet | refresh p50 / p99, flood | refresh p99 flood ÷ quiet | `/api/me` p50 / p99, quiet | `/api/me` p50 / p99, flood | refreshes/s quiet → flood | flood logins (status: rate; latency) |',
  '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(
    (row) =>
      `| ${row.config} | ${row.refreshQuiet} | ${row.refreshFlood} | ${row.ratio.toFixed(1)}× | ${row.meQuiet} | ${row.meFlood} | ${row.refreshes} | ${row.logins} |`,
  ),
].join('\n');
console.log(`\n${table}\n`);

const bounded = rows.find((row) => row.config.startsWith('bounded'));
const cores = availableParallelism();
const section = `${START}
## Login flood (issue 11)

Refresh and \`GET /api/me\` latency of the standalone server, quiet and while
${FLOOD} clients post logins for unknown users in a closed loop (each sends its next
login when the previous one answered), each from its own \`X-Forwarded-For\` address
(\`trustProxy\` on), so the default per-IP login limit does not stop them: a
distributed flood. ${CLIENTS} refresh loops (each rotating its own token) and ${CLIENTS}
\`/api/me\` loops measure meanwhile; ${WARMUP} s unreported warm-up, then ${DURATION} s
per phase. Script: \`bench/login-flood.mjs\` (\`npm run bench:login-flood\`).

Run ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}, ${cores} cores (${cpus()[0]?.model ?? 'unknown CPU'}),
Node ${process.version}; server from \`dist/cli/bin.cjs serve\` with SQLite, default scrypt
(N=2^15, r=8, p=1), \`UV_THREADPOOL_SIZE\` unset, so the executable sets it to
max(4, cores + 1) = ${Math.max(4, cores + 1)}; the default check concurrency is then
min(cores − 1, pool − 2) = ${Math.max(1, Math.min(cores - 1, Math.max(4, cores + 1) - 2))}.
The load generator shares the machine with the server; 1-minute load average before the run
${loadBefore.toFixed(1)}${loadBefore > cores ? ' — **the machine was not idle**: other work competed for the cores, so the figures are noisy' : ''}.

${table}

**Goal: refresh p99 under the flood within ${GOAL}× of the quiet p99** — bounded:
${bounded === undefined ? 'not measured' : `${bounded.ratio.toFixed(1)}×, ${bounded.ratio <= GOAL ? 'met' : 'not met'}`}.

Why: password hashing (scrypt here; argon2 alike) runs on libuv's thread pool, and so does
what every token route needs: jose signs and verifies through WebCrypto, whose jobs go to
the same pool. Unbounded, the flood's hashes fill the pool's queue and a refresh waits
behind all of them. Bounded, at most \`passwordHashing.concurrency\` hashes run and the pool
keeps threads free; logins beyond the queue get 429 with \`Retry-After\` at once. See
[passwords](passwords.md#the-login-queue).
${END}`;

if (WRITE_DOCS && !failed) {
  writeBenchmarksSection(START, END, section);
  console.log('wrote the "Login flood" section of docs/benchmarks.md');
}
agent.destroy();
process.exit(failed ? 1 : 0);
