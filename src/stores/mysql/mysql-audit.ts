/**
 * `audit` of the MySQL / MariaDB store: each invariant is one COUNT and, when
 * it found offenders, one sampling SELECT, so the server does the scan and
 * only the sample reaches the process. A plain InnoDB SELECT is a consistent
 * read of one snapshot, so a rotation committing during the audit cannot make
 * a family look as if it had two current tokens.
 */
import type { Pool } from 'mysql2/promise';
import { AuditTally, auditSampleSize } from '../kit/audit.js';
import { invariantQueries } from '../kit/sql-audit-queries.js';
import type { StoreAudit, StoreAuditOptions } from '../store.js';
import { select, toSql, type SqlValue } from './mysql-sql.js';

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
  for (const [invariant, query] of invariantQueries(`\`${tableName}\``, { instant: '?', nullRecord: 'NULL' })) {
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
