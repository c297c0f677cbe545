#!/usr/bin/env node
// `npm run bench:scale`: scale in data. Refresh latency with 10^3, 10^5 and 10^6 tokens
// stored, on SQLite and PostgreSQL (it must stay flat: the lookup and the guarded write go
// through indexes), then `jwt-refresh clear` of the 10^6 expired rows while refreshes run.
//
//   npm run build && node bench/data-scale.mjs [sqlite] [postgres]     (default: both)
//
// Per store and size, one fresh table made by the store's own migrations and one library
// instance (createJwtRefresh, store defaults) on it, in this process. Rows are bulk-loaded with
// plain SQL (SQLite: a recursive CTE in one transaction, the three secondary indexes dropped and
// rebuilt around a large load; PostgreSQL: generate_series, then ANALYZE), never through the API.
// They look like real tokens (random hashes, 50,000 users, a family each) but expired, spread
// over the last 30 days, so `clear` has 10^6 rows to delete at the end. Then each size rotates
// its own refresh token back to back through the session API (`refreshSession`: the lookup, the
// user, the HMAC, the guarded write, the ES256 signature), the sizes taking turns in 1 s slices
// (BENCH_SCALE_SECONDS of them each, after a 1 s warm-up each) so the machine's load drifts
// alike for all: p50/p99/max per size. Last, the CLI's clear (bench/clear-million.mjs's
// runClear: `node dist/cli/main.js clear`, a child process) deletes the largest table's expired
// rows while its chain keeps rotating: p50/p99 before and during it.
//
// Writes the "Scale in data" section of docs/benchmarks.md (replaced in place, the rest of
// the page untouched) and docs/benchmarks-data-scale.svg; BENCH_WRITE_DOCS=0 to skip.
// Knobs: BENCH_SCALE_SECONDS (default 5), BENCH_SCALE_STEPS (default 1000,100000,1000000),
// BENCH_BATCH (clear's --batch-size, default 5000), BENCH_PG_URL.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeBenchmarksSection } from './benchmarks-page.mjs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChart } from './chart.mjs';
import { runClear } from './clear-million.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PG_URL = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const SECONDS = Number(process.env.BENCH_SCALE_SECONDS ?? 5);
const STEPS = (process.env.BENCH_SCALE_STEPS ?? '1000,100000,1000000').split(',').map(Number);
const BATCH = Number(process.env.BENCH_BATCH ?? 5000);
const DAY = 86_400_000;
const GOAL = 1.2; // 10^6-token p50 within 1.2 × the 10^3-token p50
const SECTION_START = '<!-- data-scale:start -->';
const SECTION_END = '<!-- data-scale:end -->';

const now = () => performance.timeOrigin + performance.now();

// ---- the store under test ----------------------------------------------------

