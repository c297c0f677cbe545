/**
 * `audit` of the PostgreSQL store: each invariant is one COUNT and, when it
 * found offenders, one sampling SELECT, so the database does the scan and
 * only the sample reaches the process. Each statement reads one snapshot, so
 * a rotation committing during the audit cannot make a family look as if it
 * had two current tokens.
 */
import type pg from 'pg';
import { AuditTally, auditSampleSize } from '../kit/audit.js';
import type { StoreAudit, StoreAuditOptions, StoreInvariant } from '../store.js';
import { qualified } from './postgres-migrations.js';

/** The rows of one invariant's offenders (`from`, `$1` being the audit's instant), their ids and their order. */
interface InvariantQuery {
  from: string;
  family: string;
  record: string;
  order: string;
}

function invariantQueries(table: string): Record<StoreInvariant, InvariantQuery> {
  const live = 't.rotated_at IS NULL AND t.revoked_at IS NULL AND t.valid_until > $1::timestamptz';
  return {
    'several-current-tokens': {
      from: `(SELECT t.family_id FROM ${table} AS t WHERE ${live} GROUP BY t.family_id HAVING COUNT(*) > 1) AS f`,
      family: 'f.family_id',
      record: 'NULL::text',
      order: 'f.family_id',
    },
    'missing-successor': {
      // The anti-join probes the unique token_hash index once per rotated record.
      from: `${table} AS t WHERE t.successor_hash IS NOT NULL AND t.valid_until > $1::timestamptz
             AND NOT EXISTS (SELECT 1 FROM ${table} AS s WHERE s.token_hash = t.successor_hash)`,
      family: 't.family_id',
      record: 't.id',
      order: 't.id',
    },
    'live-past-family-deadline': {
      from: `${table} AS t WHERE ${live} AND t.family_deadline IS NOT NULL AND t.family_deadline <= $1::timestamptz`,
      family: 't.family_id',
      record: 't.id',
      order: 't.id',
    },
  };
}

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
  const queries = Object.entries(invariantQueries(qualified(schema, tableName))) as Array<[StoreInvariant, InvariantQuery]>;
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
