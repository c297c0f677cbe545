#!/usr/bin/env node
/**
 * `jwt-refresh clear` on a large table, while live refreshes run on the same store.
 *
 *   npm run build && node bench/clear-million.mjs sqlite|postgres
 *
 * Seeds ROWS (default 1,000,000) expired tokens into a fresh table, then runs
 * `node dist/cli/main.js clear --batch-size 5000` as a child process and measures:
 * - its wall time and peak RSS (`/usr/bin/time -f %M` when present, else VmHWM
 *   polled from /proc), next to the peak RSS of the same command on an empty
 *   table (what the CLI costs with nothing to delete);
 * - refresh latency through a library instance (createJwtRefresh on its own
 *   connection to the same store, in a worker thread so the parent's timers
 *   stay on time): p50/p99/max of back-to-back rotations before the clear and
 *   during it, and how many failed.
 * Writes the figures and the command to docs/benchmarks-clear.md (a section per
 * store; BENCH_WRITE_DOCS=0 to skip).
 *
 * Knobs: BENCH_ROWS (default 1000000), BENCH_BATCH (5000), BENCH_BASELINE_S (5), BENCH_WARMUP_S (2),
 * BENCH_SEED_BUDGET_S (PostgreSQL seeding stops after this many seconds, default 100,
 * and the run states the row count it reached), POSTGRES_URL.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { runMeasured } from './child-usage.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const DOCS = join(ROOT, 'docs/benchmarks-clear.md');
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 5000);
const BASELINE_MS = Number(process.env.BENCH_BASELINE_S ?? 5) * 1000;
const WARMUP_MS = Number(process.env.BENCH_WARMUP_S ?? 2) * 1000;
const SEED_BUDGET_MS = Number(process.env.BENCH_SEED_BUDGET_S ?? 100) * 1000;
const DAY = 86_400_000;

async function main() {
  const kind = process.argv[2];
  if (kind !== 'sqlite' && kind !== 'postgres') {
    console.error('usage: node bench/clear-million.mjs sqlite|postgres');
    process.exit(2);
  }
  if (!existsSync(CLI)) {
    console.error('dist/ is missing: run `npm run build` first');
    process.exit(2);
  }
  const scratch = mkdtempSync(join(tmpdir(), 'jwt-refresh-clear-bench-'));
  const table = `bench_clear_${process.pid}`;
  const target =
    kind === 'sqlite'
      ? { kind, databaseUrl: `sqlite:${join(scratch, 'bench.db')}`, filename: join(scratch, 'bench.db'), table }
      : { kind, databaseUrl: POSTGRES_URL, table };
  try {
    const seeded = await seed(target);
    console.log(
      `seeded ${seeded.rows.toLocaleString('en')} expired rows in ${(seeded.ms / 1000).toFixed(1)} s${seeded.note ? ` (${seeded.note})` : ''}`,
    );

    // The CLI's own footprint: the same command with nothing to delete (a separate empty table).
    const emptyTable = `${table}_empty`;
    const empty = await runClear({ ...target, table: emptyTable }, BATCH);
    if (empty.code !== 0) throw new Error(`clear on the empty table failed: ${empty.stderr}`);

    const worker = new Worker(new URL(import.meta.url), { workerData: target });
    const samples = [];
    let workerError = null;
    worker.on('message', (message) => {
      if (message.type === 'samples') samples.push(...message.samples);
    });
    worker.on('error', (error) => (workerError = error));
    await new Promise((resolve, reject) => {
      worker.once('message', (message) => (message.type === 'ready' ? resolve() : reject(new Error('worker failed to start'))));
      worker.once('error', reject);
    });

    // Unreported warm-up: JIT, the pool's connections, SQLite's page cache.
    await sleep(WARMUP_MS);
    const baselineStart = now();
    await sleep(BASELINE_MS);
    const clearStart = now();
    const clear = await runClear(target, BATCH);
    const clearEnd = now();
    await sleep(500);
    const done = new Promise((resolve) => worker.on('message', (message) => message.type === 'done' && resolve()));
    worker.postMessage('stop');
    await done;
    await worker.terminate();
    if (workerError !== null) throw workerError;
    if (clear.code !== 0) throw new Error(`clear failed (${clear.code}): ${clear.stderr}`);

    const before = summarize(
      samples.filter((s) => s.at >= baselineStart && s.at < clearStart),
      clearStart - baselineStart,
    );
    const during = summarize(
      samples.filter((s) => s.at >= clearStart && s.at < clearEnd),
      clearEnd - clearStart,
    );
    const left = await countRows(target);
    const result = {
      kind,
      rows: seeded.rows,
      seedNote: seeded.note,
      seedMs: seeded.ms,
      batch: BATCH,
      command: `node dist/cli/main.js clear --batch-size ${BATCH} --database-url ${kind === 'sqlite' ? 'sqlite:<tmp>/bench.db' : redact(POSTGRES_URL)} --table ${table}`,
      stdout: clear.stdout.trim(),
      wallMs: clear.wallMs,
      peakRssKb: clear.peakRssKb,
      rssMethod: clear.rssMethod,
      emptyPeakRssKb: empty.peakRssKb,
      rowsLeft: left,
      before,
      during,
    };
    printSummary(result);
    if (process.env.BENCH_WRITE_DOCS !== '0') writeDocs(result);
  } finally {
    await dropTarget(target).catch((error) => console.error(`cleanup failed: ${error.message}`));
    rmSync(scratch, { recursive: true, force: true });
  }
}

function now() {
  return performance.timeOrigin + performance.now();
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function redact(url) {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

// ---------------------------------------------------------------- seeding

async function seed(target) {
  const started = now();
  if (target.kind === 'sqlite') {
    const { createSqliteStore } = await import('../dist/stores/sqlite.js');
    const store = createSqliteStore({ filename: target.filename, tableName: target.table });
    const db = store.database;
    const insert = db.prepare(
      `INSERT INTO "${target.table}" (id, token_hash, user_id, user_identifier, family_id, generation, valid_until,
         family_deadline, created_at, last_used_at, rotated_at, successor_hash, revoked_at, user_agent, ip)
       VALUES (?, ?, ?, ?, ?, 0, ?, NULL, ?, NULL, NULL, NULL, NULL, ?, ?)`,
    );
    const nowMs = Date.now();
    // One transaction, one prepared statement: the fastest plain way into SQLite.
    db.transaction(() => {
      for (let i = 0; i < ROWS; i += 1) {
        // Random hashes and validity, as real tokens: index inserts and deletes land all over the B-trees.
        const validUntil = nowMs - 1000 - Math.floor(Math.random() * 30 * DAY);
        const user = `user${i % 50_000}`;
        insert.run(
          randomUUID(),
          randomBytes(32).toString('hex'),
          user,
          user,
          randomUUID(),
          validUntil,
          validUntil - 30 * DAY,
          'Mozilla/5.0 (bench)',
          '203.0.113.7',
        );
      }
    })();
    await store.close();
    return { rows: ROWS, ms: now() - started, note: '' };
  }

  const { createPostgresStore } = await import('../dist/stores/postgres.js');
  const store = createPostgresStore({ url: POSTGRES_URL, tableName: target.table });
  try {
    await store.migrate();
    // generate_series in chunks, so a slow server stops at the time budget with a known row count.
    const chunk = 100_000;
    let rows = 0;
    while (rows < ROWS) {
      if (now() - started > SEED_BUDGET_MS) {
        return { rows, ms: now() - started, note: `seeding stopped at the ${SEED_BUDGET_MS / 1000} s budget` };
      }
      const count = Math.min(chunk, ROWS - rows);
      await store.pool.query(
        `INSERT INTO "${target.table}" (id, token_hash, user_id, user_identifier, family_id, generation, valid_until,
           created_at, user_agent, ip)
         SELECT md5('id' || g), encode(sha256(('t' || g)::bytea), 'hex'), 'user' || (g % 50000), 'user' || (g % 50000),
                md5('f' || g), 0, v, v - interval '30 days', 'Mozilla/5.0 (bench)', '203.0.113.7'
         FROM (SELECT g, now() - interval '1 second' - random() * interval '30 days' AS v
               FROM generate_series($1::int, $2::int) AS g) AS s`,
        [rows + 1, rows + count],
      );
      rows += count;
    }
    // Fresh statistics, as autovacuum would have them on a table that grew over time.
    await store.pool.query(`ANALYZE "${target.table}"`);
    return { rows, ms: now() - started, note: '' };
  } finally {
    await store.close();
  }
}

async function countRows(target) {
  if (target.kind === 'sqlite') {
    const { createSqliteStore } = await import('../dist/stores/sqlite.js');
    const store = createSqliteStore({ filename: target.filename, tableName: target.table });
    try {
      return await store.count();
    } finally {
      await store.close();
    }
  }
  const { createPostgresStore } = await import('../dist/stores/postgres.js');
  const store = createPostgresStore({ url: POSTGRES_URL, tableName: target.table });
  try {
    return await store.count();
  } finally {
    await store.close();
  }
}

async function dropTarget(target) {
  if (target.kind !== 'postgres') return;
  const { default: pg } = await import('pg');
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 1 });
  try {
    for (const table of [target.table, `${target.table}_empty`]) {
      const names = [table, `${table}_blocklist`, `${table}_watermarks`, `${table}_rate_limits`].map((name) => `public."${name}"`);
      await pool.query(`DROP TABLE IF EXISTS ${names.join(', ')}`);
      await pool.query(`DELETE FROM public.jwt_refresh_migrations WHERE table_name = $1`, [table]).catch(() => {});
    }
  } finally {
    await pool.end();
  }
}

// ---------------------------------------------------------------- the clear child

/**
 * Runs the CLI's clear, measured (see bench/child-usage.mjs).
 * Also used by bench/data-scale.mjs. `target`: { databaseUrl, table }.
 */