async function openTarget(kind, scratch, rows) {
  const table = `bench_scale_${process.pid}_${rows}`;
  if (kind === 'sqlite') {
    const { createSqliteStore } = await import('../dist/stores/sqlite.js');
    const filename = join(scratch, `scale-${rows}.db`);
    const store = createSqliteStore({ filename, tableName: table });
    const db = store.database;
    return {
      kind,
      table,
      store,
      databaseUrl: `sqlite:${filename}`,
      count: () => db.prepare(`SELECT COUNT(*) FROM "${table}"`).pluck().get(),
      async load(from, to) {
        const large = to - from > 50_000;
        // A large load: rebuild the secondary indexes once (sorted) instead of inserting into them row by row.
        const indexes = large
          ? db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL").all(table)
          : [];
        db.transaction(() => {
          for (const index of indexes) db.exec(`DROP INDEX "${index.name}"`);
          db.prepare(
            `WITH RECURSIVE n(x) AS (SELECT ? UNION ALL SELECT x + 1 FROM n WHERE x < ?)
             INSERT INTO "${table}" (id, token_hash, user_id, user_identifier, family_id, generation, valid_until,
               family_deadline, created_at, user_agent, ip)
             SELECT lower(hex(randomblob(16))), lower(hex(randomblob(32))), 'user' || (x % 50000), 'user' || (x % 50000),
                    'family' || x, 0, v, NULL, v - ${30 * DAY}, 'Mozilla/5.0 (bench)', '203.0.113.7'
             FROM (SELECT x, ? - 1000 - abs(random() % ${30 * DAY}) AS v FROM n)`,
          ).run(from + 1, to, Date.now());
          for (const index of indexes) db.exec(index.sql);
        })();
        db.exec('ANALYZE');
      },
      drop: async () => undefined,
    };
  }
  const { createPostgresStore } = await import('../dist/stores/postgres.js');
  const store = createPostgresStore({ url: PG_URL, tableName: table });
  await store.migrate();
  const pool = store.pool;
  return {
    kind,
    table,
    store,
    databaseUrl: PG_URL,
    count: async () => Number((await pool.query(`SELECT COUNT(*) AS n FROM "${table}"`)).rows[0].n),
    async load(from, to) {
      for (let start = from; start < to; start += 100_000) {
        const end = Math.min(to, start + 100_000);
        await pool.query(
          `INSERT INTO "${table}" (id, token_hash, user_id, user_identifier, family_id, generation, valid_until, created_at, user_agent, ip)
           SELECT md5(random()::text || g), encode(sha256((random()::text || g)::bytea), 'hex'), 'user' || (g % 50000),
                  'user' || (g % 50000), 'family' || g, 0, v, v - interval '30 days', 'Mozilla/5.0 (bench)', '203.0.113.7'
           FROM (SELECT g, now() - interval '1 second' - random() * interval '30 days' AS v
                 FROM generate_series($1::int, $2::int) AS g) AS s`,
          [start + 1, end],
        );
      }
      await pool.query(`ANALYZE "${table}"`);
    },
    async drop() {
      const { default: pg } = await import('pg');
      const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
      try {
        const names = [table, `${table}_blocklist`, `${table}_watermarks`, `${table}_rate_limits`].map((name) => `public."${name}"`);
        await admin.query(`DROP TABLE IF EXISTS ${names.join(', ')}`);
        await admin.query('DELETE FROM public.jwt_refresh_migrations WHERE table_name = $1', [table]).catch(() => undefined);
      } finally {
        await admin.end();
      }
    },
  };
}

async function library(store) {
  const { createJwtRefresh, createMemoryUserProvider, createScryptHasher, generateKeyPair } = await import('../dist/index.js');
  const hasher = createScryptHasher({ cost: 2 ** 10 });
  const { privateKeyPem } = await generateKeyPair('ES256');
  return createJwtRefresh({
    store,
    userProvider: createMemoryUserProvider([
      { id: 'bench', identifier: 'bench', roles: ['ROLE_USER'], passwordHash: await hasher.hash('bench') },
    ]),
    passwordHasher: hasher,
    jwt: { algorithm: 'ES256', secretKey: privateKeyPem },
    logger: { error() {}, warn() {}, info() {}, debug() {} },
  });
}

// ---- measuring -----------------------------------------------------------------

/** Rotates one chain back to back until `until()` says stop; the latency of each, in ms. */
async function rotations(jwtRefresh, chain, until) {
  const samples = [];
  while (!until()) {
    const started = now();
    let ok = false;
    try {
      chain.token = (await jwtRefresh.refreshSession(chain.token)).refreshToken;
      ok = true;
    } catch {
      // counted; a failed rotation leaves the presented token usable
    }
    samples.push({ at: started, ms: now() - started, ok });
    // Let timers and the clear child's exit in: a synchronous store never yields on its own.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return samples;
}

function summarize(samples) {
  const ms = samples
    .filter((s) => s.ok)
    .map((s) => s.ms)
    .sort((a, b) => a - b);
  const pick = (q) => (ms.length === 0 ? Number.NaN : ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]);
  return { n: samples.length, failed: samples.filter((s) => !s.ok).length, p50: pick(0.5), p99: pick(0.99), max: ms.at(-1) ?? Number.NaN };
}

