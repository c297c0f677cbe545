/**
 * The store port: everything jwt-refresh asks of persistence, documented here
 * once. The stores in ./memory, ./sqlite, ./postgres, ./mysql, ./redis and
 * ./mongodb implement it without repeating it (TypeDoc and editors show these
 * comments on their methods); a comment inside a method says only what its
 * backend does differently, such as locking or why a loop is or is not needed.
 *
 * A store keeps refresh-token records keyed by the token's HASH; the plain
 * token never reaches it. Every method is atomic on its own; `rotate` is the
 * one compare-and-set the rotation scheme depends on. Dates are UTC instants
 * that round-trip to the millisecond, and records go in and come out as
 * copies. Every store passes test/conformance/store.suite.ts (behaviour) and
 * test/conformance/store-lifecycle.suite.ts (options, schema, connections).
 */

/** One stored refresh token. Dates are UTC instants. */
export interface RefreshTokenRecord {
  /** Random id of the record (not the token). */
  id: string;
  /** SHA-256 or HMAC-SHA-256 of the token, hex. Unique. */
  tokenHash: string;
  /** The user's stable id, used to reload the user on refresh. */
  userId: string;
  /** The user identifier at issue time (the bundle's `username` column), for operators. */
  userIdentifier: string;
  /** Every token descending from one login shares a family id. */
  familyId: string;
  /** 0 for the login's token, +1 per rotation. */
  generation: number;
  /** The token is refused after this instant. */
  validUntil: Date;
  /** Absolute deadline of the family (`maxSessionLifetime`), or null. */
  familyDeadline: Date | null;
  createdAt: Date;
  /** Last successful refresh with this token, or null. */
  lastUsedAt: Date | null;
  /** When it was rotated away, or null while it is the family's current token. */
  rotatedAt: Date | null;
  /** Hash of the token it was rotated to, or null. */
  successorHash: string | null;
  /** When it was revoked (logout, reuse, operator), or null. */
  revokedAt: Date | null;
  /** Client metadata captured at issue time. */
  userAgent: string | null;
  ip: string | null;
  /**
   * The session's application metadata (`issueSession`'s `metadata`) as JSON
   * text, or null. Opaque to stores: kept as given, copied to each successor
   * by the core, and bounded in size by the core before it reaches a store.
   */
  metadata: string | null;
}

/** Outcome of {@link RefreshTokenStore.rotate}. */
export type RotateOutcome =
  /** The parent was live and is now rotated; the successor is stored. */
  | 'rotated'
  /** The parent was already rotated or revoked (or is gone); nothing was written. */
  | 'conflict';

/** Outcome of {@link RefreshTokenStore.hitRateLimit}. */
export interface RateLimitHit {
  /** Hits in the current window, this one included. */
  count: number;
  /** When the current window ends. */
  resetAt: Date;
}

/** One token family of a user, as listed for a sessions view. */
export interface FamilySummary {
  familyId: string;
  userId: string;
  userIdentifier: string;
  /** Creation of the family's first token (the login). */
  createdAt: Date;
  /** Last refresh in the family, or null. */
  lastUsedAt: Date | null;
  /** Validity of the family's current token. */
  validUntil: Date;
  familyDeadline: Date | null;
  userAgent: string | null;
  ip: string | null;
  /** The current token's `metadata` (JSON text), or null. */
  metadata: string | null;
}

/**
 * The invariants {@link RefreshTokenStore.audit} checks, which rotation and
 * revocation keep on every store (docs/stores.md, "Store invariants"). A
 * record is LIVE when it is neither rotated nor revoked and valid after the
 * audit's `now`; a family's live record is its CURRENT token.
 *
 * - `several-current-tokens`: a family with more than one current token.
 *   Rotation marks the parent and stores the successor in one step, so a
 *   family never has two; a rotated token inside its grace window is rotated,
 *   not current, and never counts.
 * - `missing-successor`: a rotated record, still valid after `now`, whose
 *   `successorHash` names no record. The successor is stored with the
 *   rotation and outlives its parent, so only a lost write removes it first.
 * - `live-past-family-deadline`: a live record whose `familyDeadline` is at or
 *   before `now`: validity is capped at the deadline, so none should exist.
 */
export type StoreInvariant = 'several-current-tokens' | 'missing-successor' | 'live-past-family-deadline';

/** One offender in a {@link StoreAuditFinding}'s sample: ids only, never a hash or a token. */
export interface StoreAuditOffender {
  familyId: string;
  /** The offending record's id; null when the family as a whole is at fault (`several-current-tokens`). */
  recordId: string | null;
}

/** What {@link RefreshTokenStore.audit} found for one invariant. */
export interface StoreAuditFinding {
  /** How many families (`several-current-tokens`) or records (the others) break it. */
  count: number;
  /** The first offenders, at most `sampleSize` of them. */
  sample: StoreAuditOffender[];
}

/** The result of {@link RefreshTokenStore.audit}: a finding per invariant, count 0 when it holds. */
export type StoreAudit = Record<StoreInvariant, StoreAuditFinding>;

/** Options of {@link RefreshTokenStore.audit}. */
export interface StoreAuditOptions {
  /** Offenders kept per invariant, a non-negative integer (0: counts only). Default 10. */
  sampleSize?: number;
}

/**
 * The persistence port. Implement it to add a store; run both conformance
 * suites to prove it.
 *
 * @example
 * const store: RefreshTokenStore = createSqliteStore({ filename: 'var/jwt-refresh.sqlite' });
 */
export interface RefreshTokenStore {
  /**
   * Stores a new record. Rejects with a `StoreError` whose message does not
   * contain the hash when a record with the same hash exists, keeping that one.
   */
  insert(record: RefreshTokenRecord): Promise<void>;

