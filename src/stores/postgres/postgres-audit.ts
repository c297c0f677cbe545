/**
 * `audit` of the PostgreSQL store: each invariant is one COUNT and, when it
 * found offenders, one sampling SELECT, so the database does the scan and
 * only the sample reaches the process. Each statement reads one snapshot, so
 * a rotation committing during the audit cannot make a family look as if it
 * had two current tokens.
 */
import type pg from 'pg';
import { AuditTally, auditSampleSize } from '../kit/audit.js';
import { invariantQueries } from '../kit/sql-audit-queries.js';
import type { StoreAudit, StoreAuditOptions } from '../store.js';
import { qualified } from './postgres-migrations.js';

/**
 * Audits the token table `tableName` in `schema` (both validated by the store) at `now`. `run` is the store's way of
 * running an operation (migration, retries, StoreError); the sample size is checked before it.
 */
export async function auditPostgres(
  run: <T>(work: () => Promise<T>) => Promise<T>,
  pool: pg.Pool,
  schema: string,
  tableName: string,
  now: Date,
  options: StoreAuditOptions | undefined,
): Promise<StoreAudit> {
  const tally = new AuditTally(now, auditSampleSize(options));
  const instant = now.toISOString();
  const queries = invariantQueries(qualified(schema, tableName), { instant: '$1::timestamptz', nullRecord: 'NULL::text' });
  for (const [invariant, query] of queries) {
    const counted = await run(() => pool.query<{ n: string | number }>(`SELECT COUNT(*) AS n FROM ${query.from}`, [instant]));
    const count = Number(counted.rows[0]?.n ?? 0);
    if (count === 0 || tally.sampleSize === 0) {
      tally.addCounted(invariant, count, []);
      continue;
    }
    const sample = await run(() =>
      pool.query<{ family_id: string; record_id: string | null }>(
        `SELECT ${query.family} AS family_id, ${query.record} AS record_id FROM ${query.from} ORDER BY ${query.order} LIMIT $2`,
        [instant, tally.sampleSize],
      ),
    );
    tally.addCounted(
      invariant,
      count,
      sample.rows.map((row) => ({ familyId: row.family_id, recordId: row.record_id })),
    );
  }
  return tally.result();
}
