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
import { invariantQueries } from '../kit/sql-audit-queries.js';
import type { StoreAudit, StoreAuditOptions } from '../store.js';

/** Audits the token table `tableName` (validated by the store) at `now`; a failing statement rejects with a StoreError. */
export function auditSqlite(database: Database.Database, tableName: string, now: Date, options: StoreAuditOptions | undefined): StoreAudit {
  const tally = new AuditTally(now, auditSampleSize(options));
  try {
    for (const [invariant, query] of invariantQueries(`"${tableName}"`, { instant: '@now', nullRecord: 'NULL' })) {
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
