/** The in-process store: for tests, demos and single-process apps that accept losing every session on restart. */
import { StoreError } from '../../errors.js';
import { assertBatchSize, copyRecord, rateLimitWindow, summariseFamilies } from '../kit/records.js';
import type { FamilySummary, RateLimitHit, RefreshTokenRecord, RefreshTokenStore, RotateOutcome } from '../store.js';
import type { StoreAudit, StoreAuditOptions } from '../store.js';
import { auditMemoryRecords } from './memory-audit.js';

/**
 * A {@link RefreshTokenStore} kept in Maps: one by token hash, plus a hash set per family and per user so family- and
 * user-wide operations touch only their own records. Records go in and come out as copies.
 *
 * Every method runs synchronously inside its promise, so each one, `rotate` and `revokeFamily` included, is atomic with
 * respect to the others.
 *
 * @example
 * const store = new MemoryRefreshTokenStore();
 * await store.insert(record);
 * const found = await store.findByHash(record.tokenHash);
 */
export class MemoryRefreshTokenStore implements RefreshTokenStore {
  readonly #byHash = new Map<string, RefreshTokenRecord>();
  readonly #hashesByFamily = new Map<string, Set<string>>();
  readonly #hashesByUser = new Map<string, Set<string>>();
  /** jti → blocked until (ms). */
  readonly #blocklist = new Map<string, number>();
  /** userId → tokens issued before this (ms) are refused. */
  readonly #revokedBefore = new Map<string, number>();
  /** key → current window and its count. */
  readonly #rateLimits = new Map<string, { startMs: number; resetAt: Date; count: number }>();

