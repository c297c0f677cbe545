/**
 * `audit` of the MongoDB store, over cursors so memory holds one batch:
 *
 * - several current tokens: an aggregation groups the live records by family
 *   on the server and answers only families with more than one; each is then
 *   read again and judged on its records. MongoDB's rotation writes the
 *   successor before it marks the parent (see `rotate` in mongodb-store.ts),
 *   so a live successor that no record names yet while the record of the
 *   previous generation is still live is a rotation in flight (or one a crash
 *   interrupted, which the next refresh of the parent completes): that
 *   successor was never handed out and is not counted as current.
 * - missing successors: rotated records still valid, in batches, each batch's
 *   successor hashes looked up with one `$in` query.
 * - live records past their family deadline: one filtered cursor.
 */
import type { Collection } from 'mongodb';
import { asStoreError } from '../kit/attempt.js';
import { AUDIT_BATCH_SIZE, AuditTally, auditSampleSize, isCurrent, type AuditedRecord } from '../kit/audit.js';
import type { RefreshTokenRecord, StoreAudit, StoreAuditOptions } from '../store.js';

const AUDITED_FIELDS = {
  _id: 0,
  id: 1,
  tokenHash: 1,
  familyId: 1,
  generation: 1,
  validUntil: 1,
  familyDeadline: 1,
  rotatedAt: 1,
  revokedAt: 1,
  successorHash: 1,
} as const;

type AuditedDocument = AuditedRecord & { tokenHash: string };

/**
 * Audits the token collection at `now`. `run` is the store's way of running an operation (migration, StoreError); the
 * sample size is checked before it.
 */
export async function auditMongo<T extends RefreshTokenRecord>(
  run: <R>(work: () => Promise<R>) => Promise<R>,
  tokens: Collection<T>,
  now: Date,
  options: StoreAuditOptions | undefined,
): Promise<StoreAudit> {
  const tally = new AuditTally(now, auditSampleSize(options));
  // The driver's filter types do not follow a generic document type; the fields used here are the record's own.
  const collection = tokens as unknown as Collection<RefreshTokenRecord>;
  await run(async () => {
    try {
      await auditCurrentTokens(collection, tally);
      await auditSuccessors(collection, tally);
      await auditDeadlines(collection, tally);
    } catch (error) {
      throw asStoreError('audit', error);
    }
  });
  return tally.result();
}

async function auditCurrentTokens(tokens: Collection<RefreshTokenRecord>, tally: AuditTally): Promise<void> {
  const groups = tokens.aggregate<{ _id: string }>(
    [
      { $match: { rotatedAt: null, revokedAt: null, validUntil: { $gt: tally.now } } },
      { $group: { _id: '$familyId', n: { $sum: 1 } } },
      { $match: { n: { $gt: 1 } } },
    ],
    { allowDiskUse: true, batchSize: AUDIT_BATCH_SIZE },
  );
  for await (const { _id: familyId } of groups) {
    const records = await tokens.find({ familyId }, { projection: AUDITED_FIELDS }).toArray();
    tally.checkCurrentCount(familyId, countCurrent(records as unknown as AuditedDocument[], tally.now));
  }
}

/** The family's current tokens, leaving out a successor whose rotation has not marked its parent yet. */
function countCurrent(records: AuditedDocument[], now: Date): number {
  const named = new Set(records.flatMap((record) => (record.successorHash === null ? [] : [record.successorHash])));
  const currentGenerations = new Set(records.filter((record) => isCurrent(record, now)).map((record) => record.generation));
  return records.filter(
    (record) => isCurrent(record, now) && (named.has(record.tokenHash) || !currentGenerations.has(record.generation - 1)),
  ).length;
}

async function auditSuccessors(tokens: Collection<RefreshTokenRecord>, tally: AuditTally): Promise<void> {
  const rotated = tokens
    .find({ successorHash: { $ne: null }, validUntil: { $gt: tally.now } }, { projection: AUDITED_FIELDS })
    .batchSize(AUDIT_BATCH_SIZE);
  let batch: AuditedDocument[] = [];
  const check = async () => {
    const hashes = batch.flatMap((record) => (record.successorHash === null ? [] : [record.successorHash]));
    const found = await tokens.find({ tokenHash: { $in: hashes } }, { projection: { _id: 0, tokenHash: 1 } }).toArray();
    const present = new Set(found.map((document) => document.tokenHash));
    for (const record of batch) tally.checkSuccessor(record, record.successorHash !== null && present.has(record.successorHash));
    batch = [];
  };
  for await (const document of rotated) {
    batch.push(document as unknown as AuditedDocument);
    if (batch.length >= AUDIT_BATCH_SIZE) await check();
  }
  if (batch.length > 0) await check();
}

async function auditDeadlines(tokens: Collection<RefreshTokenRecord>, tally: AuditTally): Promise<void> {
  const pastDeadline = tokens
    .find(
      { rotatedAt: null, revokedAt: null, validUntil: { $gt: tally.now }, familyDeadline: { $ne: null, $lte: tally.now } },
      { projection: AUDITED_FIELDS },
    )
    .batchSize(AUDIT_BATCH_SIZE);
  for await (const document of pastDeadline) tally.add('live-past-family-deadline', document.familyId, document.id);
}
