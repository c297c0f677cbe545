// `npm run bench`: refresh throughput of jwt-refresh against its physical limit.
//
// Starts bench/server.mjs as a child process (its own core), then drives it with
// autocannon from this process: rounds of (ceiling, framework ceiling, ours with group
// commit off, ours with it on), alternating to cancel drift, after a short unreported
// warm-up of each. The ceiling is a bare node:http server doing the same crypto and the
// same store write one commit per request (bench/ceiling.mjs). Every connection presents
// the refresh token it received last, so each request is a real rotation. Then the extra
// rows (per store, per adapter, 2 server processes), each in its own child. Prints the
// tables, writes docs/benchmarks.md and docs/benchmarks.svg (bench/chart.mjs), exits 1 when
// a route of the main row answered anything but a real, distinct rotation.
//
// Environment:
//   BENCH_DURATION           seconds per measured run (default 8)
//   BENCH_WARMUP             seconds of warm-up per route, 0 = none (default 2)
//   BENCH_ROUNDS             measured rounds of the main row's routes (default 3: a median that one
//                            burst of load from other processes cannot move)
//   BENCH_CONNECTIONS        autocannon connections (default 50)
//   BENCH_PROFILE_DURATION   seconds of the profiled pass per route after the
//                            measured rounds, 0 = none (default 4)
//   BENCH_PROFILE_DIR        keep the .cpuprofile files there (default: temp dir, removed)
//   BENCH_WRITE_DOCS         0 = do not write docs/benchmarks.md (default 1)
//   BENCH_BRIDGE             1 = also measure a diagnostic route in each round: the
//                            ceiling behind the Fetch API round trip our adapter makes
//   BENCH_OFFLOAD            1 = also measure the bare ceiling signing on libuv's thread pool,
//                            as the library does (the ceiling proper signs inline)
//
// Protected-route row (after the main row, its own bench/protected-server.mjs child): GET /api/me
// behind `app.requireAuth` against a bare node:http route doing node:crypto.verify and the same
// store reads, rounds alternating; reported, does not change the exit code:
//   BENCH_PROTECTED_ROUNDS   rounds of (ceiling, framework ceiling, ours), 0 = skip (default 3)
//   BENCH_PROTECTED_DURATION seconds per measured run (default 5)
//   BENCH_PROTECTED_WARMUP   seconds of warm-up per route (default 1)
//
// Extra rows (after the main row, each in its own bench/row-server.mjs child; their
// problems are reported in the tables but do not change the exit code):
//   BENCH_ROWS               all (default) | main (the main row only) | a comma list of
//                            postgres,mysql,redis,mongo,express,fetch,nest,nest-fastify
//   BENCH_ROW_DURATION       seconds per measured run of an extra row (default 4; one
//                            round: ceiling, then ours)
//   BENCH_ROW_WARMUP         seconds of warm-up per route of an extra row (default 1)
//   BENCH_PG_URL             default postgres://postgres@127.0.0.1:5432/test
//   BENCH_MYSQL_URL          default mysql://root@127.0.0.1:3306/test
//   BENCH_REDIS_URL          default redis://127.0.0.1:6379
//   (MongoDB: an in-process CongoServer, bench/congo-server.mjs, started per run)
import { execFileSync, fork } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { envNumber } from './benchmarks-page.mjs';
import { createConnection } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { renderChart } from './chart.mjs';
import { clearSection } from './clear-section.mjs';
import { compareMarkdown, groupsMarkdown, libraryMarkdown, summarizeProfiles } from './profile-summary.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DURATION = envNumber('BENCH_DURATION', 8);
const WARMUP = envNumber('BENCH_WARMUP', 2);
const ROUNDS = Math.max(1, Math.floor(envNumber('BENCH_ROUNDS', 3)));
const CONNECTIONS = Math.max(1, Math.floor(envNumber('BENCH_CONNECTIONS', 50)));
const PROFILE_DURATION = envNumber('BENCH_PROFILE_DURATION', 4);
const WRITE_DOCS = process.env.BENCH_WRITE_DOCS !== '0';
const BRIDGE = process.env.BENCH_BRIDGE === '1';
const OFFLOAD = process.env.BENCH_OFFLOAD === '1';
/** Goals of issue 13: ours with group commit off, and on, as a multiple of the bare node:http ceiling. */
const GOAL = 0.9;
const GOAL_GC = 1.3;
const CHECKPOINT_NOTE = process.env.BENCH_CHECKPOINT === 'auto' ? ', `BENCH_CHECKPOINT=auto`' : '';
const ROW_DURATION = envNumber('BENCH_ROW_DURATION', 4);
const ROW_WARMUP = envNumber('BENCH_ROW_WARMUP', 1);
/** The protected-route row (GET /api/me against a bare node:crypto.verify route): 0 rounds = skipped. */
const PROTECTED_ROUNDS = Math.floor(envNumber('BENCH_PROTECTED_ROUNDS', 3));
const PROTECTED_DURATION = envNumber('BENCH_PROTECTED_DURATION', 5);
const PROTECTED_WARMUP = envNumber('BENCH_PROTECTED_WARMUP', 1);
/** Goal of issue 13: the protected route as a multiple of the bare node:crypto.verify route. */
const GOAL_PROTECTED = 0.9;
const SERVICE_URLS = {
  postgres: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/test',
  mysql: process.env.BENCH_MYSQL_URL || 'mysql://root@127.0.0.1:3306/test',
  redis: process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379',
};

/** The extra rows, in order. `service`: the URL probed first (unreachable = row skipped). */
const EXTRA_ROWS = [
  {
    id: 'postgres',
    table: 'store',
    label: 'PostgreSQL',
    service: 'postgres',
    defaultPort: 5432,
    start: '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`',
  },
  {
    id: 'postgres-prepared',
    base: 'postgres',
    env: { BENCH_PG_PREPARED: '1' },
    table: 'store',
    label: 'PostgreSQL, `preparedStatements: true`',
    service: 'postgres',
    defaultPort: 5432,
    start: '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`',
  },
  {
    id: 'mysql',
    table: 'store',
    label: 'MariaDB',
    service: 'mysql',
    defaultPort: 3306,
    start: '`start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`',
  },
  {
    id: 'redis',
    table: 'store',
    label: 'Redis',
    service: 'redis',
    defaultPort: 6379,
    start: '`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`',
  },
  {
    id: 'redis-autopipelining',
    base: 'redis',
    env: { BENCH_REDIS_AUTOPIPELINING: '1' },
    table: 'store',
    label: "Redis, an app's client with ioredis `enableAutoPipelining`",
    service: 'redis',
    defaultPort: 6379,
    start: '`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`',
  },
  { id: 'mongo', table: 'store', label: 'MongoDB (CongoServer, in-process)' },
  { id: 'memory', table: 'store', label: 'memory (one process only)' },
  {
    id: 'postgres-x2',
    base: 'postgres',
    processes: 2,
    table: 'processes',
    label: 'PostgreSQL, 2 server processes',
    service: 'postgres',
    defaultPort: 5432,
    start: '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`',
  },
  {
    id: 'redis-x2',
    base: 'redis',
    processes: 2,
    table: 'processes',
    label: 'Redis, 2 server processes',
    service: 'redis',
    defaultPort: 6379,
    start: '`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`',
  },
  { id: 'express', table: 'adapter', label: 'Express 5 (`jwt-refresh/express`)' },
  { id: 'fetch', table: 'adapter', label: 'Fetch (`jwt-refresh/fetch`, node:http bridge)' },
  { id: 'nest', table: 'adapter', label: 'NestJS 12, Express platform (`jwt-refresh/nest`)' },
  { id: 'nest-fastify', table: 'adapter', label: 'NestJS 12, Fastify platform (`jwt-refresh/nest`)' },
];
const ROWS_SETTING = (process.env.BENCH_ROWS ?? 'all').trim() || 'all';
const SELECTED_ROWS = (() => {
  if (ROWS_SETTING === 'all') return EXTRA_ROWS;
  const names = ROWS_SETTING.split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '' && name !== 'main');
  const unknown = names.filter((name) => !EXTRA_ROWS.some((row) => row.id === name));
  if (unknown.length > 0)
    throw new Error(`BENCH_ROWS: unknown row(s) ${unknown.join(', ')} (main, all, ${EXTRA_ROWS.map((r) => r.id).join(', ')})`);
  return EXTRA_ROWS.filter((row) => names.includes(row.id));
})();