  /** The record whose hash is `tokenHash`, whatever its state (rotated, revoked, expired), or null. */
  findByHash(tokenHash: string): Promise<RefreshTokenRecord | null>;

  /**
   * Sets `validUntil` and `lastUsedAt`, and nothing else, of a record that is
   * neither rotated nor revoked. Returns false, writing nothing, when there is
   * no such record. Used by refresh without rotation.
   */
  touch(tokenHash: string, validUntil: Date, lastUsedAt: Date): Promise<boolean>;

  /**
   * The compare-and-set of rotation, as ONE atomic step: if the parent is
   * neither rotated nor revoked, mark it rotated at `rotatedAt` (also its
   * `lastUsedAt`) with `successor.tokenHash` as successor, and insert
   * `successor`; otherwise change nothing and answer 'conflict'. Of N
   * concurrent calls for one parent, exactly one answers 'rotated'. When the
   * successor's hash is taken, rejects with a `StoreError` and leaves the parent unrotated.
   */
  rotate(parentHash: string, successor: RefreshTokenRecord, rotatedAt: Date): Promise<RotateOutcome>;

  /**
   * Revokes every not-yet-revoked record of a family, keeping the `revokedAt`
   * of those revoked before, and returns how many changed. A rotation racing
   * it must not leave a live successor behind.
   */
  revokeFamily(familyId: string, revokedAt: Date): Promise<number>;

  /**
   * Revokes every not-yet-revoked record of a user ("log out everywhere") and
   * returns how many changed; the same race rule as {@link revokeFamily}.
   */
  revokeUser(userId: string, revokedAt: Date): Promise<number>;

  /**
   * The user's families that still have a live token (not rotated, not
   * revoked, valid after `now`), newest login first, then by family id in
   * code-unit order. Per family: `createdAt` is its earliest record's,
   * `lastUsedAt` the latest in the family, the rest the current token's.
   */
  listFamilies(userId: string, now: Date): Promise<FamilySummary[]>;

  /**
   * Puts an access token's `jti` on the blocklist until `expiresAt` (its `exp`),
   * so a logged-out access token is refused on every instance sharing the store.
   * Idempotent; a later `expiresAt` for the same jti wins.
   */
  blockAccessToken(jti: string, expiresAt: Date): Promise<void>;

  /** Whether `jti` is on the blocklist with an entry that has not expired at `now`. */
  isAccessTokenBlocked(jti: string, now: Date): Promise<boolean>;

  /**
   * "Log out everywhere": access tokens of `userId` issued before `at` are
   * refused. The watermark only moves forward; an earlier `at` changes nothing.
   */
  setRevokedBefore(userId: string, at: Date): Promise<void>;

  /** The user's watermark from {@link setRevokedBefore}, or null. */
  getRevokedBefore(userId: string): Promise<Date | null>;

  /**
   * Counts one hit of `key` in the fixed window of `windowSeconds` that
   * contains `now` (windows start at multiples of `windowSeconds` since the
   * epoch), atomically, and answers the count including this hit and when the
   * window ends. Shared by every instance using the store.
   */
  hitRateLimit(key: string, windowSeconds: number, now: Date): Promise<RateLimitHit>;

  /**
   * Deletes up to `batchSize` records, whatever their state, whose `validUntil`
   * is before `before`, and returns how many it deleted; call again until it
   * returns 0. A `batchSize` that is not a positive integer is refused with a
   * RangeError and nothing is deleted.
   */
  deleteExpired(before: Date, batchSize: number): Promise<number>;

  /**
   * Removes blocklist entries that expired and rate-limit windows that ended
   * before `before`, and, when `watermarksBefore` is given, the watermarks of
   * {@link setRevokedBefore} whose instant is strictly before it. Answers how
   * many entries it removed, watermarks included. Stores whose backend expires
   * keys by itself may leave blocklist entries and windows to it (and not count
   * them); watermarks never expire by themselves, so every store deletes them here.
   *
   * A watermark at `at` only refuses access tokens issued before `at`, and
   * those have all expired once `at + tokenTtl + clockSkew` is past: pass
   * `watermarksBefore = now - (tokenTtl + clockSkew)`. Without it watermarks are kept.
   */
  purgeExpiredState(before: Date, watermarksBefore?: Date): Promise<number>;

  /**
   * Scans every record for broken {@link StoreInvariant}s at `now` and answers
   * a count and a sample of offender ids per invariant; reads only. Memory
   * stays bounded whatever the store's size (the scan runs in the database
   * or in batches). For operators (`jwt-refresh doctor`); the core never asks.
   * A `sampleSize` that is not a non-negative integer is refused with a RangeError.
   */
  audit(now: Date, options?: StoreAuditOptions): Promise<StoreAudit>;

  /**
   * Number of stored records, whatever their state. For operators: the CLI's
   * `clear` reports it on a dry run; the core never asks.
   */
  count(): Promise<number>;

  /**
   * Creates or upgrades the schema (tables, indexes, collections). Idempotent
   * and safe to run from several processes at once. Answers the versions it
   * applied, empty when already up to date (always, for a store without a schema).
   */
  migrate(): Promise<number[]>;

  /**
   * The cheapest round trip to the backend (`SELECT 1`, `PING`, `{ ping: 1 }`; nothing for in-process stores), within
   * the store's operation timeout: what `/health` asks. Rejects with a `StoreUnavailableError` when the backend is
   * unreachable or slow, so a readiness probe fails while it is down and passes again once it is back.
   */
  ping(): Promise<void>;

  /**
   * Releases what the store opened itself; a connection, pool or client the
   * app handed it stays open. Calling it twice is harmless.
   */
  close(): Promise<void>;
}
