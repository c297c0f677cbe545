/** `audit` of the memory store: one pass over its records, which are all in memory already. */
import { AuditTally, auditSampleSize, isCurrent } from '../kit/audit.js';
import type { RefreshTokenRecord, StoreAudit, StoreAuditOptions } from '../store.js';

/**
 * Checks every invariant over `byHash` (the store's records by token hash).
 * Runs synchronously, so it sees one state of the store, like its other methods.
 */
export function auditMemoryRecords(
  byHash: ReadonlyMap<string, RefreshTokenRecord>,
  now: Date,
  options: StoreAuditOptions | undefined,
): StoreAudit {
  const tally = new AuditTally(now, auditSampleSize(options));
  // Only families with a current token get an entry.
  const currentByFamily = new Map<string, number>();
  for (const record of byHash.values()) {
    tally.checkRecord(record, record.successorHash === null || byHash.has(record.successorHash));
    if (isCurrent(record, now)) currentByFamily.set(record.familyId, (currentByFamily.get(record.familyId) ?? 0) + 1);
  }
  for (const [familyId, current] of currentByFamily) tally.checkCurrentCount(familyId, current);
  return tally.result();
}
