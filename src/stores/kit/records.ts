/**
 * Record helpers the stores share: copies, the in-process aggregation of
 * families for stores without SQL, and the argument checks and rate-limit
 * windows every store applies alike. Not exported from the package.
 */
import type { FamilySummary, RefreshTokenRecord } from '../store.js';

/** A copy of a nullable date. */
export function copyDate(date: Date | null): Date | null {
  return date === null ? null : new Date(date.getTime());
}

/** A deep copy of a record, so neither a caller nor a driver can change the stored state through it. */
export function copyRecord(record: RefreshTokenRecord): RefreshTokenRecord {
  return {
    ...record,
    validUntil: new Date(record.validUntil.getTime()),
    familyDeadline: copyDate(record.familyDeadline),
    createdAt: new Date(record.createdAt.getTime()),
    lastUsedAt: copyDate(record.lastUsedAt),
    rotatedAt: copyDate(record.rotatedAt),
    revokedAt: copyDate(record.revokedAt),
  };
}

/** Neither rotated nor revoked, and valid after `now`. */
export function isLiveRecord(record: RefreshTokenRecord, now: Date): boolean {
  return record.rotatedAt === null && record.revokedAt === null && record.validUntil.getTime() > now.getTime();
}

/** The fields of a family's current token a summary shows; an absent optional one (stored before it existed) reads as null. */
type CurrentToken = Pick<RefreshTokenRecord, 'userIdentifier' | 'validUntil'> &
  Partial<Pick<RefreshTokenRecord, 'familyDeadline' | 'userAgent' | 'ip' | 'metadata'>>;

/** A family's summary from its aggregates (first creation, latest use) and its current token. */
export function familySummary(
  family: { familyId: string; userId: string; createdAt: Date; lastUsedAt: Date | null | undefined },
  current: CurrentToken,
): FamilySummary {
  return {
    familyId: family.familyId,
    userId: family.userId,
    userIdentifier: current.userIdentifier,
    createdAt: new Date(family.createdAt.getTime()),
    lastUsedAt: copyDate(family.lastUsedAt ?? null),
    validUntil: new Date(current.validUntil.getTime()),
    familyDeadline: copyDate(current.familyDeadline ?? null),
    userAgent: current.userAgent ?? null,
    ip: current.ip ?? null,
    metadata: current.metadata ?? null,
  };
}

/** The order of `listFamilies`: newest login first; the family id, in code-unit order like SQL's binary collation, breaks ties. */
export function byNewestLogin(a: FamilySummary, b: FamilySummary): number {
  return b.createdAt.getTime() - a.createdAt.getTime() || (a.familyId < b.familyId ? -1 : a.familyId > b.familyId ? 1 : 0);
}

/**
 * What the SQL stores' `listFamilies` query computes, over one user's records
 * in memory: per family, the earliest creation, the latest use and the live
 * current token (the newest live generation); families without a live token
 * are left out.
 */
export function summariseFamilies(records: Iterable<RefreshTokenRecord>, now: Date): FamilySummary[] {
  const families = new Map<string, { first: number; lastUsed: number | null; current: RefreshTokenRecord | null }>();
  for (const record of records) {
    const family = families.get(record.familyId) ?? { first: Infinity, lastUsed: null, current: null };
    family.first = Math.min(family.first, record.createdAt.getTime());
    if (record.lastUsedAt !== null) family.lastUsed = Math.max(family.lastUsed ?? -Infinity, record.lastUsedAt.getTime());
    // Rotation leaves one live token per family; should there be more, the newest generation is the current one.
    if (isLiveRecord(record, now) && (family.current === null || record.generation > family.current.generation)) family.current = record;
    families.set(record.familyId, family);
  }
  const summaries: FamilySummary[] = [];
  for (const [familyId, { first, lastUsed, current }] of families) {
    if (current === null) continue;
    const lastUsedAt = lastUsed === null ? null : new Date(lastUsed);
    summaries.push(familySummary({ familyId, userId: current.userId, createdAt: new Date(first), lastUsedAt }, current));
  }
  return summaries.sort(byNewestLogin);
}

/**
 * Refuses a batch size that is not a positive integer: SQL's `LIMIT -1` means
 * "no limit" in SQLite, which would turn one batch into the whole table.
 */
export function assertBatchSize(batchSize: number): void {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`deleteExpired: batchSize must be a positive integer, got ${String(batchSize)}`);
  }
}

/** The fixed window of `windowSeconds` containing `now`: windows start at multiples of its length since the epoch. */
export function rateLimitWindow(now: Date, windowSeconds: number): { startMs: number; resetAt: Date } {
  if (!Number.isInteger(windowSeconds) || windowSeconds <= 0) throw new RangeError('windowSeconds must be a positive integer');
  const length = windowSeconds * 1000;
  const startMs = Math.floor(now.getTime() / length) * length;
  return { startMs, resetAt: new Date(startMs + length) };
}