export function runClear(target, batch) {
  return runMeasured([CLI, 'clear', '--batch-size', String(batch), '--database-url', target.databaseUrl, '--table', target.table]);
}

// ---------------------------------------------------------------- live refreshes (worker thread)

async function refreshWorker(target) {
  const { createJwtRefresh, createMemoryUserProvider, createScryptHasher, generateKeyPair } = await import('../dist/index.js');
  const store =
    target.kind === 'sqlite'
      ? (await import('../dist/stores/sqlite.js')).createSqliteStore({ filename: target.filename, tableName: target.table })
      : (await import('../dist/stores/postgres.js')).createPostgresStore({ url: POSTGRES_URL, tableName: target.table });
  // Cheap scrypt: only the one login pays it, and it is not what is measured.
  const hasher = createScryptHasher({ cost: 2 ** 10 });
  const keys = await generateKeyPair('ES256');
  const jwtRefresh = await createJwtRefresh({
    store,
    userProvider: createMemoryUserProvider([
      { id: 'bench', identifier: 'bench', roles: ['ROLE_USER'], passwordHash: await hasher.hash('bench') },
    ]),
    passwordHasher: hasher,
    jwt: { algorithm: 'ES256', secretKey: keys.privateKeyPem },
    logger: { error() {}, warn() {}, info() {}, debug() {} },
  });
  // The session API: the same use cases as the routes, without HTTP in the measured loop.
  let token = (await jwtRefresh.logInWithPassword('bench', 'bench')).refreshToken;

  let stopping = false;
  parentPort.on('message', (message) => {
    if (message === 'stop') stopping = true;
  });
  parentPort.postMessage({ type: 'ready' });
  let batch = [];
  while (!stopping) {
    const started = now();
    let ok = false;
    try {
      token = (await jwtRefresh.refreshSession(token)).refreshToken;
      ok = true;
    } catch {
      // Counted as a failure below; a failed rotation (e.g. SQLITE_BUSY) leaves the old token usable.
    }
    const ended = now();
    batch.push({ at: started, ms: ended - started, ok });
    if (batch.length >= 200) {
      parentPort.postMessage({ type: 'samples', samples: batch });
      batch = [];
    }
    // Let the 'stop' message in: a synchronous store (better-sqlite3) never yields on its own.
    await new Promise((resolve) => setImmediate(resolve));
  }
  parentPort.postMessage({ type: 'samples', samples: batch });
  await jwtRefresh.close();
  parentPort.postMessage({ type: 'done' });
}

