/**
 * `audit` of the SQLite store: each invariant is one COUNT and, when it found
 * offenders, one sampling SELECT, so SQLite does the scan and only the sample
 * reaches the process. Each statement reads one snapshot (WAL), so a rotation
 * committing during the audit cannot make a family look as if it had two
 * current tokens. Instants are unix milliseconds.
 */
import type Database from 'better-sqlite3';
import { asStoreError } from '../kit/attempt.js';
import { AuditTally, auditSampleSize } from '../kit/audit.js';
import type { StoreAudit, StoreAuditOptions, StoreInvariant } from '../store.js';

/** The rows of one invariant's offenders (`from`, `@now` being the audit's instant), their ids and their order. */
interface InvariantQuery {
  from: string;
  family: string;
  record: string;
  order: string;
}

function invariantQueries(table: string): Record<StoreInvariant, InvariantQuery> {
  const live = 't.rotated_at IS NULL AND t.revoked_at IS NULL AND t.valid_until > @now';
  return {
    'several-current-tokens': {
      from: `(SELECT t.family_id FROM ${table} AS t WHERE ${live} GROUP BY t.family_id HAVING COUNT(*) > 1) AS f`,
      family: 'f.family_id',
      record: 'NULL',
      order: 'f.family_id',
    },
    'missing-successor': {
      from: `${table} AS t WHERE t.successor_hash IS NOT NULL AND t.valid_until > @now
             AND NOT EXISTS (SELECT 1 FROM ${table} AS s WHERE s.token_hash = t.successor_hash)`,
      family: 't.family_id',
      record: 't.id',
      order: 't.id',
    },
    'live-past-family-deadline': {
      from: `${table} AS t WHERE ${live} AND t.family_deadline IS NOT NULL AND t.family_deadline <= @now`,
      family: 't.family_id',
      record: 't.id',
      order: 't.id',
    },
  };
}

/** Audits the token table `tableName` (validated by the store) at `now`; a failing statement rejects with a StoreError. */
export function auditSqlite(database: Database.Database, tableName: string, now: Date, options: StoreAuditOptions | undefined): StoreAudit {
  const tally = new AuditTally(now, auditSampleSize(options));
  try {
    for (const [invariant, query] of Object.entries(invariantQueries(`"${tableName}"`)) as Array<[StoreInvariant, InvariantQuery]>) {
      const count =
        database.prepare<[{ now: number }], number>(`SELECT COUNT(*) FROM ${query.from}`).pluck().get({ now: now.getTime() }) ?? 0;
      if (count === 0 || tally.sampleSize === 0) {
        tally.addCounted(invariant, count, []);
        continue;
      }
      const sample = database
        .prepare<[{ now: number; limit: number }], { familyId: string; recordId: string | null }>(
          `SELECT ${query.family} AS familyId, ${query.record} AS recordId FROM ${query.from} ORDER BY ${query.order} LIMIT @limit`,
        )
        .all({ now: now.getTime(), limit: tally.sampleSize });
      tally.addCounted(invariant, count, sample);
    }
  } catch (error) {
    throw asStoreError('audit', error);
  }
  return tally.result();
}
