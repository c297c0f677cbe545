#!/usr/bin/env node
/**
 * `jwt-refresh import-gesdinet` of a large bundle table: wall time, rate and peak RSS of the CLI.
 *
 *   npm run bench:import                                    # PostgreSQL source -> SQLite store
 *   npm run build && node bench/import-gesdinet.mjs mariadb postgres
 *
 * Creates the bundle's 1.x table (Doctrine's DDL) in the source database
 * (`postgres` or `mariadb`, the shared servers), fills it with BENCH_ROWS rows
 * (default 100,000: 95 % live, 4 % expired, 1 % of a user the users file does
 * not know), writes a users file of 1,000 users, migrates a fresh store
 * (`sqlite` file in a temp dir, or a `postgres` table), then runs
 * `node dist/cli/main.js import-gesdinet` as a child process twice: the
 * import, then the rerun that finds everything imported. Wall time from the
 * parent; peak RSS from `/usr/bin/time -f %M` when present, else VmHWM polled
 * from /proc. Prints a Markdown table; docs/benchmarks.md keeps the figures.
 *
 * Knobs: BENCH_ROWS (100000), BENCH_BATCH (the CLI's --batch-size, default 1000),
 * BENCH_NODE_OPTIONS (NODE_OPTIONS of the CLI runs), POSTGRES_URL, MYSQL_URL. Tables are dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runMeasured } from './child-usage.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 1000);
const USERS = 1000;
const PEPPER = 'bench-import-pepper-0123456789';
const DAY = 86_400_000;
const INSERT_CHUNK = 1000;

async function main() {
  const [sourceKind = 'postgres', targetKind = 'sqlite'] = process.argv.slice(2);
  if (!['postgres', 'mariadb'].includes(sourceKind) || !['sqlite', 'postgres'].includes(targetKind)) {
    console.error('usage: node bench/import-gesdinet.mjs [postgres|mariadb] [sqlite|postgres]');
    process.exit(2);
  }
  if (!existsSync(CLI)) {
    console.error('dist/ is missing: run `npm run build` first');
    process.exit(2);
  }
  const scratch = mkdtempSync(join(tmpdir(), 'jwt-refresh-import-bench-'));
  const sourceTable = `bench_gesdinet_${process.pid}`;
  const targetTable = `bench_imported_${process.pid}`;
  const sourceUrl = sourceKind === 'postgres' ? POSTGRES_URL : MYSQL_URL;
  const databaseUrl = targetKind === 'sqlite' ? `sqlite:${join(scratch, 'var/jwt-refresh.db')}` : POSTGRES_URL;
  const source = await openSource(sourceKind);
  try {
    const seeded = await seed(source, sourceTable);
    console.log(`seeded ${ROWS.toLocaleString('en')} rows into ${sourceKind} ${sourceTable} in ${(seeded / 1000).toFixed(1)} s`);
    mkdirSync(join(scratch, 'var'), { recursive: true });
    const users = Array.from({ length: USERS }, (_, index) => ({
      id: `id-${index}`,
      identifier: `user${index}@example.com`,
      roles: ['ROLE_USER'],
    }));
    writeFileSync(join(scratch, 'var/users.json'), JSON.stringify(users));
    const env = {
      PATH: process.env.PATH ?? '',
      TZ: 'UTC',
      REFRESH_TOKEN_PEPPER: PEPPER,
      DATABASE_URL: databaseUrl,
      // e.g. --max-old-space-size=48: shows whether a peak is garbage not yet collected or memory held.
      ...(process.env.BENCH_NODE_OPTIONS === undefined ? {} : { NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS }),
    };
    const migrated = await runCli(['migrate', '--table', targetTable], env, scratch);
    if (migrated.code !== 0) throw new Error(`migrate failed: ${migrated.stderr}`);

    const args = ['import-gesdinet', '--from', sourceUrl, '--table', sourceTable, '--to-table', targetTable, '--batch-size', String(BATCH)];
    const first = await runCli(args, env, scratch);
    if (first.code !== 0) throw new Error(`import failed: ${first.stderr}`);
    const second = await runCli(args, env, scratch);
    if (second.code !== 0) throw new Error(`rerun failed: ${second.stderr}`);

    const command = `node dist/cli/main.js ${args.join(' ').replace(sourceUrl, '<source>')} (DATABASE_URL=${targetKind === 'sqlite' ? 'sqlite:<tmp>/var/jwt-refresh.db' : '<postgres>'})`;
    console.log(
      `\n${sourceKind} -> ${targetKind}, ${ROWS.toLocaleString('en')} rows, --batch-size ${BATCH}, ${cpus().length} cores, Node ${process.version}`,
    );
    console.log(`# runs: ${command}`);
    console.log('\n| run | wall time | rows/s | CPU (user + sys) | peak RSS | report |');
    console.log('| --- | --- | --- | --- | --- | --- |');
    for (const [name, run] of [
      ['import', first],
      ['rerun (nothing to import)', second],
    ]) {
      const rate = Math.round((ROWS * 1000) / run.wallMs).toLocaleString('en');
      const report = run.stdout
        .trim()
        .split('\n')
        .filter((line) => !line.startsWith('Unknown users'))
        .join('; ');
      const cpu = run.cpuSeconds === null ? 'n/a' : `${run.cpuSeconds.toFixed(1)} s`;
      console.log(
        `| ${name} | ${(run.wallMs / 1000).toFixed(1)} s | ${rate} | ${cpu} | ${(run.peakRssKb / 1024).toFixed(0)} MB | ${report} |`,
      );
    }
    console.log(
      `\npeak RSS by ${first.rssMethod}; load average when done: ${loadavg()
        .map((load) => load.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    await source.drop(sourceTable).catch(() => {});
    await source.close();
    if (targetKind === 'postgres') await dropPostgresTarget(targetTable).catch(() => {});
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The source database: its DDL (Doctrine's, for the bundle's 1.x mapping) and a multi-row insert. */
async function openSource(kind) {
  if (kind === 'postgres') {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    return {
      async create(table) {
        await client.query(`CREATE SEQUENCE "${table}_id_seq" INCREMENT BY 1 MINVALUE 1 START 1`);
        await client.query(
          `CREATE TABLE "${table}" (id INT NOT NULL, refresh_token VARCHAR(128) NOT NULL, username VARCHAR(255) NOT NULL, ` +
            'valid TIMESTAMP(0) WITHOUT TIME ZONE NOT NULL, PRIMARY KEY(id))',
        );
        await client.query(`CREATE UNIQUE INDEX "${table}_uniq" ON "${table}" (refresh_token)`);
      },
      async insert(table, rows) {
        const values = rows.map((_, index) => `(nextval('"${table}_id_seq"'), $${index * 3 + 1}, $${index * 3 + 2}, $${index * 3 + 3})`);
        await client.query(`INSERT INTO "${table}" (id, refresh_token, username, valid) VALUES ${values.join(', ')}`, rows.flat());
      },
      async drop(table) {
        await client.query(`DROP TABLE IF EXISTS "${table}"`);
        await client.query(`DROP SEQUENCE IF EXISTS "${table}_id_seq"`);
      },
      close: () => client.end(),
    };
  }
  const mysql = await import('mysql2/promise');
  const connection = await mysql.createConnection({ uri: MYSQL_URL });
  return {
    async create(table) {
      await connection.query(
        `CREATE TABLE \`${table}\` (id INT AUTO_INCREMENT NOT NULL, refresh_token VARCHAR(128) NOT NULL, username VARCHAR(255) NOT NULL, ` +
          'valid DATETIME NOT NULL, UNIQUE INDEX UNIQ_9BACE7E1C74F2195 (refresh_token), PRIMARY KEY(id)) ' +
          'DEFAULT CHARACTER SET utf8mb4 COLLATE `utf8mb4_unicode_ci` ENGINE = InnoDB',
      );
    },
    async insert(table, rows) {
      await connection.query(`INSERT INTO \`${table}\` (refresh_token, username, valid) VALUES ?`, [rows]);
    },
    drop: (table) => connection.query(`DROP TABLE IF EXISTS \`${table}\``),
    close: () => connection.end(),
  };
}

