import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStore } from '../src/stores/postgres.js';
import { createSqliteStore } from '../src/stores/sqlite.js';
import type { RefreshTokenRecord, RefreshTokenStore } from '../src/stores/store.js';
import { type CliResult, ensureBuilt, runCli } from './support/cli.js';
import { HOUR, hashOf, wallClockRecord } from './support/token-records.js';

/**
 * `jwt-refresh doctor` as operators meet it: the built CLI in a child process,
 * against a SQLite file and a real PostgreSQL, on stores seeded through the
 * stores' own `insert` with records that keep or break the invariants.
 */

const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let scratch: string;
/** Every hash seeded: no output may contain one. */
const seededHashes = new Set<string>();

beforeAll(() => {
  ensureBuilt();
  scratch = mkdtempSync(join(tmpdir(), 'jwt-refresh-doctor-'));
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

async function doctor(args: string[]): Promise<CliResult> {
  const result = await runCli(['doctor', ...args], { cwd: scratch });
  expect(result.stderr).not.toMatch(/\n\s+at /);
  for (const hash of seededHashes) expect(`${result.stdout}${result.stderr}`).not.toContain(hash);
  return result;
}

/** A live generation-0 record valid for a day; `label` names its hash and ids. */
function tokenRecord(label: string, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  const tokenHash = hashOf(`${label}-${randomUUID()}`);
  seededHashes.add(tokenHash);
  return wallClockRecord(label, { id: `rec-${label}`, tokenHash, familyId: `fam-${label}`, ...overrides });
}

/** One record breaking each invariant, plus a healthy rotated chain. */
async function seedBroken(store: RefreshTokenStore): Promise<void> {
  const now = Date.now();
  const parent = tokenRecord('chain');
  const child = tokenRecord('chain-1', { familyId: parent.familyId, generation: 1 });
  await store.insert(parent);
  expect(await store.rotate(parent.tokenHash, child, new Date(now - 1000))).toBe('rotated');
  await store.insert(tokenRecord('twin-a', { familyId: 'fam-twin' }));
  await store.insert(tokenRecord('twin-b', { familyId: 'fam-twin' }));
  const lost = hashOf(`lost-${randomUUID()}`);
  seededHashes.add(lost);
  await store.insert(tokenRecord('orphan', { rotatedAt: new Date(now - HOUR), successorHash: lost }));
  await store.insert(tokenRecord('late', { familyDeadline: new Date(now - HOUR) }));
}

describe('jwt-refresh doctor on SQLite', () => {
  it('reports a consistent store and exits 0', async () => {
    const file = join(scratch, 'clean.db');
    const store = createSqliteStore({ filename: file });
    const parent = tokenRecord('clean');
    await store.insert(parent);
    expect(await store.rotate(parent.tokenHash, tokenRecord('clean-1', { familyId: parent.familyId, generation: 1 }), new Date())).toBe(
      'rotated',
    );
    await store.insert(tokenRecord('revoked', { familyId: 'fam-revoked', revokedAt: new Date() }));
    await store.close();

    const result = await doctor(['--database-url', `sqlite:${file}`]);

    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^Checked 3 refresh token record\(s\) at \d{4}-\d\d-\d\dT/);
    expect(result.stdout).toContain('ok    several-current-tokens: 0');
    expect(result.stdout).toContain('ok    missing-successor: 0');
    expect(result.stdout).toContain('ok    live-past-family-deadline: 0');
    expect(result.stdout).toMatch(/Store is consistent\n$/);

    const json = await doctor(['--database-url', `sqlite:${file}`, '--json']);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      records: 3,
      clean: true,
      violations: 0,
      invariants: {
        'several-current-tokens': { count: 0, sample: [] },
        'missing-successor': { count: 0, sample: [] },
        'live-past-family-deadline': { count: 0, sample: [] },
      },
    });
  });

  it('reports each broken invariant with family and record ids, never a hash, and exits 1', async () => {
    const file = join(scratch, 'broken.db');
    const store = createSqliteStore({ filename: file });
    await seedBroken(store);
    await store.close();

    const result = await doctor(['--database-url', `sqlite:${file}`]);

    expect(result.status).toBe(1);
    expect(result.stdout).toContain('FAIL  several-current-tokens: 1');
    expect(result.stdout).toContain('        family fam-twin\n');
    expect(result.stdout).toContain('FAIL  missing-successor: 1');
    expect(result.stdout).toContain('        family fam-orphan  record rec-orphan\n');
    expect(result.stdout).toContain('FAIL  live-past-family-deadline: 1');
    expect(result.stdout).toContain('        family fam-late  record rec-late\n');
    expect(result.stdout).toContain('Found 3 violation(s)');

    const json = await doctor(['--database-url', `sqlite:${file}`, '--json', '--sample', '0']);
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      clean: false,
      violations: 3,
      invariants: {
        'several-current-tokens': { count: 1, sample: [] },
        'missing-successor': { count: 1, sample: [] },
        'live-past-family-deadline': { count: 1, sample: [] },
      },
    });
  });

  it('refuses a bad --sample with exit 2, and a missing database with exit 1, creating nothing', async () => {
    for (const sample of ['-1', 'ten', '1001']) {
      const result = await doctor(['--database-url', `sqlite:${join(scratch, 'clean.db')}`, '--sample', sample]);
      expect(result.status, sample).toBe(2);
      expect(result.stderr, sample).toContain('--sample');
      expect(result.stdout, sample).toBe('');
    }
    const unknown = await doctor(['--fix']);
    expect(unknown.status).toBe(2);

    const missing = await doctor(['--database-url', `sqlite:${join(scratch, 'nope', 'missing.db')}`]);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^jwt-refresh: the database .*missing\.db does not exist/);
    expect(existsSync(join(scratch, 'nope'))).toBe(false);
  });
});

describe('jwt-refresh doctor on PostgreSQL', () => {
  it('finds the broken invariants in a table named with --table', async () => {
    const table = `doctor_${randomUUID().replaceAll('-', '').slice(0, 20)}`;
    const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
    try {
      await pool.query('SELECT 1').catch((error: unknown) => {
        throw new Error(
          `PostgreSQL is not reachable at ${POSTGRES_URL} (${String(error)}): start it with ` +
            '`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or point POSTGRES_URL at another server.',
        );
      });
      const store = createPostgresStore({ pool, tableName: table });
      await store.migrate();
      await seedBroken(store);

      const result = await doctor(['--database-url', POSTGRES_URL, '--table', table, '--json']);

      expect(result.status).toBe(1);
      const report = JSON.parse(result.stdout) as { invariants: Record<string, { count: number; sample: unknown[] }> };
      expect(report.invariants['several-current-tokens']).toEqual({ count: 1, sample: [{ familyId: 'fam-twin', recordId: null }] });
      expect(report.invariants['missing-successor']).toEqual({ count: 1, sample: [{ familyId: 'fam-orphan', recordId: 'rec-orphan' }] });
      expect(report.invariants['live-past-family-deadline']).toEqual({
        count: 1,
        sample: [{ familyId: 'fam-late', recordId: 'rec-late' }],
      });
    } finally {
      for (const suffix of ['', '_blocklist', '_watermarks', '_rate_limits']) await pool.query(`DROP TABLE IF EXISTS "${table}${suffix}"`);
      await pool.query('DELETE FROM jwt_refresh_migrations WHERE table_name = $1', [table]).catch(() => {});
      await pool.end();
    }
  });
});