/** `server`: which of the child's servers answers it (`app`: the framework's, `bare`: node:http, `gc`: ours with group commit). */
const ROUTES = {
  ceiling: { label: 'ceiling', path: '/ceiling/refresh', server: 'bare' },
  framework: { label: 'framework ceiling', path: '/ceiling/refresh', server: 'app' },
  ours: { label: 'ours', path: '/api/token/refresh', server: 'app' },
  oursGc: { label: 'ours + group commit', path: '/api/token/refresh', server: 'gc' },
  bridge: { label: 'bridge', path: '/bridge/refresh', server: 'app' },
  offload: { label: 'ceiling, threadpool signing', path: '/ceiling/refresh', server: 'bareOffload' },
};
/** The routes of one round of the main row, in order. */
const ROUND = [
  ROUTES.ceiling,
  ...(OFFLOAD ? [ROUTES.offload] : []),
  ROUTES.framework,
  ...(BRIDGE ? [ROUTES.bridge] : []),
  ROUTES.ours,
  ROUTES.oursGc,
];
/** The routes of an extra row (one run each). */
const ROW_ROUTES = [ROUTES.ceiling, ROUTES.framework, ROUTES.ours];

// ---- server child ---------------------------------------------------------

const workDir = mkdtempSync(join(tmpdir(), 'jwt-refresh-bench-'));
const profileDir = process.env.BENCH_PROFILE_DIR ? resolve(process.env.BENCH_PROFILE_DIR) : join(workDir, 'profiles');
let child = null;
let congoChild = null;
let cleanedUp = false;

function cleanup() {
  if (cleanedUp) return;
  cleanedUp = true;
  if (child !== null && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (congoChild !== null && congoChild.exitCode === null && congoChild.signalCode === null) congoChild.kill('SIGKILL');
  rmSync(workDir, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    cleanup();
    process.exit(130);
  });
}

let nextId = 1;
const pending = new Map();