  async insert(record: RefreshTokenRecord): Promise<void> {
    if (this.#byHash.has(record.tokenHash)) throw duplicateHash('insert');
    this.#add(record);
  }

  async findByHash(tokenHash: string): Promise<RefreshTokenRecord | null> {
    const record = this.#byHash.get(tokenHash);
    return record === undefined ? null : copyRecord(record);
  }

  async touch(tokenHash: string, validUntil: Date, lastUsedAt: Date): Promise<boolean> {
    const record = this.#byHash.get(tokenHash);
    if (record === undefined || record.rotatedAt !== null || record.revokedAt !== null) return false;
    record.validUntil = new Date(validUntil.getTime());
    record.lastUsedAt = new Date(lastUsedAt.getTime());
    return true;
  }

  async rotate(parentHash: string, successor: RefreshTokenRecord, rotatedAt: Date): Promise<RotateOutcome> {
    const parent = this.#byHash.get(parentHash);
    if (parent === undefined || parent.rotatedAt !== null || parent.revokedAt !== null) return 'conflict';
    // Checked before the parent changes, so a failed insert leaves nothing half-written.
    if (this.#byHash.has(successor.tokenHash)) throw duplicateHash('rotate');
    parent.rotatedAt = new Date(rotatedAt.getTime());
    parent.lastUsedAt = new Date(rotatedAt.getTime());
    parent.successorHash = successor.tokenHash;
    this.#add(successor);
    return 'rotated';
  }

  async revokeFamily(familyId: string, revokedAt: Date): Promise<number> {
    return this.#revokeAll(this.#hashesByFamily.get(familyId), revokedAt);
  }

  async revokeUser(userId: string, revokedAt: Date): Promise<number> {
    return this.#revokeAll(this.#hashesByUser.get(userId), revokedAt);
  }

  async listFamilies(userId: string, now: Date): Promise<FamilySummary[]> {
    const hashes = this.#hashesByUser.get(userId) ?? new Set<string>();
    return summariseFamilies(
      [...hashes].flatMap((hash) => this.#byHash.get(hash) ?? []),
      now,
    );
  }

  async blockAccessToken(jti: string, expiresAt: Date): Promise<void> {
    this.#blocklist.set(jti, Math.max(this.#blocklist.get(jti) ?? 0, expiresAt.getTime()));
  }

  async isAccessTokenBlocked(jti: string, now: Date): Promise<boolean> {
    return (this.#blocklist.get(jti) ?? 0) > now.getTime();
  }

  async setRevokedBefore(userId: string, at: Date): Promise<void> {
    this.#revokedBefore.set(userId, Math.max(this.#revokedBefore.get(userId) ?? 0, at.getTime()));
  }

  async getRevokedBefore(userId: string): Promise<Date | null> {
    const at = this.#revokedBefore.get(userId);
    return at === undefined ? null : new Date(at);
  }

  async hitRateLimit(key: string, windowSeconds: number, now: Date): Promise<RateLimitHit> {
    const window = rateLimitWindow(now, windowSeconds);
    const current = this.#rateLimits.get(key);
    const entry = current !== undefined && current.startMs === window.startMs ? current : { ...window, count: 0 };
    entry.count += 1;
    this.#rateLimits.set(key, entry);
    return { count: entry.count, resetAt: new Date(entry.resetAt) };
  }

  async deleteExpired(before: Date, batchSize: number): Promise<number> {
    assertBatchSize(batchSize);
    const expired = [...this.#byHash.values()].filter((record) => record.validUntil < before).slice(0, batchSize);
    for (const record of expired) {
      this.#byHash.delete(record.tokenHash);
      removeFromIndex(this.#hashesByFamily, record.familyId, record.tokenHash);
      removeFromIndex(this.#hashesByUser, record.userId, record.tokenHash);
    }
    return expired.length;
  }

  async purgeExpiredState(before: Date, watermarksBefore?: Date): Promise<number> {
    const cutoff = before.getTime();
    return (
      deleteWhere(this.#revokedBefore, (at) => watermarksBefore !== undefined && at < watermarksBefore.getTime()) +
      deleteWhere(this.#blocklist, (until) => until <= cutoff) +
      deleteWhere(this.#rateLimits, (entry) => entry.resetAt.getTime() <= cutoff)
    );
  }

  async audit(now: Date, options?: StoreAuditOptions): Promise<StoreAudit> {
    return auditMemoryRecords(this.#byHash, now, options);
  }

  async count(): Promise<number> {
    return this.#byHash.size;
  }

  async migrate(): Promise<number[]> {
    return [];
  }

  async ping(): Promise<void> {
    // In-process: nothing to reach.
  }

  async close(): Promise<void> {}

  /**
   * Copies of every stored record, in insertion order: the memory store's "raw rows", for tests and debugging.
   *
   * @example
   * expect(store.snapshot().map((r) => r.tokenHash)).toContain(hash);
   */
  snapshot(): RefreshTokenRecord[] {
    return [...this.#byHash.values()].map(copyRecord);
  }

  #add(record: RefreshTokenRecord): void {
    const stored = copyRecord(record);
    this.#byHash.set(stored.tokenHash, stored);
    addToIndex(this.#hashesByFamily, stored.familyId, stored.tokenHash);
    addToIndex(this.#hashesByUser, stored.userId, stored.tokenHash);
  }

  #revokeAll(hashes: Set<string> | undefined, revokedAt: Date): number {
    let changed = 0;
    for (const hash of hashes ?? []) {
      const record = this.#byHash.get(hash);
      if (record !== undefined && record.revokedAt === null) {
        record.revokedAt = new Date(revokedAt.getTime());
        changed += 1;
      }
    }
    return changed;
  }
}

/**
 * A new, empty {@link MemoryRefreshTokenStore}.
 *
 * @example
 * const store = createMemoryStore();
 */
export function createMemoryStore(): MemoryRefreshTokenStore {
  return new MemoryRefreshTokenStore();
}

function addToIndex(index: Map<string, Set<string>>, key: string, hash: string): void {
  const hashes = index.get(key) ?? new Set<string>();
  index.set(key, hashes.add(hash));
}

function removeFromIndex(index: Map<string, Set<string>>, key: string, hash: string): void {
  const hashes = index.get(key);
  hashes?.delete(hash);
  // Drop empty sets so users and families that are gone do not leak memory.
  if (hashes?.size === 0) index.delete(key);
}

function deleteWhere<V>(map: Map<string, V>, matches: (value: V) => boolean): number {
  let removed = 0;
  for (const [key, value] of map) {
    if (matches(value) && map.delete(key)) removed += 1;
  }
  return removed;
}

function duplicateHash(operation: string): StoreError {
  // The cause names the constraint only, never the hash itself.
  return new StoreError(operation, { cause: new Error('token hash already stored') });
}