// ---------------------------------------------------------------- report

function summarize(samples, windowMs) {
  const ms = samples.map((s) => s.ms).sort((a, b) => a - b);
  const pick = (q) => (ms.length === 0 ? NaN : ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]);
  return {
    count: samples.length,
    perSecond: Math.round(samples.length / (windowMs / 1000)),
    failed: samples.filter((s) => !s.ok).length,
    // Refreshes that waited on a batch: p99 can hide them when there are many fast ones.
    slow: ms.filter((value) => value > 100).length,
    p50: pick(0.5),
    p99: pick(0.99),
    max: ms.at(-1) ?? NaN,
  };
}

function fmt(ms) {
  return Number.isNaN(ms) ? 'n/a' : ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}

function printSummary(r) {
  const mb = (kb) => (kb / 1024).toFixed(1);
  console.log(`\n== clear on ${r.kind}: ${r.rows.toLocaleString('en')} expired rows, --batch-size ${r.batch}`);
  console.log(`output:        ${r.stdout}`);
  console.log(
    `wall time:     ${(r.wallMs / 1000).toFixed(2)} s (${Math.round(r.rows / (r.wallMs / 1000)).toLocaleString('en')} rows/s), rows left: ${r.rowsLeft}`,
  );
  console.log(`peak RSS:      ${mb(r.peakRssKb)} MB (same command on an empty table: ${mb(r.emptyPeakRssKb)} MB; ${r.rssMethod})`);
  for (const [label, phase] of [
    ['before', r.before],
    ['during', r.during],
  ]) {
    console.log(
      `refresh ${label}: n=${phase.count} (${phase.perSecond}/s) failed=${phase.failed} p50=${fmt(phase.p50)} ms p99=${fmt(phase.p99)} ms max=${fmt(phase.max)} ms >100ms=${phase.slow}`,
    );
  }
}

