/**
 * What every store's `audit` shares: the option check, the tally of offenders
 * per invariant, and the per-record and per-family rules for stores that
 * evaluate records in process (memory, Redis, MongoDB). The SQL stores say the
 * same rules in SQL. Not exported from the package.
 */
import type { StoreAudit, StoreAuditOptions, StoreInvariant } from '../store.js';

/** Offenders kept per invariant unless `sampleSize` says otherwise. */
export const DEFAULT_AUDIT_SAMPLE_SIZE = 10;

/** Records (or families) a store that scans in process reads per round trip. */
export const AUDIT_BATCH_SIZE = 500;

/** The fields of a record the invariants look at. */
export interface AuditedRecord {
  id: string;
  familyId: string;
  generation: number;
  validUntil: Date;
  familyDeadline: Date | null;
  rotatedAt: Date | null;
  revokedAt: Date | null;
  /** Only whether it is null is read here, so a store that keeps hashes out of the process may pass a marker. */
  successorHash: string | null;
}

/** `options.sampleSize`, checked, or the default. */
export function auditSampleSize(options: StoreAuditOptions | undefined): number {
  const size = options?.sampleSize ?? DEFAULT_AUDIT_SAMPLE_SIZE;
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`audit: sampleSize must be a non-negative integer, got ${String(size)}`);
  }
  return size;
}

/** Neither rotated nor revoked, and valid after `now`: a family's current token (the port's "live"). */
export function isCurrent(record: Pick<AuditedRecord, 'rotatedAt' | 'revokedAt' | 'validUntil'>, now: Date): boolean {
  return record.rotatedAt === null && record.revokedAt === null && record.validUntil.getTime() > now.getTime();
}

/** Counts offenders per invariant and keeps the first `sampleSize` of each. */
export class AuditTally {
  readonly #audit: StoreAudit = {
    'several-current-tokens': { count: 0, sample: [] },
    'missing-successor': { count: 0, sample: [] },
    'live-past-family-deadline': { count: 0, sample: [] },
  };

  constructor(
    readonly now: Date,
    readonly sampleSize: number,
  ) {}

  /** Records one offender: a family (`recordId` null) or a record. */
  add(invariant: StoreInvariant, familyId: string, recordId: string | null): void {
    const finding = this.#audit[invariant];
    finding.count += 1;
    if (finding.sample.length < this.sampleSize) finding.sample.push({ familyId, recordId });
  }

  /** Adds `count` offenders of which `sample` are the first ones (for counts a database computed). */
  addCounted(invariant: StoreInvariant, count: number, sample: ReadonlyArray<{ familyId: string; recordId: string | null }>): void {
    const finding = this.#audit[invariant];
    finding.count += count;
    for (const offender of sample.slice(0, Math.max(this.sampleSize - finding.sample.length, 0))) finding.sample.push({ ...offender });
  }

  /** `missing-successor`: a rotated record still valid after `now` whose successor is gone. */
  checkSuccessor(record: AuditedRecord, successorExists: boolean): void {
    if (record.successorHash !== null && record.validUntil.getTime() > this.now.getTime() && !successorExists) {
      this.add('missing-successor', record.familyId, record.id);
    }
  }

  /** `live-past-family-deadline`: a live record whose family deadline has passed. */
  checkDeadline(record: AuditedRecord): void {
    if (isCurrent(record, this.now) && record.familyDeadline !== null && record.familyDeadline.getTime() <= this.now.getTime()) {
      this.add('live-past-family-deadline', record.familyId, record.id);
    }
  }

  /** Both record-level invariants of one record. */
  checkRecord(record: AuditedRecord, successorExists: boolean): void {
    this.checkSuccessor(record, successorExists);
    this.checkDeadline(record);
  }

  /** Counts the family as an offender when more than `1` of its records are current. */
  checkCurrentCount(familyId: string, currentTokens: number): void {
    if (currentTokens > 1) this.add('several-current-tokens', familyId, null);
  }

  /** The findings, as copies. */
  result(): StoreAudit {
    const copy = (invariant: StoreInvariant) => ({
      count: this.#audit[invariant].count,
      sample: this.#audit[invariant].sample.map((offender) => ({ ...offender })),
    });
    return {
      'several-current-tokens': copy('several-current-tokens'),
      'missing-successor': copy('missing-successor'),
      'live-past-family-deadline': copy('live-past-family-deadline'),
    };
  }
}
