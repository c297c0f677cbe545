/**
 * The in-process store: for tests, demos and single-process apps that accept
 * losing every session on restart.
 */
import { StoreError } from '../errors.js';
import { rateLimitWindow } from './rate-limit-window.js';
import type { FamilySummary, RateLimitHit, RefreshTokenRecord, RefreshTokenStore, RotateOutcome } from './store.js';
import { assertBatchSize, copyRecord, summariseFamilies } from './store-records.js';

/**
 * A {@link RefreshTokenStore} kept in Maps: one by token hash, plus a hash set
 * per family and per user so family- and user-wide operations touch only
 * their own records. Records go in and come out as copies, so neither the
 * caller's object nor a returned one can change the stored state.
 *
 * Every method runs synchronously inside its promise, so each one, `rotate`
 * included, is atomic with respect to the others in this process.
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

  /**
   * Stores a copy of `record`. Rejects with a {@link StoreError} when its hash
   * is stored already, as the SQL stores' unique index does.
   *
   * @example
   * await store.insert({ ...record, tokenHash: sha256Hex(plainToken) });
   */
  async insert(record: RefreshTokenRecord): Promise<void> {
    if (this.#byHash.has(record.tokenHash)) {
      throw duplicateHash('insert');
    }
    this.#add(record);
  }

  /**
   * A copy of the record with this hash, whatever its state, or null.
   *
   * @example
   * const record = await store.findByHash(hash);
   * if (record === null || record.revokedAt !== null) refuse();
   */
  async findByHash(tokenHash: string): Promise<RefreshTokenRecord | null> {
    const record = this.#byHash.get(tokenHash);
    return record === undefined ? null : copyRecord(record);
  }

  /**
   * Extends a live (neither rotated nor revoked) record; false when there is none.
   *
   * @example
   * const extended = await store.touch(hash, newValidUntil, now);
   */
  async touch(tokenHash: string, validUntil: Date, lastUsedAt: Date): Promise<boolean> {
    const record = this.#byHash.get(tokenHash);
    if (record === undefined || record.rotatedAt !== null || record.revokedAt !== null) {
      return false;
    }
    record.validUntil = new Date(validUntil.getTime());
    record.lastUsedAt = new Date(lastUsedAt.getTime());
    return true;
  }

  /**
   * Marks the parent rotated and stores `successor`, or answers 'conflict' and
   * changes nothing when the parent is rotated, revoked or unknown.
   *
   * @example
   * const outcome = await store.rotate(parentHash, successor, now);
   * if (outcome === 'conflict') treatAsReuse();
   */
  async rotate(parentHash: string, successor: RefreshTokenRecord, rotatedAt: Date): Promise<RotateOutcome> {
    const parent = this.#byHash.get(parentHash);
    if (parent === undefined || parent.rotatedAt !== null || parent.revokedAt !== null) {
      return 'conflict';
    }
    // Checked before the parent changes, so a failed insert leaves nothing half-written,
    // as the SQL stores' transaction rollback does.
    if (this.#byHash.has(successor.tokenHash)) {
      throw duplicateHash('rotate');
    }
    parent.rotatedAt = new Date(rotatedAt.getTime());
    parent.lastUsedAt = new Date(rotatedAt.getTime());
    parent.successorHash = successor.tokenHash;
    this.#add(successor);
    return 'rotated';
  }

  /**
   * Revokes one record unless it is revoked already; answers whether it changed.
   *
   * @example
   * await store.revoke(hash, now); // logout
   */
  async revoke(tokenHash: string, revokedAt: Date): Promise<boolean> {
    const record = this.#byHash.get(tokenHash);
    return record === undefined ? false : revokeRecord(record, revokedAt);
  }

  /**
   * Revokes every not-yet-revoked record of a family; answers how many changed.
   *
   * @example
   * await store.revokeFamily(record.familyId, now); // reuse detected
   */
  async revokeFamily(familyId: string, revokedAt: Date): Promise<number> {
    return this.#revokeAll(this.#hashesByFamily.get(familyId), revokedAt);
  }

  /**
   * Revokes every not-yet-revoked record of a user; answers how many changed.
   *
   * @example
   * await store.revokeUser(user.id, now); // password changed: log out everywhere
   */
  async revokeUser(userId: string, revokedAt: Date): Promise<number> {
    return this.#revokeAll(this.#hashesByUser.get(userId), revokedAt);
  }

  /**
   * The user's families with a live current token, newest login first.
   * `createdAt` is the family's earliest record, `lastUsedAt` its latest use,
   * and the client metadata that of the current token.
   *
   * @example
   * const sessions = await store.listFamilies(user.id, now);
   */
  async listFamilies(userId: string, now: Date): Promise<FamilySummary[]> {
    const hashes = this.#hashesByUser.get(userId) ?? new Set<string>();
    const records = [...hashes].flatMap((hash) => this.#byHash.get(hash) ?? []);
    return summariseFamilies(records, now);
  }


  /**
   * Deletes up to `batchSize` records valid until before `before`; call again until it answers 0.
   *
   * @example
   * while ((await store.deleteExpired(now, 1000)) > 0) {}
   */
  async deleteExpired(before: Date, batchSize: number): Promise<number> {
    assertBatchSize(batchSize);
    const cutoff = before.getTime();
    const expired: RefreshTokenRecord[] = [];
    for (const record of this.#byHash.values()) {
      if (expired.length === batchSize) {
        break;
      }
      if (record.validUntil.getTime() < cutoff) {
        expired.push(record);
      }
    }
    for (const record of expired) {
      this.#remove(record);
    }
    return expired.length;
  }

  /**
   * Number of stored records, whatever their state.
   *
   * @example
   * expect(await store.count()).toBe(1);
   */
  async count(): Promise<number> {
    return this.#byHash.size;
  }

  /**
   * Nothing to release; the records stay until the store is garbage collected.
   *
   * @example
   * await store.close();
   */
  async close(): Promise<void> {}

  /** Blocks `jti` until `expiresAt`; a later expiry wins. */
  async blockAccessToken(jti: string, expiresAt: Date): Promise<void> {
    this.#blocklist.set(jti, Math.max(this.#blocklist.get(jti) ?? 0, expiresAt.getTime()));
  }

  /** Whether `jti` is blocked at `now`. */
  async isAccessTokenBlocked(jti: string, now: Date): Promise<boolean> {
    return (this.#blocklist.get(jti) ?? 0) > now.getTime();
  }

  /** Moves the user's watermark forward to `at`. */
  async setRevokedBefore(userId: string, at: Date): Promise<void> {
    this.#revokedBefore.set(userId, Math.max(this.#revokedBefore.get(userId) ?? 0, at.getTime()));
  }

  /** The user's watermark, or null. */
  async getRevokedBefore(userId: string): Promise<Date | null> {
    const at = this.#revokedBefore.get(userId);
    return at === undefined ? null : new Date(at);
  }

  /** One hit of `key` in its current fixed window. */
  async hitRateLimit(key: string, windowSeconds: number, now: Date): Promise<RateLimitHit> {
    const window = rateLimitWindow(now, windowSeconds);
    const current = this.#rateLimits.get(key);
    const entry = current !== undefined && current.startMs === window.startMs ? current : { ...window, count: 0 };
    entry.count += 1;
    this.#rateLimits.set(key, entry);
    return { count: entry.count, resetAt: new Date(entry.resetAt) };
  }

  /** Drops expired blocklist entries and ended windows, and watermarks before `watermarksBefore`. */
  async purgeExpiredState(before: Date, watermarksBefore?: Date): Promise<number> {
    let removed = 0;
    if (watermarksBefore !== undefined) {
      for (const [key, at] of this.#revokedBefore) {
        if (at < watermarksBefore.getTime() && this.#revokedBefore.delete(key)) removed += 1;
      }
    }
    for (const [jti, until] of this.#blocklist) {
      if (until <= before.getTime() && this.#blocklist.delete(jti)) removed += 1;
    }
    for (const [key, entry] of this.#rateLimits) {
      if (entry.resetAt.getTime() <= before.getTime() && this.#rateLimits.delete(key)) removed += 1;
    }
    return removed;
  }

  /** Nothing to migrate in memory. */
  async migrate(): Promise<number[]> {
    return [];
  }

  /**
   * Copies of every stored record, in insertion order: the memory store's
   * "raw rows", for tests and debugging.
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

  #remove(record: RefreshTokenRecord): void {
    this.#byHash.delete(record.tokenHash);
    removeFromIndex(this.#hashesByFamily, record.familyId, record.tokenHash);
    removeFromIndex(this.#hashesByUser, record.userId, record.tokenHash);
  }

  #revokeAll(hashes: Set<string> | undefined, revokedAt: Date): number {
    let changed = 0;
    for (const hash of hashes ?? []) {
      const record = this.#byHash.get(hash);
      if (record !== undefined && revokeRecord(record, revokedAt)) {
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




function revokeRecord(record: RefreshTokenRecord, revokedAt: Date): boolean {
  if (record.revokedAt !== null) {
    return false;
  }
  record.revokedAt = new Date(revokedAt.getTime());
  return true;
}

function addToIndex(index: Map<string, Set<string>>, key: string, hash: string): void {
  const hashes = index.get(key);
  if (hashes === undefined) {
    index.set(key, new Set([hash]));
  } else {
    hashes.add(hash);
  }
}

function removeFromIndex(index: Map<string, Set<string>>, key: string, hash: string): void {
  const hashes = index.get(key);
  if (hashes === undefined) {
    return;
  }
  hashes.delete(hash);
  // Drop empty sets so users and families that are gone do not leak memory.
  if (hashes.size === 0) {
    index.delete(key);
  }
}



function duplicateHash(operation: string): StoreError {
  // The cause names the constraint only, never the hash itself.
  return new StoreError(operation, { cause: new Error('token hash already stored') });
}