function phaseCells(phase) {
  return `${phase.count} (${phase.perSecond}/s), ${fmt(phase.p50)} ms, ${fmt(phase.p99)} ms, ${fmt(phase.max)} ms, ${phase.slow}, ${phase.failed}`;
}

function writeDocs(r) {
  const begin = `<!-- clear-bench:${r.kind}:${r.batch}:begin -->`;
  const end = `<!-- clear-bench:${r.kind}:${r.batch}:end -->`;
  const mb = (kb) => (kb / 1024).toFixed(1);
  const section = [
    begin,
    `### ${r.kind === 'sqlite' ? 'SQLite (better-sqlite3, WAL)' : 'PostgreSQL'}, --batch-size ${r.batch}`,
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.versions.node}.`,
    '',
    '```sh',
    `${ROWS === 1_000_000 ? '' : `BENCH_ROWS=${ROWS} `}${r.batch === 5000 ? '' : `BENCH_BATCH=${r.batch} `}node bench/clear-million.mjs ${r.kind}`,
    `# runs: ${r.command}`,
    '```',
    '',
    `| figure | value |`,
    `| --- | --- |`,
    `| expired rows seeded | ${r.rows.toLocaleString('en')}${r.seedNote ? ` (${r.seedNote})` : ''} in ${(r.seedMs / 1000).toFixed(1)} s |`,
    `| CLI output | \`${r.stdout}\` |`,
    `| wall time of \`clear\` (process start to exit) | ${(r.wallMs / 1000).toFixed(2)} s (${Math.round(r.rows / (r.wallMs / 1000)).toLocaleString('en')} rows/s) |`,
    `| rows left afterwards | ${r.rowsLeft} (the live refresh chain) |`,
    `| peak RSS of \`clear\` | ${mb(r.peakRssKb)} MB |`,
    `| peak RSS of the same command on an empty table | ${mb(r.emptyPeakRssKb)} MB |`,
    `| refreshes before the clear: n (per s), p50, p99, max, over 100 ms, failed | ${phaseCells(r.before)} |`,
    `| refreshes during the clear: n (per s), p50, p99, max, over 100 ms, failed | ${phaseCells(r.during)} |`,
    '',
    end,
  ].join('\n');
  let page = existsSync(DOCS) ? readFileSync(DOCS, 'utf8') : HEADER;
  const from = page.indexOf(begin);
  const to = page.indexOf(end);
  page = from !== -1 && to !== -1 ? `${page.slice(0, from)}${section}${page.slice(to + end.length)}` : `${page.trimEnd()}\n\n${section}\n`;
  writeFileSync(DOCS, page);
  console.log(`\nwrote ${DOCS}`);
}

const HEADER = `# Benchmarks: \`jwt-refresh clear\` on a large table

\`bench/clear-million.mjs\` seeds expired refresh tokens (random hashes, validity
spread over the last 30 days) into a fresh table, then runs the CLI's \`clear\` as a
child process while a library instance (\`createJwtRefresh\` on its own connection
to the same store, in a worker thread) rotates one refresh token back to back.
It reports the wall time and peak RSS of \`clear\`, and refresh latency in the
5 s before the clear (after a 2 s unreported warm-up) and during it. Each section
below is rewritten by the run of its store and batch size.
`;

// Last, so every constant above is initialised before either entry point runs. Imported (by
// bench/data-scale.mjs, for runClear) it runs nothing.
if (!isMainThread && workerData?.kind !== undefined) {
  await refreshWorker(workerData);
} else if (isMainThread && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  await main();
}