function startServer(script = 'bench/server.mjs', extraEnv = {}, dbName = 'db') {
  const dbDir = join(workDir, dbName);
  mkdirSync(dbDir, { recursive: true });
  return new Promise((resolvePort, reject) => {
    child = fork(join(root, script), [], {
      cwd: root,
      env: { ...process.env, BENCH_DB_DIR: dbDir, ...extraEnv },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const timer = setTimeout(() => reject(new Error('server did not start within 30 s')), 30_000);
    child.on('message', (message) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        const bases = { app: `http://127.0.0.1:${message.port}` };
        for (const [name, port] of Object.entries(message.ports ?? {})) bases[name] = `http://127.0.0.1:${port}`;
        resolvePort(bases);
        return;
      }
      const waiter = pending.get(message?.id);
      if (!waiter) return;
      pending.delete(message.id);
      if (message.ok) waiter.resolve(message.result);
      else waiter.reject(new Error(`server: ${message.error}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const error = new Error(`server exited (code ${code}, signal ${signal})`);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
      reject(error);
    });
  });
}

function rpc(type, payload = {}, timeoutMs = 15_000) {
  return new Promise((resolveCall, reject) => {
    const id = nextId++;
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error(`server did not answer ${type} within ${timeoutMs} ms`));
    }, timeoutMs);
    pending.set(id, {
      resolve: (value) => {
        clearTimeout(timer);
        resolveCall(value);
      },
      reject: (error) => {
        clearTimeout(timer);
        reject(error);
      },
    });
    child.send({ id, type, ...payload });
  });
}

/** Stops the server child; resolves what its `stop` answered (row servers: what they dropped). */
async function stopServer(timeoutMs = 5_000) {
  if (child === null || child.exitCode !== null || child.signalCode !== null) return undefined;
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
  let answer;
  try {
    answer = await rpc('stop', {}, timeoutMs);
  } catch (error) {
    answer = `stop failed: ${error.message.split('\n')[0]}`;
    child.kill('SIGKILL');
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
  return answer;
}

// ---- fresh tokens, one chain per connection -------------------------------

async function post(base, path, json) {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(json),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

/** `count` unused refresh tokens for a route: real logins for ours, setup inserts for the ceiling. */
async function freshTokens(base, route, count) {
  if (route.path !== ROUTES.ours.path) return (await post(base, '/ceiling/issue', { n: count })).tokens;
  const tokens = [];
  for (let i = 0; i < count; i += 10) {
    const batch = Array.from({ length: Math.min(10, count - i) }, () =>
      post(base, '/api/login_check', { username: 'bench', password: 'bench' }),
    );
    for (const body of await Promise.all(batch)) tokens.push(body.refresh_token);
  }
  return tokens;
}

// ---- CPU used by other processes (the machine is shared) -------------------

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // Linux default
}

/** Busy jiffies of the whole machine and of this process + the server child, or null off Linux. */
function cpuSnapshot() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system] = fields;
    const ownTicks = (pid) => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return Number(after[11]) + Number(after[12]); // utime + stime, all threads
    };
    // The server child and its own children (the cluster workers of a several-process row).
    const family = (pid) => {
      let ticks = ownTicks(pid);
      for (const task of readdirSync(`/proc/${pid}/task`)) {
        const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
        for (const kid of children === '' ? [] : children.split(/\s+/)) ticks += family(Number(kid));
      }
      return ticks;
    };
    return { at: process.hrtime.bigint(), machine: user + nice + system, ours: ownTicks(process.pid) + family(child.pid) };
  } catch {
    return null;
  }
}

/** Cores' worth of CPU that other processes used between two snapshots. */
function foreignCores(before, after) {
  if (before === null || after === null) return null;
  const seconds = Number(after.at - before.at) / 1e9;
  const foreign = after.machine - before.machine - (after.ours - before.ours);
  return Math.max(0, foreign / clockTicks / seconds);
}

// ---- one autocannon run ---------------------------------------------------

const REFRESH_TOKEN = /^[0-9a-f]{128}$/;
const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;

/**
 * Runs autocannon against one route. Each connection starts with its own fresh
 * token and always presents the one it received last.
 *
 * Per-connection state lives in a closure made by `setupClient` (autocannon's
 * per-connection hook) and handed to the connection's own `requests` through
 * `client.setRequests`. autocannon's `context` cannot carry the token from one
 * request to the next here: it is reset whenever the connection wraps around its
 * request list, i.e. before every request with a one-request list
 * (lib/requestIterator.js, nextRequest). It is still used within one
 * request/response cycle to check which token a response answers.
 */
async function runRoute(bases, route, seconds, { onReady, onRequestsDone } = {}) {
  const base = bases[route.server];
  if (base === undefined) throw new Error(`no ${route.server} server for route ${route.label}`);
  const pool = await freshTokens(base, route, CONNECTIONS * 2);
  await onReady?.();
  const seen = new Set();
  const check = { duplicates: 0, malformed: 0, lost: 0, exhausted: 0, badSamples: [] };
  const takeFresh = () => {
    const token = pool.pop();
    if (token === undefined) check.exhausted++;
    return token ?? 'pool-exhausted';
  };

  const setupClient = (client) => {
    const connection = { token: takeFresh(), inFlight: false };
    client.setRequests([
      {
        method: 'POST',
        path: route.path,
        headers: { 'content-type': 'application/json' },
        setupRequest(request, context) {
          // A request that never got its answer (connection reset): the server may
          // have rotated that token, so this connection starts a new chain.
          if (connection.inFlight) {
            check.lost++;
            connection.token = takeFresh();
          }
          connection.inFlight = true;
          context.presented = connection.token;
          request.body = `{"refresh_token":"${connection.token}"}`;
          return request;
        },
        onResponse(status, body, context) {
          connection.inFlight = false;
          if (context.presented !== connection.token) check.malformed++;
          let next;
          if (status >= 200 && status < 300) {
            try {
              const json = JSON.parse(body);
              if (REFRESH_TOKEN.test(json.refresh_token) && JWT.test(json.token)) next = json.refresh_token;
            } catch {
              // counted below
            }
            if (next === undefined) check.malformed++;
            // A successor handed out twice would mean two requests presented the same
            // token (a grace-window replay): the chains would not be what we think.
            else if (seen.has(next)) check.duplicates++;
            else seen.add(next);
          } else if (check.badSamples.length < 3) {
            check.badSamples.push(`${status} ${String(body).slice(0, 200)}`);
          }
          connection.token = next ?? takeFresh();
        },
      },
    ]);
  };

  const cpuBefore = cpuSnapshot();
  const result = await autocannon({
    url: `${base}${route.path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{}',
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    setupClient,
  });
  const foreign = foreignCores(cpuBefore, cpuSnapshot());
  onRequestsDone?.(result);
  // Let requests cut off by the end of the run finish on the server before the next one starts.
  await new Promise((resolveWait) => setTimeout(resolveWait, 300));
  return { ...runFigures(route, result, foreign, check), duration: result.duration };
}

/** What a measured run reports of an autocannon `result`: throughput, answers, latency, the load of other processes. */
function runFigures(route, result, foreign, check) {
  return {
    route: route.label,
    rps: result.requests.average,
    total: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    foreign,
    ...check,
  };
}

// ---- the protected-route row ---------------------------------------------------

/** The protected-route row's routes, one round in this order (bench/protected-server.mjs). */
const PROTECTED_ROUTES = [
  { label: 'ceiling', path: '/api/me', server: 'bare' },
  { label: 'framework ceiling', path: '/ceiling/me', server: 'app' },
  { label: 'ours', path: '/api/me', server: 'app' },
];

/** One autocannon run of GET `route` with `token` as Bearer; every answer must be 200 with `expected` as its body. */
async function runProtectedRoute(bases, route, token, expected, seconds) {
  const check = { wrong: 0, badSamples: [] };
  const cpuBefore = cpuSnapshot();
  const result = await autocannon({
    url: `${bases[route.server]}${route.path}`,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        headers: { authorization: `Bearer ${token}` },
        onResponse(status, body) {
          if (status === 200 && body === expected) return;
          check.wrong++;
          if (check.badSamples.length < 3) check.badSamples.push(`${status} ${String(body).slice(0, 120)}`);
        },
      },
    ],
  });
  const foreign = foreignCores(cpuBefore, cpuSnapshot());
  await new Promise((resolveWait) => setTimeout(resolveWait, 300));
  return runFigures(route, result, foreign, check);
}

function protectedProblemsOf(run) {
  const problems = [];
  if (run.wrong > 0) problems.push(`${run.wrong} answers not 200 with the claims (${run.badSamples.join(' | ')})`);
  if (run.errors > 0) problems.push(`${run.errors} errors`);
  if (run.timeouts > 0) problems.push(`${run.timeouts} timeouts`);
  return problems;
}

/**
 * The protected-route row: its own server child, a warm-up of each route, then PROTECTED_ROUNDS
 * rounds of (ceiling, framework ceiling, ours), alternating. Never throws: a failure becomes the status.
 */
async function runProtectedRow() {
  const all = [];
  try {
    const bases = await startServer('bench/protected-server.mjs', {}, 'db-protected');
    const login = await post(bases.app, '/api/login_check', { username: 'bench', password: 'bench' });
    const token = login.token;
    // Both servers answer the verified claims, serialized by JSON.stringify from the same payload.
    const expected = JSON.stringify(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')));
    const claimNames = Object.keys(JSON.parse(expected));
    if (PROTECTED_WARMUP > 0) {
      for (const route of PROTECTED_ROUTES)
        all.push({ ...(await runProtectedRoute(bases, route, token, expected, PROTECTED_WARMUP)), warmup: true });
    }
    const measured = [];
    for (let round = 1; round <= PROTECTED_ROUNDS; round++) {
      for (const route of PROTECTED_ROUTES) {
        const run = await runProtectedRoute(bases, route, token, expected, PROTECTED_DURATION);
        measured.push(run);
        all.push(run);
        const problems = protectedProblemsOf(run);
        console.log(
          `  protected round ${round} ${route.label.padEnd(18)} ${fmtInt(run.rps).padStart(7)} req/s  p50 ${run.p50} ms  p99 ${run.p99} ms  ` +
            `200 ${run.ok}  other ${run.wrong}  other load ${fmtCores(run.foreign)} cores${problems.length > 0 ? `  !! ${problems.join('; ')}` : ''}`,
        );
      }
    }
    await stopServer(10_000);
    const of = (label) => measured.filter((run) => run.route === label);
    const figures = (label) => ({
      rps: median(of(label).map((run) => run.rps)),
      p99: median(of(label).map((run) => run.p99)),
      wrong: all.filter((run) => run.route === label).reduce((acc, run) => acc + run.wrong, 0),
    });
    const result = {
      status: 'ok',
      ceiling: figures('ceiling'),
      framework: figures('framework ceiling'),
      ours: figures('ours'),
      measured,
      claimNames,
      checked: all.reduce((acc, run) => acc + run.ok + run.non2xx, 0),
      problems: all.flatMap((run) =>
        protectedProblemsOf(run).map((problem) => `${run.route}${run.warmup ? ' (warm-up)' : ''}: ${problem}`),
      ),
    };
    result.ratio = result.ours.rps / result.ceiling.rps;
    result.p99Ratio = result.ours.p99 / result.ceiling.p99;
    console.log(
      `  protected route: ceiling ${fmtInt(result.ceiling.rps)} req/s (p99 ${result.ceiling.p99} ms), framework ceiling ${fmtInt(result.framework.rps)}, ` +
        `ours ${fmtInt(result.ours.rps)} req/s (p99 ${result.ours.p99} ms), ratio ${result.ratio.toFixed(3)} ×`,
    );
    return result;
  } catch (error) {
    console.error(`  protected route: FAILED: ${error.message}`);
    return { status: 'failed', note: `failed: ${error.message.split('\n')[0]}`, problems: [error.message.split('\n')[0]] };
  } finally {
    if (child !== null && child.exitCode === null && child.signalCode === null) await stopServer().catch(() => child.kill('SIGKILL'));
  }
}

// ---- extra rows: one per store, one per adapter ----------------------------

/** Resolves true when something accepts a TCP connection on host:port within `ms`. */
function tcpReachable(host, port, ms = 1500) {
  return new Promise((resolveProbe) => {
    const socket = createConnection({ host, port });
    const done = (ok) => {
      socket.destroy();
      resolveProbe(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Starts bench/congo-server.mjs; resolves its mongodb:// URL. */
function startCongo() {
  return new Promise((resolveUrl, reject) => {
    congoChild = fork(join(root, 'bench/congo-server.mjs'), [], { cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const timer = setTimeout(() => reject(new Error('CongoServer did not start within 30 s')), 30_000);
    congoChild.on('message', (message) => {
      if (message?.type === 'ready') {
        clearTimeout(timer);
        resolveUrl(message.url);
      }
    });
    congoChild.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`CongoServer exited (code ${code}, signal ${signal})`));
    });
  });
}

async function stopCongo() {
  if (congoChild === null || congoChild.exitCode !== null || congoChild.signalCode !== null) return;
  const exited = new Promise((resolveExit) => congoChild.once('exit', resolveExit));
  congoChild.send({ type: 'stop' });
  const timer = setTimeout(() => congoChild.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

const runId = `${Date.now().toString(36)}_${process.pid}`;

/**
 * One extra row: its own server child, a warm-up of each route, then ceiling and ours
 * once each for ROW_DURATION s. Never throws: an unreachable service or a failure
 * becomes the row's status.
 */
async function runExtraRow(row) {
  const env = { BENCH_ROW: row.base ?? row.id, BENCH_RUN_ID: `${runId}_${row.id.replace(/-/g, '_')}` };
  if (row.processes > 1) env.BENCH_PROCESSES = String(row.processes);
  Object.assign(env, row.env);
  if (row.service !== undefined) {
    const url = new URL(SERVICE_URLS[row.service]);
    const host = url.hostname || '127.0.0.1';
    const port = Number(url.port) || row.defaultPort;
    if (!(await tcpReachable(host, port))) {
      console.log(`  ${row.label}: unreachable at ${host}:${port}, skipped`);
      return { row, status: 'unreachable', note: `unreachable at ${host}:${port} (start it: ${row.start})` };
    }
    env[{ postgres: 'BENCH_PG_URL', mysql: 'BENCH_MYSQL_URL', redis: 'BENCH_REDIS_URL' }[row.service]] = url.href;
  }
  const all = [];
  let cleanupNote = '';
  try {
    if (row.id === 'mongo') env.BENCH_MONGO_URL = await startCongo();
    const bases = await startServer(row.processes > 1 ? 'bench/row-cluster.mjs' : 'bench/row-server.mjs', env, `db-${row.id}`);
    const order = ROW_ROUTES;
    if (ROW_WARMUP > 0) for (const route of order) all.push({ ...(await runRoute(bases, route, ROW_WARMUP)), warmup: true });
    const measured = {};
    for (const route of order) {
      const run = await runRoute(bases, route, ROW_DURATION);
      all.push(run);
      measured[route.label] = run;
    }
    cleanupNote = await stopServer(30_000);
    const problems = all.flatMap((run) => problemsOf(run).map((problem) => `${run.route}${run.warmup ? ' (warm-up)' : ''}: ${problem}`));
    const totals = (label) => all.filter((run) => run.route === label).reduce((acc, run) => acc + run.non2xx, 0);
    const figures = (label) => ({
      rps: measured[label].rps,
      p99: measured[label].p99,
      non2xx: totals(label),
      foreign: measured[label].foreign,
    });
    const result = {
      row,
      status: 'ok',
      ceiling: figures(ROUTES.ceiling.label),
      framework: figures(ROUTES.framework.label),
      ours: figures(ROUTES.ours.label),
      problems,
      cleanup: cleanupNote,
    };
    result.ratio = result.ours.rps / result.ceiling.rps;
    console.log(
      `  ${row.label}: ceiling ${fmtInt(result.ceiling.rps)} req/s (p99 ${result.ceiling.p99} ms), framework ceiling ${fmtInt(result.framework.rps)}, ` +
        `ours ${fmtInt(result.ours.rps)} req/s (p99 ${result.ours.p99} ms), ratio ${pct(result.ratio)}, non-2xx ${result.ours.non2xx}/${result.ceiling.non2xx}; ${cleanupNote}` +
        `${problems.length > 0 ? `  !! ${problems.join('; ')}` : ''}`,
    );
    return result;
  } catch (error) {
    console.error(`  ${row.label}: FAILED: ${error.message}`);
    return { row, status: 'failed', note: `failed: ${error.message.split('\n')[0]}` };
  } finally {
    if (child !== null && child.exitCode === null && child.signalCode === null) await stopServer().catch(() => child.kill('SIGKILL'));
    await stopCongo().catch(() => congoChild.kill('SIGKILL'));
  }
}

// ---- report ---------------------------------------------------------------

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
const fmtCores = (cores) => (cores === null ? 'n/a' : cores.toFixed(2));
const pct = (ratio) => `${(ratio * 100).toFixed(1)} %`;

function versionOf(pkg) {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
}

function nproc() {
  try {
    return execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    return String(cpus().length);
  }
}

function problemsOf(run) {
  const problems = [];
  if (run.non2xx > 0) problems.push(`${run.non2xx} non-2xx (${run.badSamples.join(' | ')})`);
  if (run.errors > 0) problems.push(`${run.errors} errors`);
  if (run.timeouts > 0) problems.push(`${run.timeouts} timeouts`);
  if (run.duplicates > 0) problems.push(`${run.duplicates} duplicate successors`);
  if (run.malformed > 0) problems.push(`${run.malformed} malformed answers`);
  if (run.exhausted > 0) problems.push(`token pool exhausted ${run.exhausted}×`);
  return problems;
}

function renderTable(measured, summary) {
  const lines = [
    '| run | route | req/s | p50 ms | p99 ms | 2xx | non-2xx | errors | other processes (cores) |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  measured.forEach((run, index) => {
    lines.push(
      `| ${index + 1} | ${run.route} | ${fmtInt(run.rps)} | ${run.p50} | ${run.p99} | ${fmtInt(run.ok)} | ${run.non2xx} | ${run.errors + run.timeouts} | ${fmtCores(run.foreign)} |`,
    );
  });
  const row = (label, figures) => `| ${label} | ${fmtInt(figures.rps)} | ${figures.p99} | ${figures.non2xx} |`;
  const summaryLines = [
    '| route | median req/s | median p99 ms | non-2xx (all runs, warm-up included) |',
    '|---|---:|---:|---:|',
    row('**ceiling**: bare `node:http`, one commit per request (`POST /ceiling/refresh`)', summary.ceiling),
    row(
      `framework ceiling: the same behind a bare Fastify route (${pct(summary.framework.rps / summary.ceiling.rps)} of the ceiling)`,
      summary.framework,
    ),
    ...(summary.offload
      ? [
          row(
            `diagnostic: the ceiling signing on libuv's thread pool, as ours does (${pct(summary.offload.rps / summary.ceiling.rps)} of the ceiling)`,
            summary.offload,
          ),
        ]
      : []),
    ...(summary.bridge
      ? [
          row(
            `diagnostic: framework ceiling + Fetch bridge (${pct(summary.bridge.rps / summary.ceiling.rps)} of the ceiling)`,
            summary.bridge,
          ),
        ]
      : []),
    row('ours, group commit off (`POST /api/token/refresh`, Fastify plugin)', summary.ours),
    row('ours, group commit on (the store default)', summary.oursGc),
  ];
  const verdict = (ok) => (ok ? 'met' : '**NOT met**');
  const goals = [
    '| goal | measured | |',
    '|---|---:|---|',
    `| ours, group commit off ≥ ${GOAL.toFixed(2)} × ceiling | **${summary.ratio.toFixed(3)} ×** | ${verdict(summary.ratio >= GOAL)} |`,
    `| ours, group commit on ≥ ${GOAL_GC.toFixed(2)} × ceiling | **${summary.ratioGc.toFixed(3)} ×** | ${verdict(summary.ratioGc >= GOAL_GC)} |`,
    `| p99 of ours with group commit ≤ the ceiling's | ${summary.oursGc.p99} ms vs ${summary.ceiling.p99} ms | ${verdict(summary.oursGc.p99 <= summary.ceiling.p99)} |`,
    `| every answer a real, distinct rotation | ${summary.checked.toLocaleString('en-US')} answers checked, ${summary.problems} problems | ${verdict(summary.problems === 0)} |`,
    ...protectedGoals(summary.protected, verdict),
  ];
  return {
    runs: lines.join('\n'),
    summary: summaryLines.join('\n'),
    goals: goals.join('\n'),
    protected: protectedTable(summary.protected),
  };
}

/** The goals-table lines of the protected-route row. */
function protectedGoals(row, verdict) {
  if (row === null) return [];
  if (row.status !== 'ok')
    return [`| protected route ≥ ${GOAL_PROTECTED.toFixed(2)} × bare \`node:crypto.verify\` route | ${row.note} | **NOT met** |`];
  return [
    `| protected route ≥ ${GOAL_PROTECTED.toFixed(2)} × bare \`node:crypto.verify\` route | **${row.ratio.toFixed(3)} ×** (p99 ${row.ours.p99} ms vs ${row.ceiling.p99} ms) | ${verdict(row.ratio >= GOAL_PROTECTED)} |`,
    `| every protected-route answer 200 with the token's claims | ${row.checked.toLocaleString('en-US')} answers checked, ${row.problems.length} problems | ${verdict(row.problems.length === 0)} |`,
  ];
}

/** The "Protected route" tables (medians, then every measured run), or null when the row was skipped. */
function protectedTable(row) {
  if (row === null) return null;
  if (row.status !== 'ok') return `_${row.note}_`;
  const line = (label, figures) => `| ${label} | ${fmtInt(figures.rps)} | ${figures.p99} | ${figures.wrong} |`;
  const runs = row.measured.map(
    (run, index) =>
      `| ${index + 1} | ${run.route} | ${fmtInt(run.rps)} | ${run.p50} | ${run.p99} | ${fmtInt(run.ok)} | ${run.wrong} | ${run.errors + run.timeouts} | ${fmtCores(run.foreign)} |`,
  );
  return [
    '| route | median req/s | median p99 ms | answers not 200 + claims (all runs, warm-up included) |',
    '|---|---:|---:|---:|',
    line('**ceiling**: bare `node:http`, `node:crypto.verify` + the same 3 SQLite reads (`GET /api/me`)', row.ceiling),
    line(
      `framework ceiling: the same behind a bare Fastify route (${pct(row.framework.rps / row.ceiling.rps)} of the ceiling)`,
      row.framework,
    ),
    line('ours: `app.requireAuth` on `GET /api/me`, Fastify plugin, SQLite store, defaults', row.ours),
    '',
    `Ratio of medians, ours / ceiling: **${row.ratio.toFixed(3)} ×** req/s, ${row.p99Ratio.toFixed(2)} × p99 (${row.ours.p99} ms vs ${row.ceiling.p99} ms).`,
    '',
    '| run | route | req/s | p50 ms | p99 ms | 200 | other answers | errors | other processes (cores) |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|',
    ...runs,
    ...(row.problems.length > 0 ? ['', ...row.problems.map((problem) => `- ⚠ ${problem}`)] : []),
  ].join('\n');
}

/** The per-store, per-adapter and several-process tables; the SQLite and Fastify rows repeat the main row. */
function renderRowTables(extraRows, summary) {
  const header = (kind, framework) => [
    `| ${kind} | ceiling req/s (node:http) | ${framework} ceiling req/s | ours req/s | ratio ours / ceiling | p99 ms ceiling / ours | non-2xx ceiling / ours |`,
    '|---|---:|---:|---:|---:|---:|---:|',
  ];
  const cells = (ceiling, framework, ours) =>
    `${fmtInt(ceiling.rps)} | ${framework === null ? '' : fmtInt(framework.rps)} | ${fmtInt(ours.rps)} | **${(ours.rps / ceiling.rps).toFixed(2)} ×** | ${ceiling.p99} / ${ours.p99} | ${ceiling.non2xx} / ${ours.non2xx}`;
  const mainNote = `(main row: medians of ${ROUNDS} × ${DURATION} s)`;
  const mainLines = (first) => [
    `| ${first}, group commit off ${mainNote} | ${cells(summary.ceiling, summary.framework, summary.ours)} |`,
    `| ${first}, group commit on (default) ${mainNote} | ${cells(summary.ceiling, null, summary.oursGc)} |`,
  ];
  const line = (result) =>
    result.status === 'ok'
      ? `| ${result.row.label} | ${cells(result.ceiling, result.framework, result.ours)}${result.problems.length > 0 ? ' ⚠' : ''} |`
      : `| ${result.row.label} | ${result.note} | | | | | |`;
  const notesOf = (rows) =>
    rows
      .filter((result) => result.status === 'ok' && result.problems.length > 0)
      .map((result) => `- ⚠ ${result.row.label}: ${result.problems.join('; ')}`);
  const table = (kind, framework, first) => {
    const rows = extraRows.filter((result) => result.row.table === kind);
    const notes = notesOf(rows);
    return [...header(kind, framework), ...mainLines(first), ...rows.map(line), ...(notes.length > 0 ? ['', ...notes] : [])].join('\n');
  };
  const scaling = extraRows.filter((result) => result.row.table === 'processes');
  const single = (result) => extraRows.find((other) => other.row.id === result.row.base);
  const processLines = [
    '| store | server processes | ceiling req/s | ours req/s | ratio ours / ceiling | p99 ms ceiling / ours | scaling factor: ours (ceiling) | other processes (cores) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const result of scaling) {
    const one = single(result);
    const label = result.row.label.replace(/, \d+ server processes$/, '');
    if (one?.status === 'ok') {
      processLines.push(
        `| ${label} | 1 | ${fmtInt(one.ceiling.rps)} | ${fmtInt(one.ours.rps)} | ${(one.ratio).toFixed(2)} × | ${one.ceiling.p99} / ${one.ours.p99} | 1 | ${fmtCores(one.ours.foreign)} |`,
      );
    } else {
      processLines.push(`| ${label} | 1 | ${one?.note ?? 'not measured in this run (add its row to BENCH_ROWS)'} | | | | | |`);
    }
    if (result.status === 'ok') {
      const factor =
        one?.status === 'ok'
          ? `**${(result.ours.rps / one.ours.rps).toFixed(2)} ×** (${(result.ceiling.rps / one.ceiling.rps).toFixed(2)} ×)`
          : 'n/a';
      processLines.push(
        `| ${label} | ${result.row.processes} | ${fmtInt(result.ceiling.rps)} | ${fmtInt(result.ours.rps)} | ${result.ratio.toFixed(2)} × | ${result.ceiling.p99} / ${result.ours.p99} | ${factor}${result.problems.length > 0 ? ' ⚠' : ''} | ${fmtCores(result.ours.foreign)} |`,
      );
    } else {
      processLines.push(`| ${label} | ${result.row.processes} | ${result.note} | | | | | |`);
    }
  }
  const processNotes = notesOf(scaling);
  return {
    store: table('store', 'Fastify', 'SQLite (better-sqlite3)'),
    adapter: table('adapter', 'framework', 'Fastify 5 (`jwt-refresh/fastify`)'),
    processes:
      scaling.length === 0
        ? '_Not measured in this run (add `postgres-x2,redis-x2` to `BENCH_ROWS`)._'
        : [...processLines, ...(processNotes.length > 0 ? ['', ...processNotes] : [])].join('\n'),
  };
}

/** docs/benchmarks.svg: ours against its ceiling per store and adapter, and the process-scaling rows. */
function renderSvg(extraRows, summary, date) {
  const series = {
    ceiling: { color: '#4a4a4a', label: 'ceiling (bare node:http, one commit per request)' },
    framework: { color: '#b8b8b8', label: 'framework ceiling' },
    ours: { color: '#2f6fca', label: 'ours' },
    oursGc: { color: '#2e9e5b', label: 'ours, SQLite group commit on' },
    verifyCeiling: { color: '#8a6d3b', label: 'protected-route ceiling (bare node:http + node:crypto.verify)' },
  };
  const bars = (result) => [
    { series: 'ceiling', value: result.ceiling.rps },
    ...(result.framework ? [{ series: 'framework', value: result.framework.rps }] : []),
    { series: 'ours', value: result.ours.rps, note: `(${(result.ours.rps / result.ceiling.rps).toFixed(2)} ×)` },
  ];
  const main = {
    ceiling: summary.ceiling,
    framework: summary.framework,
    ours: summary.ours,
  };
  const mainBars = [...bars(main), { series: 'oursGc', value: summary.oursGc.rps, note: `(${summary.ratioGc.toFixed(2)} ×)` }];
  const okRows = (kind) => extraRows.filter((result) => result.row.table === kind && result.status === 'ok');
  const panels = [
    {
      title: 'Per store (Fastify 5 plugin)',
      unit: 'req/s, higher is better',
      groups: [
        { label: 'SQLite (main row)', bars: mainBars },
        ...okRows('store').map((result) => ({ label: result.row.label, bars: bars(result) })),
      ],
    },
    {
      title: 'Per adapter (SQLite, store defaults: group commit on)',
      unit: 'req/s, higher is better',
      groups: [
        { label: 'Fastify 5 (main row)', bars: bars({ ...main, ours: summary.oursGc }) },
        ...okRows('adapter').map((result) => ({ label: result.row.label, bars: bars(result) })),
      ],
    },
  ];
  const guarded = summary.protected;
  if (guarded?.status === 'ok') {
    panels.push({
      title: 'Protected route: GET /api/me with a Bearer access token (SQLite, library defaults)',
      unit: 'req/s, higher is better',
      groups: [
        {
          label: 'Fastify 5 (`app.requireAuth`)',
          bars: [
            { series: 'verifyCeiling', value: guarded.ceiling.rps },
            { series: 'framework', value: guarded.framework.rps },
            { series: 'ours', value: guarded.ours.rps, note: `(${guarded.ratio.toFixed(2)} ×)` },
          ],
        },
      ],
    });
  }
  const scaling = extraRows.filter((result) => result.row.table === 'processes' && result.status === 'ok');
  if (scaling.length > 0) {
    const groups = [];
    for (const result of scaling) {
      const one = extraRows.find((other) => other.row.id === result.row.base && other.status === 'ok');
      const label = result.row.label.replace(/, \d+ server processes$/, '');
      if (one) groups.push({ label: `${label}, 1 process`, bars: bars({ ceiling: one.ceiling, ours: one.ours }) });
      groups.push({
        label: `${label}, ${result.row.processes} processes`,
        bars: bars({ ceiling: result.ceiling, ours: result.ours }).map((bar) =>
          bar.series === 'ours' && one ? { ...bar, note: `(${(result.ours.rps / one.ours.rps).toFixed(2)} × one process)` } : bar,
        ),
      });
    }
    panels.push({ title: 'Several server processes on one store (Fastify 5)', unit: 'req/s, higher is better', groups });
  }
  return renderChart({
    title: 'jwt-refresh: refresh throughput against its ceiling',
    subtitle: `npm run bench, ${date}, ${CONNECTIONS} connections, every request a real rotation; ratios against the bare node:http ceiling`,
    panels,
    series,
  });
}

const FINDINGS_START = '<!-- findings:start -->';
const FINDINGS_END = '<!-- findings:end -->';

function keptFindings(docPath) {
  if (!existsSync(docPath)) return null;
  const text = readFileSync(docPath, 'utf8');
  const start = text.indexOf(FINDINGS_START);
  const end = text.indexOf(FINDINGS_END);
  if (start < 0 || end < start) return null;
  return text.slice(start, end + FINDINGS_END.length);
}

/** `## ` headings this script writes; every other `## ` section of the page is kept as it is. */
const GENERATED_SECTIONS = [
  'How to run',
  'Method',
  'Results',
  'Protected route',
  'Per store and per adapter',
  'Several server processes on one store',
  'Where the time goes',
  'Analysis',
  'jwt-refresh clear on 1,000,000 rows',
];

/**
 * The `## ` sections of the current page that this script does not write (the data-scale
 * section of bench/data-scale.mjs, sections other benchmarks append), in their order.
 */
function keptSections(docPath) {
  if (!existsSync(docPath)) return [];
  const sections = [];
  let current = null;
  let fenced = false;
  for (const line of readFileSync(docPath, 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (!fenced && line.startsWith('## ')) {
      // Marker comments right above a heading (`<!-- login-flood:start -->`) belong to its section.
      const lead = [];
      while (current !== null && current.lines.length > 1 && /^(<!-- [\w-]+:start -->)?$/.test(current.lines.at(-1).trim())) {
        lead.unshift(current.lines.pop());
      }
      while (lead.length > 0 && lead[0].trim() === '') lead.shift();
      current = { heading: line.slice(3).trim(), lines: [...lead, line] };
      sections.push(current);
    } else if (current !== null) {
      current.lines.push(line);
    }
  }
  return sections
    .filter((section) => !GENERATED_SECTIONS.some((heading) => section.heading.startsWith(heading)))
    .map((section) => section.lines.join('\n').trimEnd());
}

function renderDoc({ date, tables, rowTables, extraRows, summary, profile, machine, measured }) {
  const docPath = join(root, 'docs/benchmarks.md');
  const clear = clearSection(docPath, join(root, 'docs/benchmarks-clear.md'));
  const kept = keptSections(docPath);
  const rowsSection =
    extraRows.filter((result) => result.row.table !== 'processes').length === 0
      ? '_Not measured in this run (`BENCH_ROWS=main`)._'
      : `Each extra row runs in its own server child (\`bench/row-server.mjs\`) on a fresh schema, database or key prefix that is dropped at the end, with three routes: **ours**, the library's refresh route (the Fastify plugin on that store, or that adapter on SQLite, store defaults: group commit on); the **ceiling**, a bare \`node:http\` server doing the main ceiling's work (SHA-256, one indexed lookup by hash, the same claims signed ES256 with \`node:crypto\`, the HMAC-SHA-512 successor) and the same write as a rotation in that store, with the driver directly, on a table made by the library's own first migration (same indexes): the parent marked rotated only while it is neither rotated nor revoked, and the successor inserted, atomically (SQLite: an IMMEDIATE transaction with the guarded \`UPDATE\` and the \`INSERT\`; PostgreSQL: one statement, a CTE whose guarded \`UPDATE … RETURNING\` feeds the \`INSERT\`; MariaDB: a transaction with the guarded \`UPDATE\`, an \`affectedRows\` check and the \`INSERT\`; Redis: one Lua script doing the guard, \`HSET\` of the parent, \`HSET\` + \`PEXPIREAT\` of the successor and \`SADD\`/\`ZADD\` to its family, user and validity sets; MongoDB: \`insertOne\` of the successor then the guarded \`findOneAndUpdate\` of the parent, the store's order; memory: a \`Map\`); and the **framework ceiling**, that same ceiling behind a bare route of the row's framework, which shows what the framework costs. ${ROW_WARMUP > 0 ? `After a ${ROW_WARMUP} s warm-up of each route, the` : 'The'} three run once each for ${ROW_DURATION} s with the main row's load (${CONNECTIONS} connections, every request a real rotation), so these rows are noisier than the main row, whose medians the SQLite and Fastify rows repeat: one short run per route on this shared 2-core machine moves a row's ratio by tens of points from one run to the next, so repeat with a longer \`BENCH_ROW_DURATION\` before drawing conclusions from one row.

\`\`\`sh
npm run bench                               # main row + every extra row
BENCH_ROWS=main npm run bench               # main row only
BENCH_ROWS=postgres,express npm run bench   # main row + the rows named
\`\`\`

Services: \`BENCH_PG_URL\` (default \`${SERVICE_URLS.postgres}\`), \`BENCH_MYSQL_URL\` (default \`${SERVICE_URLS.mysql}\`),
\`BENCH_REDIS_URL\` (default \`${SERVICE_URLS.redis}\`); MongoDB is an in-process CongoServer
(\`@push.rocks/smartmongo\`, in its own child, \`bench/congo-server.mjs\`): a wire-protocol server written in
TypeScript, not mongod, so that row measures the driver and the store against Congo, not MongoDB's own speed.
An unreachable service gives an "unreachable" row and does not fail the bench; problems of extra rows are
flagged (⚠) but only the main row decides the exit code. PostgreSQL, MariaDB and Redis run on the same
2 cores as the server and autocannon.

### Per store (Fastify 5)

${rowTables.store}

### Per adapter (SQLite)

${rowTables.adapter}`;
  const findings =
    keptFindings(docPath) ??
    `${FINDINGS_START}\n_No analysis written yet: the profile table above is regenerated by every run; interpret it here._\n${FINDINGS_END}`;
  const profileSection =
    profile === null
      ? '_Profiled pass disabled (`BENCH_PROFILE_DURATION=0`)._'
      : [
          `After the measured rounds the ceiling and ours (group commit off) run ${PROFILE_DURATION} s more each with the V8 sampling profiler on in the server`,
          `(inspector \`Profiler\`, ${profile.intervalUs} µs interval; not part of the figures above, and the profiler slows both`,
          `routes: ours ${fmtInt(profile.ours.rps)} req/s, ceiling ${fmtInt(profile.ceiling.rps)} req/s while profiled). Figures are main-thread`,
          'time per completed request. A native call (SQLite, hashing, `JSON.parse`) is charged to the JS code that made it,',
          "except better-sqlite3's statement methods, which get their own row; `lib:` rows are modules of `dist/` (their",
          "`src/` files). Our route signs with `node:crypto`'s `sign()` in its callback form (the ECDSA math runs on libuv's",
          'thread pool, only its dispatch is here); the ceiling signs with the synchronous `sign()`, on the main thread.',
          `Main thread busy: ours ${pct(profile.ours.busyShare)}, ceiling ${pct(profile.ceiling.busyShare)} of the wall time.`,
          ...(profile.problems.length > 0
            ? [
                `Answers that failed while profiled (the profiler's signals make SQLite's WAL locks fail now and then; not counted above): ${profile.problems.join('; ')}.`,
              ]
            : []),
          '',
          profile.groups,
          '',
          'In detail:',
          '',
          profile.compare,
          '',
          'Library functions with the most inclusive time in our route (time of the samples with the function on the stack;',
          'an async function counts only the segments between its awaits):',
          '',
          profile.library,
        ].join('\n');
  const loads = measured.map((run) => run.foreign).filter((cores) => cores !== null);
  const loadNote =
    loads.length === 0
      ? 'CPU used by other processes: not measured (no /proc).'
      : `CPU used by other processes during the measured runs: ${loads.map(fmtCores).join(', ')} cores` +
        (Math.max(...loads) > 0.25
          ? ' — **the machine was not idle**: other work competed for the 2 cores, so absolute figures are low and noisy; the alternating order keeps the ratios usable, re-run on a quiet machine for absolute numbers.'
          : ' (quiet machine).');
  const page = `# Benchmarks

Refresh throughput of jwt-refresh against its physical limit: a bare \`node:http\` route
doing, one commit per request, the same crypto and the same store write as a rotation,
per store and per adapter, with the framework ceilings beside it to show what a framework
costs; then several server processes on one store. Everything from "Results" on is
regenerated by \`npm run bench\`, except the "Analysis" section (kept as written), the "clear"
section (copied from its own benchmark) and the sections written by other benchmarks
("Scale in data" and those after it), which are kept as they are.

![Refresh throughput: ours against its ceiling, per store, per adapter and per number of server processes](benchmarks.svg)

## How to run

\`\`\`sh
npm run bench            # main row, every store and adapter row, 1 and 2 processes (~7 min); writes this page and docs/benchmarks.svg
npm run bench:scale      # refresh p50/p99 with 10^3, 10^5 and 10^6 stored tokens, SQLite and PostgreSQL; clear of 10^6 rows under load
npm run bench:clear      # jwt-refresh clear on 1,000,000 expired rows, SQLite then PostgreSQL (bench/clear-million.mjs)
# longer runs: BENCH_DURATION=20 npm run bench   (seconds per measured run)
\`\`\`

Other knobs: \`BENCH_WARMUP\` (s, default 2), \`BENCH_ROUNDS\` (default 3),
\`BENCH_CONNECTIONS\` (default 50), \`BENCH_PROFILE_DURATION\` (s, default 4, 0 = off),
\`BENCH_PROFILE_DIR\` (keep the \`.cpuprofile\` files), \`BENCH_WRITE_DOCS=0\`,
\`BENCH_BRIDGE=1\` (adds a diagnostic route to each round), \`BENCH_OFFLOAD=1\` (adds the ceiling signing on the thread pool to each round), \`BENCH_CHECKPOINT=auto\`
(the store and the ceiling checkpoint the WAL in the committing request, SQLite's
auto-checkpoint, instead of in a worker thread), \`BENCH_MAX_BATCH\` (group commit's \`maxBatch\`);
for the extra rows \`BENCH_ROWS\` (\`all\`, \`main\` or a comma list of ${EXTRA_ROWS.map((row) => `\`${row.id}\``).join(', ')}),
\`BENCH_ROW_DURATION\` (s, default 4), \`BENCH_ROW_WARMUP\` (s, default 1), see "Per store and per adapter".
The command exits 1 if a route of the main row answered anything but a real, distinct rotation.

## Method

- **One server child process** (\`bench/server.mjs\`) with three HTTP servers on 127.0.0.1,
  measured one at a time; autocannon runs in the parent (\`bench/run.mjs\`), so load
  generation and the server do not share an event loop. ES256 key generated at start;
  fresh SQLite files (better-sqlite3, WAL, \`synchronous=NORMAL\`) in a temp dir, one
  per route; one user \`bench\`.
- **Ceiling** (\`bench/ceiling.mjs\`): \`POST /ceiling/refresh\` on a bare \`node:http\`
  server, no framework and no library code, one commit per request: body read and
  \`JSON.parse\` → SHA-256 of the token → the indexed \`SELECT\` by hash on a table
  created by the library's own migration SQL (same columns, same indexes) → validity
  checks → HMAC-SHA-512 successor (as the library derives it), SHA-256 of it → one
  IMMEDIATE transaction with the guarded \`UPDATE\` that marks the parent rotated (the
  compare-and-set) and the \`INSERT\` of the successor → the library's default claims
  (\`roles\`, \`sub\`, a random \`jti\`, \`username\`, \`iat\`, \`exp\`) signed ES256 with
  \`node:crypto\`'s synchronous \`sign()\` (on the request thread) and a KeyObject made once → \`{token, refresh_token}\` with
  \`cache-control: no-store\`. Its WAL is checkpointed the way the store does it by default,
  from a worker thread on its own connection (\`BENCH_CHECKPOINT=auto\`: in the request),
  so the ratio compares the same durability work.
- **Framework ceiling**: the same ceiling behind a bare Fastify 5 route (Fastify's JSON
  body parser and reply): what the framework alone costs.
- **Ours**: \`POST /api/token/refresh\` from \`jwtRefreshPlugin\` over \`createJwtRefresh\`
  with default options (rotation on, 10 s grace) and \`createSqliteStore\`, the route the
  standalone server serves, twice: with **group commit off** (\`groupCommit: false\`, one
  commit per request like the ceiling) and **on** (the default: the writes of one
  event-loop turn committed together, see docs/stores.md). It signs with \`node:crypto\`'s
  \`sign()\` in its callback form, which runs the ECDSA math on libuv's thread pool (the
  library's default for asymmetric keys): the one place where ours does the ceiling's work
  differently, and a share of why it can pass the ceiling on two cores.
- **Load**: autocannon ${versionOf('autocannon')}, ${CONNECTIONS} connections, pipelining 1. Rotation needs a fresh
  token per request: before each run every connection gets its own token (ours:
  a real login through \`POST /api/login_check\`; ceiling: a row inserted by a
  setup route), and each connection always presents the refresh token it
  received last (per-connection state via \`setupClient\` + \`client.setRequests\`
  with \`setupRequest\`/\`onResponse\`). The run checks that every answer is 2xx,
  well-formed (a 128-hex refresh token and a compact JWT), and that no successor is
  ever handed out twice (which would reveal grace-window replays instead of rotations).
- **Order**: ${WARMUP > 0 ? `a ${WARMUP} s unreported warm-up of each route, then ` : ''}${ROUNDS} rounds of ${ROUND.map((r) => r.label).join(', ')}
  (${DURATION} s each), alternating to cancel drift; the figures are the medians over rounds
  (req/s = autocannon's mean of per-second counts; p99 = its latency p99).
- **Why ratios**: absolute req/s on this shared 2-core VM move by ±30 % from run to
  run (\`/work/shared/ENVIRONMENT.md\`), and more when other work runs (the "other
  processes" column). Ours / ceiling, measured alternately in the same server
  process, is what the goals are about.

## Results

- Date: ${date}
- Machine: \`nproc\` = ${machine.nproc} (${machine.cpu}), Node ${process.version}, ${machine.platform}
- Versions: fastify ${versionOf('fastify')}, jose ${versionOf('jose')}, better-sqlite3 ${versionOf('better-sqlite3')}, autocannon ${versionOf('autocannon')}
- Command: \`npm run bench\` (${DURATION} s per run, ${CONNECTIONS} connections${CHECKPOINT_NOTE})

${tables.summary}

${tables.goals}

Every measured run:

${tables.runs}

${loadNote}

## Protected route

${
  tables.protected === null
    ? '_Not measured in this run (`BENCH_PROTECTED_ROUNDS=0`)._'
    : `What a protected resource costs: \`GET /api/me\` behind the library's access-token check against the same check done by hand. Own server child (\`bench/protected-server.mjs\`), fresh SQLite file, one ES256 key; one access token from a real login, presented as \`Authorization: Bearer\` by every request of every connection.

- **Ours**: \`app.requireAuth\` of \`jwtRefreshPlugin\` on \`GET /api/me\`, answering \`request.auth.claims\` with \`cache-control: no-store\` as the standalone server does (\`src/server/build-server.ts\`), over \`createJwtRefresh\` with default options and \`createSqliteStore\`. Checks that ran, the library defaults: jose's \`jwtVerify\` with ES256 only (signature, \`exp\` required and in the future, \`nbf\`/\`iat\`, \`typ\` absent or \`JWT\`, the user-id claim a string), then the revocation check on the store, three SQLite reads: the \`jti\` on the logout blocklist, the user's "log out everywhere" watermark, the session's (\`sid\`) watermark. No \`loadUser\` (off by default), no issuer/audience (none configured), no role.
- **Ceiling**: a bare \`node:http\` server, no framework and no library code: Bearer header → split the JWT → \`JSON.parse\` of header (\`alg\` ES256, \`typ\` absent or \`JWT\`) and payload (\`exp\` in the future, \`iat\` not, \`sub\` a string) → \`node:crypto.verify\` of the signature (P-1363, a KeyObject made once) → the same three indexed \`SELECT\`s with better-sqlite3 on its own connection to the same SQLite file → the claims as JSON. **Framework ceiling**: that same work behind a bare Fastify 5 route.
- **Load**: autocannon, ${CONNECTIONS} connections, pipelining 1; every answer must be 200 with the token's claims as body (${summary.protected?.claimNames?.map((name) => `\`${name}\``).join(', ') ?? 'n/a'}). ${PROTECTED_WARMUP > 0 ? `A ${PROTECTED_WARMUP} s unreported warm-up of each route, then ` : ''}${PROTECTED_ROUNDS} rounds of ${PROTECTED_ROUTES.map((r) => r.label).join(', ')} (${PROTECTED_DURATION} s each), alternating; medians over rounds. Knobs: \`BENCH_PROTECTED_ROUNDS\` (0 = skip), \`BENCH_PROTECTED_DURATION\`, \`BENCH_PROTECTED_WARMUP\`.

${tables.protected}`
}

## Per store and per adapter

${rowsSection}

## Several server processes on one store

The same row with its servers in 2 processes (\`bench/row-cluster.mjs\`: a \`node:cluster\` primary whose
workers share the two ports round-robin and one ES256 key, as a deployment's instances share their keys and
\`secret\`; see docs/scaling.md). The 1-process figures are the row's own from "Per store". On a 2-core
machine one server process, autocannon and the store already fill both cores, so expect a factor near 1 there:
the rows show that a second process on the same store works (every answer still a real, distinct rotation) and
what it costs, not how far more cores or hosts carry. "Other processes" includes the store's own server.

${rowTables.processes}

## Where the time goes (profile of this run)

${profileSection}

## Analysis

${findings}
${clear === null ? '' : `\n## jwt-refresh clear on 1,000,000 rows\n\n${clear}\n`}${kept.length === 0 ? '' : `\n${kept.join('\n\n')}\n`}`;
  return page;
}

// ---- main -----------------------------------------------------------------

async function main() {
  const expectedSeconds =
    ROUND.length * (WARMUP + ROUNDS * DURATION) +
    2 * PROFILE_DURATION +
    (PROTECTED_ROUNDS > 0 ? PROTECTED_ROUTES.length * (PROTECTED_WARMUP + PROTECTED_ROUNDS * PROTECTED_DURATION) + 15 : 0) +
    SELECTED_ROWS.length * (ROW_ROUTES.length * (ROW_WARMUP + ROW_DURATION) + 25);
  // A hung run must not hang CI: give up well after the expected time.
  const watchdog = setTimeout(
    () => {
      console.error(`bench: no result after ${expectedSeconds + 60} s, giving up`);
      cleanup();
      process.exit(1);
    },
    (expectedSeconds + 60) * 1000,
  );
  watchdog.unref();

  const bases = await startServer();
  const base = bases.app;
  console.log(
    `server on ${base}; ${CONNECTIONS} connections, ${ROUNDS} × (${ROUND.map((r) => r.label).join(', ')}) × ${DURATION} s` +
      `${WARMUP > 0 ? `, warm-up ${WARMUP} s each` : ''}${PROFILE_DURATION > 0 ? `, profiled ${PROFILE_DURATION} s each` : ''}`,
  );

  const all = [];
  if (WARMUP > 0) {
    for (const route of ROUND) {
      const run = await runRoute(bases, route, WARMUP);
      all.push({ ...run, warmup: true });
      console.log(`  warm-up ${route.label.padEnd(20)} ${fmtInt(run.rps).padStart(7)} req/s`);
    }
  }
  const measured = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const route of ROUND) {
      const run = await runRoute(bases, route, DURATION);
      measured.push(run);
      all.push(run);
      const problems = problemsOf(run);
      console.log(
        `  round ${round} ${route.label.padEnd(20)} ${fmtInt(run.rps).padStart(7)} req/s  p50 ${run.p50} ms  p99 ${run.p99} ms  ` +
          `2xx ${run.ok}  non-2xx ${run.non2xx}  other load ${fmtCores(run.foreign)} cores${problems.length > 0 ? `  !! ${problems.join('; ')}` : ''}`,
      );
    }
  }

  let profile = null;
  if (PROFILE_DURATION > 0) {
    mkdirSync(profileDir, { recursive: true });
    const intervalUs = 500;
    const summaries = {};
    for (const route of [ROUTES.ceiling, ROUTES.ours]) {
      let file;
      const run = await runRoute(bases, route, PROFILE_DURATION, {
        // Started after the logins that fetch the tokens, so they are not in the profile.
        onReady: () => rpc('profile-start', { intervalUs }),
        // Stop at once, so the profile does not include the pause after the run.
        onRequestsDone: () => {
          file = rpc('profile-stop', { file: join(profileDir, `${route.label}.cpuprofile`) }, 60_000);
        },
      });
      all.push({ ...run, profiled: true });
      const written = await file;
      summaries[route.label] = {
        ...summarizeProfiles([JSON.parse(readFileSync(written, 'utf8'))], run.ok + run.non2xx),
        rps: run.rps,
      };
      console.log(`  profiled ${route.label.padEnd(20)} ${fmtInt(run.rps).padStart(7)} req/s  (${written})`);
    }
    profile = {
      intervalUs,
      ours: summaries.ours,
      ceiling: summaries.ceiling,
      groups: groupsMarkdown(summaries.ours, summaries.ceiling),
      compare: compareMarkdown(summaries.ours, summaries.ceiling),
      library: libraryMarkdown(summaries.ours),
    };
  }

  await stopServer();

  let protectedRow = null;
  if (PROTECTED_ROUNDS > 0) {
    console.log(
      `\nprotected route (GET /api/me): ${PROTECTED_WARMUP > 0 ? `warm-up ${PROTECTED_WARMUP} s each, then ` : ''}` +
        `${PROTECTED_ROUNDS} × (${PROTECTED_ROUTES.map((r) => r.label).join(', ')}) × ${PROTECTED_DURATION} s`,
    );
    protectedRow = await runProtectedRow();
  }

  const extraRows = [];
  if (SELECTED_ROWS.length > 0) {
    console.log(
      `\nextra rows (${SELECTED_ROWS.map((row) => row.id).join(', ')}): per row ${ROW_WARMUP > 0 ? `warm-up ${ROW_WARMUP} s each, then ` : ''}` +
        `${ROW_ROUTES.map((r) => r.label).join(', ')} × ${ROW_DURATION} s`,
    );
    for (const row of SELECTED_ROWS) extraRows.push(await runExtraRow(row));
  }

  const of = (label) => measured.filter((run) => run.route === label);
  const totals = (label) => all.filter((run) => run.route === label && !run.profiled).reduce((acc, run) => acc + run.non2xx, 0);
  const figures = (route) => ({
    rps: median(of(route.label).map((r) => r.rps)),
    p99: median(of(route.label).map((r) => r.p99)),
    non2xx: totals(route.label),
  });
  const summary = {
    ceiling: figures(ROUTES.ceiling),
    framework: figures(ROUTES.framework),
    ours: figures(ROUTES.ours),
    oursGc: figures(ROUTES.oursGc),
    // Answers of the main row's routes that went through the rotation checks (warm-up runs included; the
    // profiled pass is diagnostic, see below).
    checked: all.filter((run) => !run.profiled).reduce((acc, run) => acc + run.ok + run.non2xx, 0),
    problems: all.filter((run) => !run.profiled).reduce((acc, run) => acc + problemsOf(run).length, 0),
  };
  if (BRIDGE) summary.bridge = figures(ROUTES.bridge);
  if (OFFLOAD) summary.offload = figures(ROUTES.offload);
  summary.protected = protectedRow;
  summary.ratio = summary.ours.rps / summary.ceiling.rps;
  summary.ratioGc = summary.oursGc.rps / summary.ceiling.rps;
  const tables = renderTable(measured, summary);
  const rowTables = renderRowTables(extraRows, summary);

  console.log();
  console.log(tables.summary);
  console.log();
  console.log(tables.goals);
  console.log(`non-2xx: ours ${summary.ours.non2xx} / ${summary.oursGc.non2xx}, ceiling ${summary.ceiling.non2xx}`);
  if (tables.protected !== null) {
    console.log('\nProtected route:\n');
    console.log(tables.protected);
  }
  if (profile !== null) {
    console.log();
    console.log(profile.groups);
    console.log();
    console.log(profile.compare);
    console.log();
    console.log(profile.library);
  }
  if (extraRows.length > 0) {
    console.log('\nPer store:\n');
    console.log(rowTables.store);
    console.log('\nPer adapter:\n');
    console.log(rowTables.adapter);
    console.log('\nServer processes:\n');
    console.log(rowTables.processes);
  }

  const failures = [];
  const profiledProblems = [];
  for (const run of all) {
    const problems = problemsOf(run);
    if (problems.length === 0) continue;
    // The V8 sampling profiler's signals make SQLite's WAL locks fail now and then (SQLITE_BUSY without the
    // busy handler: 13 in 40,000 rotations in a stress test, none without the profiler): reported, not fatal.
    if (run.profiled) profiledProblems.push(`${run.route} (profiled): ${problems.join('; ')}`);
    else failures.push(`${run.route}${run.warmup ? ' (warm-up)' : ''}: ${problems.join('; ')}`);
  }
  if (profile !== null) profile.problems = profiledProblems;
  for (const problem of profiledProblems) console.warn(`warning: ${problem} (the profiled pass does not change the exit code)`);

  if (WRITE_DOCS && failures.length === 0) {
    const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const doc = renderDoc({
      date,
      tables,
      rowTables,
      extraRows,
      summary,
      profile,
      measured,
      machine: { nproc: nproc(), cpu: cpus()[0]?.model ?? 'unknown CPU', platform: `${process.platform} ${process.arch}` },
    });
    mkdirSync(join(root, 'docs'), { recursive: true });
    writeFileSync(join(root, 'docs/benchmarks.md'), doc);
    writeFileSync(join(root, 'docs/benchmarks.svg'), renderSvg(extraRows, summary, date));
    console.log('\nwrote docs/benchmarks.md and docs/benchmarks.svg');
  }
  const rowWarnings = extraRows.filter((row) => row.status === 'ok' && row.problems.length > 0);
  for (const row of rowWarnings)
    console.warn(`warning: ${row.row.label}: ${row.problems.join('; ')} (extra rows do not change the exit code)`);
  if (process.env.BENCH_PROFILE_DIR === undefined && profile !== null) {
    console.log('(set BENCH_PROFILE_DIR to keep the .cpuprofile files)');
  }

  clearTimeout(watchdog);
  if (failures.length > 0) {
    console.error(`\nbench FAILED (docs not written):\n  ${failures.join('\n  ')}`);
    return 1;
  }
  return 0;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await stopServer().catch(() => {});
  cleanup();
}
process.exit(exitCode);
