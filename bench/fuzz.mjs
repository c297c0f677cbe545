// `npm run bench:fuzz`: the long fuzz run (issue 11). The generator and judge of the
// suite's fuzz test (bench/fuzz-requests.mjs), FUZZ_REQUESTS times against the standalone
// server (`dist/cli/bin.cjs serve`, SQLite, renewal and OAuth endpoints on, LOG_LEVEL=info),
// each request on its own TCP connection, FUZZ_CONCURRENCY at a time.
//
// Counts answers by status, judges each (no answer, a 5xx, a stack trace, SQL or a token
// of the request in the body of a library answer), counts the server's log lines by level
// (an error-level line per hostile request would let anyone flood logs and alerts), and
// reads the server's RSS (/proc/<pid>/status VmRSS) after start-up and after the run.
//
// Prints a table and writes its section at the end of docs/benchmarks.md (between
// <!-- fuzz:start --> and <!-- fuzz:end -->, replaced on each run; nothing else in the
// file is touched). Exits 1 if any request was judged wrong or an error was logged.
//
// Environment:
//   FUZZ_REQUESTS      requests (default 50000)
//   FUZZ_SEED          fast-check seed (default 20261206)
//   FUZZ_CONCURRENCY   requests in flight (default 16)
//   FUZZ_WRITE_DOCS    0 = do not write docs/benchmarks.md (default 1)
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeBenchmarksSection } from './benchmarks-page.mjs';
import { connect, createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { importPKCS8, SignJWT } from 'jose';
import { hostileRequest, judge } from './fuzz-requests.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const envNumber = (name, fallback) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}: expected a positive integer, got ${raw}`);
  return value;
};
const REQUESTS = envNumber('FUZZ_REQUESTS', 50_000);
const SEED = envNumber('FUZZ_SEED', 20_261_206);
const CONCURRENCY = envNumber('FUZZ_CONCURRENCY', 16);
const WRITE_DOCS = process.env.FUZZ_WRITE_DOCS !== '0';
const START = '<!-- fuzz:start -->';
const END = '<!-- fuzz:end -->';
const BIN = join(root, 'dist/cli/bin.cjs');

if (!existsSync(BIN)) {
  console.error('dist/cli/bin.cjs is missing: run `npm run build` (or `npm run bench:fuzz`, which builds)');
  process.exit(2);
}

async function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** Sends one raw request on its own connection; resolves with status and body (status 0: no answer). */
function sendRaw(port, { requestLine, headerLines, body }) {
  const head = [requestLine, `Host: 127.0.0.1:${port}`, 'Connection: close', ...headerLines, '', ''].join('\r\n');
  return new Promise((done) => {
    const chunks = [];
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      const raw = Buffer.concat(chunks);
      const end = raw.indexOf('\r\n\r\n');
      if (end === -1) return done({ status: 0, body: '' });
      const status = Number(raw.subarray(0, end).toString('latin1').split(' ')[1] ?? 0);
      done({ status, body: raw.subarray(end + 4).toString('utf8') });
    });
    socket.on('connect', () => {
      socket.write(Buffer.from(head, 'latin1'));
      if (body !== undefined) socket.write(body);
    });
  });
}

function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kib / 1024;
}

const dir = mkdtempSync(join(tmpdir(), 'jwt-refresh-fuzz-'));
writeFileSync(join(dir, 'jwt-refresh.json'), JSON.stringify({ accessTokenRenewal: true, oauthEndpoints: true }));
const port = await freePort();
const child = spawn(process.execPath, [BIN, 'serve'], {
  cwd: dir,
  env: {
    PATH: process.env.PATH ?? '',
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'info',
    JWT_REFRESH_CONFIG: join(dir, 'jwt-refresh.json'),
  },
  stdio: ['ignore', 'pipe', 'pipe'],
});
const logLevels = new Map();
const errorExamples = [];
let pending = '';
const countLines = (chunk) => {
  pending += chunk;
  const lines = pending.split('\n');
  pending = lines.pop() ?? '';
  for (const line of lines) {
    const level = /"level":(\d+)/.exec(line)?.[1] ?? 'other';
    logLevels.set(level, (logLevels.get(level) ?? 0) + 1);
    if (Number(level) >= 50 && errorExamples.length < 3) errorExamples.push(line.slice(0, 300));
  }
};
child.stdout.on('data', countLines);
child.stderr.on('data', countLines);
const baseUrl = `http://127.0.0.1:${port}`;
for (let started = Date.now(); ; ) {
  try {
    if ((await fetch(`${baseUrl}/health`)).ok) break;
  } catch {
    // not listening yet
  }
  if (Date.now() - started > 20_000 || child.exitCode !== null) throw new Error('the server did not start');
  await new Promise((done) => setTimeout(done, 100));
}