async function measureStore(kind) {
  const scratch = mkdtempSync(join(tmpdir(), 'jwt-refresh-scale-'));
  const sizes = [];
  const result = { kind, steps: [], clear: null };
  try {
    // One table per size, each with its own library instance and token chain, all loaded first:
    // the sizes are then measured in alternating 1 s slices, so a change in the machine's load
    // hits every size alike instead of drifting the comparison.
    for (const rows of STEPS) {
      const target = await openTarget(kind, scratch, rows);
      const size = { rows, target, jwtRefresh: null };
      sizes.push(size);
      const started = now();
      await target.load(0, rows);
      size.loadMs = now() - started;
      size.jwtRefresh = await library(target.store);
      size.chain = { token: (await size.jwtRefresh.logInWithPassword('bench', 'bench')).refreshToken };
      size.samples = [];
      console.log(`${kind}: loaded ${rows.toLocaleString('en-US')} rows in ${(size.loadMs / 1000).toFixed(1)} s`);
    }
    const slice = (size, ms) =>
      rotations(
        size.jwtRefresh,
        size.chain,
        (
          (end) => () =>
            now() >= end
        )(now() + ms),
      );
    for (const size of sizes) await slice(size, 1000); // warm-up: JIT, caches
    for (let round = 0; round < SECONDS; round++) {
      for (const size of sizes) size.samples.push(...(await slice(size, 1000)));
    }
    for (const size of sizes) {
      const figures = summarize(size.samples);
      const stored = await size.target.count();
      result.steps.push({ rows: size.rows, stored, loadMs: size.loadMs, ...figures, perSecond: figures.n / SECONDS });
      console.log(
        `${kind}: ${stored.toLocaleString('en-US')} tokens stored: ${figures.n} rotations, p50 ${figures.p50.toFixed(3)} ms, ` +
          `p99 ${figures.p99.toFixed(3)} ms, max ${figures.max.toFixed(1)} ms, failed ${figures.failed}`,
      );
    }

    // clear of the largest table's expired rows while its chain keeps rotating.
    const largest = sizes.at(-1);
    const before = summarize(await slice(largest, SECONDS * 1000));
    let clearDone = false;
    const clearing = runClear({ databaseUrl: largest.target.databaseUrl, table: largest.target.table }, BATCH).finally(() => {
      clearDone = true;
    });
    const during = summarize(await rotations(largest.jwtRefresh, largest.chain, () => clearDone));
    const clear = await clearing;
    if (clear.code !== 0) throw new Error(`clear failed (${clear.code}): ${clear.stderr}`);
    // The CLI's last line is its summary ("Revoked N invalid token(s)").
    result.clear = {
      output: clear.stdout.trim().split('\n').at(-1),
      wallMs: clear.wallMs,
      before,
      during,
      left: await largest.target.count(),
    };
    console.log(
      `${kind}: clear: ${result.clear.output} in ${(clear.wallMs / 1000).toFixed(1)} s; refresh p50/p99 before ${before.p50.toFixed(3)}/${before.p99.toFixed(3)} ms, ` +
        `during ${during.p50.toFixed(3)}/${during.p99.toFixed(3)} ms (max ${during.max.toFixed(1)} ms, failed ${during.failed})`,
    );
  } finally {
    for (const size of sizes) {
      await size.jwtRefresh?.close();
      await size.target.drop().catch((error) => console.error(`cleanup failed: ${error.message}`));
    }
    rmSync(scratch, { recursive: true, force: true });
  }
  return result;
}

// ---- report --------------------------------------------------------------------

const fmt = (ms) => (Number.isNaN(ms) ? 'n/a' : ms < 10 ? ms.toFixed(2) : ms.toFixed(1));
const LABEL = { sqlite: 'SQLite (better-sqlite3, WAL, store defaults)', postgres: 'PostgreSQL (pg, store defaults)' };