async function seed(source, table) {
  const started = Date.now();
  await source.create(table);
  const now = Date.now();
  const naive = (instant) => new Date(instant).toISOString().slice(0, 19).replace('T', ' ');
  for (let offset = 0; offset < ROWS; offset += INSERT_CHUNK) {
    const rows = [];
    for (let index = offset; index < Math.min(ROWS, offset + INSERT_CHUNK); index++) {
      const kind = index % 100;
      const username = kind === 99 ? `gone${index}@example.com` : `user${index % USERS}@example.com`;
      const valid = kind >= 95 && kind < 99 ? now - DAY : now + ((index % 30) + 1) * DAY;
      rows.push([randomBytes(64).toString('hex'), username, naive(valid)]);
    }
    await source.insert(table, rows);
  }
  return Date.now() - started;
}

async function dropPostgresTarget(table) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    // The token table and its companions, as bench/clear-million.mjs drops them.
    const names = [table, `${table}_blocklist`, `${table}_watermarks`, `${table}_rate_limits`].map((name) => `public."${name}"`);
    await client.query(`DROP TABLE IF EXISTS ${names.join(', ')}`);
    await client.query('DELETE FROM public.jwt_refresh_migrations WHERE table_name = $1', [table]).catch(() => {});
  } finally {
    await client.end();
  }
}

/** Runs the CLI in `cwd` with `env`, measured (see bench/child-usage.mjs). */
function runCli(args, env, cwd) {
  return runMeasured([CLI, ...args], { cwd, env });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