// Real tokens for the generator to mix in: a few sessions of the demo user, and odd ones signed with the server's key.
const tokens = { refresh: [], access: [], odd: [] };
for (let i = 0; i < 3; i++) {
  const response = await fetch(`${baseUrl}/api/login_check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'demo', password: 'demo' }),
  });
  const json = await response.json();
  tokens.access.push(json.token);
  tokens.refresh.push(json.refresh_token);
}
const key = await importPKCS8(readFileSync(join(dir, 'var', 'jwt-es256-private.pem'), 'utf8'), 'ES256');
const now = Math.floor(Date.now() / 1000);
const sign = (claims, header = {}) =>
  new SignJWT({ username: 'demo', roles: ['ROLE_USER'], iat: now, exp: now + 3600, ...claims })
    .setProtectedHeader({ alg: 'ES256', ...header })
    .sign(key);
tokens.odd.push(
  await sign({ sid: 'no-such-session' }, { typ: 5 }),
  await sign({ exp: 1e300, jti: 'far-future' }),
  await sign({}, { typ: 'application/jwt' }),
  await sign({ exp: now - 10 }),
  await sign({ username: 42 }),
);
const secrets = [...tokens.refresh, ...tokens.access, ...tokens.odd];
const document = await (await fetch(`${baseUrl}/api/openapi.json`)).json();
const routes = Object.entries(document.paths).flatMap(([path, methods]) =>
  Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
);
const paths = [...new Set(routes.map((route) => route.path))];

const rssBefore = rssMiB(child.pid);
const requests = fc.sample(hostileRequest(fc, { routes, tokens }), { seed: SEED, numRuns: REQUESTS });
const byStatus = new Map();
const problems = new Map();
let next = 0;
const startedAt = process.hrtime.bigint();
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < requests.length) {
      const request = requests[next++];
      const response = await sendRaw(port, request);
      byStatus.set(response.status, (byStatus.get(response.status) ?? 0) + 1);
      const problem = judge(request, response, { secrets, paths });
      if (problem !== null) {
        const entry = problems.get(problem) ?? {
          count: 0,
          example: `${request.requestLine} -> ${response.status} ${response.body.slice(0, 120)}`,
        };
        entry.count++;
        problems.set(problem, entry);
      }
    }
  }),
);
const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
await new Promise((done) => setTimeout(done, 500));
const rssAfter = rssMiB(child.pid);
child.kill('SIGTERM');
await new Promise((done) => child.once('exit', done));
rmSync(dir, { recursive: true, force: true });

const statusRows = [...byStatus.entries()].sort(([a], [b]) => a - b);
const errorLines = [...logLevels.entries()].filter(([level]) => Number(level) >= 50).reduce((sum, [, count]) => sum + count, 0);
const problemCount = [...problems.values()].reduce((sum, entry) => sum + entry.count, 0);
console.log(
  `${REQUESTS} requests in ${seconds.toFixed(1)} s (${Math.round(REQUESTS / seconds)} req/s), seed ${SEED}, concurrency ${CONCURRENCY}`,
);
console.table(Object.fromEntries(statusRows.map(([status, count]) => [status, count])));
console.log(`problems: ${problemCount}`, Object.fromEntries(problems));
console.log('log lines by pino level:', Object.fromEntries(logLevels), errorExamples);
console.log(`server RSS: ${rssBefore.toFixed(1)} MiB before, ${rssAfter.toFixed(1)} MiB after`);

const failed = problemCount > 0 || errorLines > 0;
const section = `${START}
## Fuzz: ${REQUESTS.toLocaleString('en-US')} hostile requests against the standalone server

\`npm run bench:fuzz\` (bench/fuzz.mjs), ${new Date().toISOString().slice(0, 10)}: the generator of the
suite's fuzz test (bench/fuzz-requests.mjs: every route with its own and with other methods,
TRACE and QUERY among them; origin-, absolute-form and userinfo targets, fragments, odd
paths; media types that are none; real, odd-but-signed and random tokens in the
Authorization header, the cookie, the query and the body), seed ${SEED}, ${CONCURRENCY} in flight,
each on its own connection, against \`dist/cli/bin.cjs serve\` (SQLite, renewal and OAuth
endpoints on, \`LOG_LEVEL=info\`). Node ${process.version}, ${cpus().length} cores shared with other work.

| | |
|---|---|
| requests | ${REQUESTS.toLocaleString('en-US')} in ${seconds.toFixed(1)} s (${Math.round(REQUESTS / seconds).toLocaleString('en-US')}/s) |
| answers by status | ${statusRows.map(([status, count]) => `${status}: ${count.toLocaleString('en-US')}`).join(', ')} |
| judged wrong (no answer, 5xx, stack/SQL/token in a library answer) | ${problemCount} |
| server log lines at error level or above | ${errorLines} |
| server RSS | ${rssBefore.toFixed(1)} MiB after start-up and 3 logins, ${rssAfter.toFixed(1)} MiB after the run |

Before issue 11's fixes, 70,800 fuzzed requests gave 2,111 answers of 500 (a malformed
\`Content-Type\` with a body, TRACE, a target with userinfo, QUERY without a content type),
each with an error-level log line. The suite's \`test/fuzz.test.ts\` runs the same generator
over every adapter (a few thousand requests, seeded).
${END}`;

if (WRITE_DOCS && !failed) {
  writeBenchmarksSection(START, END, section);
  console.log('wrote the "Fuzz" section of docs/benchmarks.md');
}
process.exit(failed ? 1 : 0);