function renderSection(results, date) {
  const lines = [
    SECTION_START,
    '## Scale in data (tokens stored)',
    '',
    '_Written by `npm run bench:scale` (`bench/data-scale.mjs`); `npm run bench` keeps this section as it is._',
    '',
    'Refresh latency must not grow with the number of tokens stored: the lookup by hash and the guarded write go',
    "through indexes. Each store gets fresh tables (its own migrations) and library instances in the bench's",
    'process, one table per size, bulk-loaded with plain SQL (SQLite: a recursive CTE, secondary indexes rebuilt',
    'around a large load; PostgreSQL: `generate_series`, then `ANALYZE`), never through the API, with rows shaped like',
    'real tokens (random hashes, 50,000 users) but expired. At each step one refresh token is rotated back to back',
    'through `refreshSession` (lookup, user, HMAC, guarded write, ES256 signature). Each size has its own table, library',
    `instance and token chain, and the sizes take turns in 1 s slices (${SECONDS} each, after a 1 s warm-up each), so a change`,
    "in the machine's load hits every size alike.",
    `Then \`jwt-refresh clear\` (a child process, \`--batch-size ${BATCH}\`) deletes the largest table's expired rows while its chain keeps rotating.`,
    '',
    `Measured ${date} on ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), Node ${process.versions.node}.`,
    '',
    '```sh',
    'npm run bench:scale        # = npm run build && node bench/data-scale.mjs sqlite postgres',
    '```',
    '',
    '![Refresh latency by tokens stored](benchmarks-data-scale.svg)',
    '',
    "| store | tokens stored (bulk-loaded) | at the end (+ the chain's own rows) | rotations | p50 ms | p99 ms | max ms | failed | p50 / p50 of the smallest |",
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const result of results) {
    const first = result.steps[0];
    for (const step of result.steps) {
      const ratio = step.p50 / first.p50;
      const last = step === result.steps.at(-1) && result.steps.length > 1;
      lines.push(
        `| ${LABEL[result.kind]} | ${step.rows.toLocaleString('en-US')} | ${step.stored.toLocaleString('en-US')} | ${step.n.toLocaleString('en-US')} | ${fmt(step.p50)} | ${fmt(step.p99)} | ${fmt(step.max)} | ${step.failed} | ` +
          `${ratio.toFixed(2)} ×${last ? ` (goal ≤ ${GOAL}: ${ratio <= GOAL ? 'met' : '**NOT met**'})` : ''} |`,
      );
    }
  }
  lines.push(
    '',
    `### \`clear\` of the expired rows while refreshes run`,
    '',
    '| store | CLI output | wall time | refresh p50 / p99 / max before, ms | refresh p50 / p99 / max during, ms | failed during | rows left |',
    '|---|---|---:|---:|---:|---:|---:|',
  );
  for (const result of results) {
    const c = result.clear;
    if (c === null) continue;
    lines.push(
      `| ${LABEL[result.kind]} | \`${c.output}\` | ${(c.wallMs / 1000).toFixed(1)} s | ${fmt(c.before.p50)} / ${fmt(c.before.p99)} / ${fmt(c.before.max)} | ` +
        `${fmt(c.during.p50)} / ${fmt(c.during.p99)} / ${fmt(c.during.max)} | ${c.during.failed} of ${c.during.n} | ${c.left} |`,
    );
  }
  lines.push('', SECTION_END);
  return lines.join('\n');
}

function renderSvg(results, date) {
  const series = { p50: { color: '#2f6fca', label: 'p50' }, p99: { color: '#e08a1e', label: 'p99' } };
  const panels = results.map((result) => ({
    title: LABEL[result.kind],
    unit: 'ms per refresh, lower is better',
    format: fmt,
    groups: [
      ...result.steps.map((step) => ({
        label: `${step.rows.toLocaleString('en-US')} tokens stored`,
        bars: [
          { series: 'p50', value: step.p50 },
          { series: 'p99', value: step.p99 },
        ],
      })),
      ...(result.clear === null
        ? []
        : [
            {
              label: 'during clear of the expired rows',
              bars: [
                { series: 'p50', value: result.clear.during.p50 },
                { series: 'p99', value: result.clear.during.p99 },
              ],
            },
          ]),
    ],
  }));
  return renderChart({
    title: 'jwt-refresh: refresh latency by tokens stored',
    subtitle: `npm run bench:scale, ${date}; back-to-back rotations of one token through the session API`,
    panels,
    series,
  });
}

async function main() {
  if (!existsSync(join(ROOT, 'dist/cli/main.js'))) {
    console.error('dist/ is missing: run `npm run build` first');
    return 2;
  }
  const kinds = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['sqlite', 'postgres'];
  for (const kind of kinds) if (kind !== 'sqlite' && kind !== 'postgres') throw new Error(`unknown store ${kind} (sqlite, postgres)`);
  const results = [];
  for (const kind of kinds) results.push(await measureStore(kind));
  const date = new Date().toISOString().slice(0, 10);
  const section = renderSection(results, date);
  console.log(`\n${section}`);
  if (process.env.BENCH_WRITE_DOCS !== '0') {
    writeBenchmarksSection(SECTION_START, SECTION_END, section);
    writeFileSync(join(ROOT, 'docs/benchmarks-data-scale.svg'), renderSvg(results, date));
    console.log('\nwrote docs/benchmarks.md (Scale in data) and docs/benchmarks-data-scale.svg');
  }
  const flat = results.every((result) => result.steps.at(-1).p50 / result.steps[0].p50 <= GOAL);
  return flat ? 0 : 1;
}

process.exitCode = await main();
