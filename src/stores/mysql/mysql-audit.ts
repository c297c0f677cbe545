/**
 * `audit` of the MySQL / MariaDB store: each invariant is one COUNT and, when
 * it found offenders, one sampling SELECT, so the server does the scan and
 * only the sample reaches the process. A plain InnoDB SELECT is a consistent
 * read of one snapshot, so a rotation committing during the audit cannot make
 * a family look as if it had two current tokens.
 */
import type { Pool } from 'mysql2/promise';
import { AuditTally, auditSampleSize } from '../kit/audit.js';
import type { StoreAudit, StoreAuditOptions, StoreInvariant } from '../store.js';
import { select, toSql, type SqlValue } from './mysql-sql.js';

/** The rows of one invariant's offenders (`from`, each `?` being the audit's instant), their ids and their order. */
interface InvariantQuery {
  from: string;
  family: string;
  record: string;
  order: string;
}

function invariantQueries(table: string): Record<StoreInvariant, InvariantQuery> {
  const live = 't.rotated_at IS NULL AND t.revoked_at IS NULL AND t.valid_until > ?';
  return {
    'several-current-tokens': {
      from: `(SELECT t.family_id FROM ${table} AS t WHERE ${live} GROUP BY t.family_id HAVING COUNT(*) > 1) AS f`,
      family: 'f.family_id',
      record: 'NULL',
      order: 'f.family_id',
    },
    'missing-successor': {
      // The anti-join probes the unique token_hash index once per rotated record.
      from: `${table} AS t WHERE t.successor_hash IS NOT NULL AND t.valid_until > ?
             AND NOT EXISTS (SELECT 1 FROM ${table} AS s WHERE s.token_hash = t.successor_hash)`,
      family: 't.family_id',
      record: 't.id',
      order: 't.id',
    },
    'live-past-family-deadline': {
      from: `${table} AS t WHERE ${live} AND t.family_deadline IS NOT NULL AND t.family_deadline <= ?`,
      family: 't.family_id',
      record: 't.id',
      order: 't.id',
    },
  };
}

/**
 * Audits the token table `tableName` (validated by the store) at `now`. `run` is the store's way of running an
 * operation (migration, retries, StoreError); the sample size is checked before it.
 */
export async function auditMysql(
  run: <T>(work: () => Promise<T>) => Promise<T>,
  pool: Pool,
  tableName: string,
  now: Date,
  options: StoreAuditOptions | undefined,
): Promise<StoreAudit> {
  const tally = new AuditTally(now, auditSampleSize(options));
  const instant = toSql(now);
  for (const [invariant, query] of Object.entries(invariantQueries(`\`${tableName}\``)) as Array<[StoreInvariant, InvariantQuery]>) {
    const instants: SqlValue[] = Array.from({ length: query.from.split('?').length - 1 }, () => instant);
    const [counted] = await run(() => select<{ n: number | string }>(pool, `SELECT COUNT(*) AS n FROM ${query.from}`, instants));
    const count = Number(counted?.n ?? 0);
    if (count === 0 || tally.sampleSize === 0) {
      tally.addCounted(invariant, count, []);
      continue;
    }
    const rows = await run(() =>
      select<{ family_id: string; record_id: string | null }>(
        pool,
        `SELECT ${query.family} AS family_id, ${query.record} AS record_id FROM ${query.from} ORDER BY ${query.order} LIMIT ?`,
        [...instants, tally.sampleSize],
      ),
    );
    tally.addCounted(
      invariant,
      count,
      rows.map((row) => ({ familyId: row.family_id, recordId: row.record_id })),
    );
  }
  return tally.result();
}
