import { createHash, randomUUID } from 'node:crypto';
import type { User } from '../auth/user.js';
import type { RefreshTokenRecord } from '../stores/store.js';
import type { TokenHasher } from '../tokens/hash-token.js';
import { LEGACY_SHA256_PREFIX } from '../tokens/legacy-sha256-hash.js';
import type { GesdinetRow } from './gesdinet-source.js';
import { parseSourceDateTime, type WallClockToInstant } from './source-datetime.js';

// What the bundle's `hash_tokens` (2.2+) writes instead of the plain token.
const BUNDLE_SHA256_ROW = /^sha256\$([0-9a-fA-F]{64})$/;

/** How one row is read: the hashing and clock of the target, the zone of the source. */
export interface RowMapping {
  /** Our token hasher (with the pepper when one is configured). */
  hashToken: TokenHasher;
  /** Whether `hashToken` is peppered: a `sha256$` row then keeps its mark. */
  peppered: boolean;
  /** The naive datetimes' time zone. */
  toInstant: WallClockToInstant;
  /** Rows valid until this instant or before are expired. */
  now: Date;
  /** A plain token longer than this could never be presented (the server's `maxTokenLength`). */
  maxTokenLength: number;
  /** `maxSessionLifetime` (seconds): the deadline of a family that has none, from the import. */
  maxSessionLifetime: number | undefined;
  /** {@link GesdinetSource.forkedFamilyPrimaries}. */
  forkedPrimaries: ReadonlyMap<string, string>;
}

/** A row that can be imported, before its user is known. */
export interface LiveGesdinetRow {
  /** The hash the record is stored (and found) under. */
  tokenHash: string;
  /** The row was a `sha256$` hash kept under its mark (a pepper is configured): needs `legacySha256Tokens`. */
  markedLegacy: boolean;
  /** The row was a `sha256$` hash (marked or not). */
  bundleHashed: boolean;
  username: string;
  familyId: string;
  validUntil: Date;
  familyDeadline: Date | null;
}

/** Why a row is not imported. */
export type GesdinetSkipReason = 'expired' | 'unknownUser' | 'alreadyImported' | 'invalid';

/**
 * Reads one row of the bundle's table: its hash as we store it, its family
 * and its deadlines, or why it cannot be imported ('invalid': an empty or
 * over-long token or username, an unreadable date; 'expired': its `valid` or
 * `family_valid` has passed).
 *
 * Hashes: a plain token is hashed as the server hashes it. A `sha256$<hex>`
 * row was hashed by the bundle: without a pepper our hash is that same hex,
 * so it is stored unmarked and found by the normal lookup; with a pepper it
 * cannot be re-hashed without the plain token and is stored as `sha256$<hex>`,
 * found by `findPresentedToken`'s second lookup when `legacySha256Tokens` is on.
 *
 * Families: a 1.x row has none and starts its own; a 3.0 row keeps its
 * family's id, mapped to a UUID, the same on every run. In a family the
 * bundle's non-atomic rotation forked (several rows), the row with the latest
 * `valid` keeps the family's id and each other row gets a family of its own,
 * keeping the deadline: a family has one current token here.
 *
 * @example
 * const live = mapGesdinetRow(row, mapping);
 * if (live !== 'expired' && live !== 'invalid') store.insert(importedRecord(live, user, now));
 */
export function mapGesdinetRow(row: GesdinetRow, mapping: RowMapping): LiveGesdinetRow | 'expired' | 'invalid' {
  const token = row.refreshToken;
  if (token === '' || row.username === '' || row.username.length > 255) return 'invalid';
  const bundleHash = BUNDLE_SHA256_ROW.exec(token)?.[1]?.toLowerCase();
  if (bundleHash === undefined && token.length > mapping.maxTokenLength) return 'invalid';
  const valid = parseSourceDateTime(row.valid, mapping.toInstant);
  if (valid === null) return 'invalid';
  let deadline: Date | null = null;
  if (row.familyValid !== null && row.familyValid !== undefined) {
    deadline = parseSourceDateTime(row.familyValid, mapping.toInstant);
    if (deadline === null) return 'invalid';
  } else if (mapping.maxSessionLifetime !== undefined) {
    deadline = new Date(mapping.now.getTime() + mapping.maxSessionLifetime * 1000);
  }
  // Never valid past its family's deadline, as every token we issue.
  const validUntil = deadline !== null && deadline < valid ? deadline : valid;
  if (validUntil.getTime() <= mapping.now.getTime()) return 'expired';

  let tokenHash: string;
  if (bundleHash === undefined) tokenHash = mapping.hashToken(token);
  else tokenHash = mapping.peppered ? `${LEGACY_SHA256_PREFIX}${bundleHash}` : bundleHash;
  const family = row.family === null || row.family === '' ? null : row.family;
  let familyId: string;
  if (family === null) familyId = nameBasedUuid(`gesdinet-row:${tokenHash}`);
  else {
    const primary = mapping.forkedPrimaries.get(family);
    familyId = nameBasedUuid(
      primary === undefined || primary === token ? `gesdinet-family:${family}` : `gesdinet-fork:${family}:${tokenHash}`,
    );
  }
  return {
    tokenHash,
    markedLegacy: bundleHash !== undefined && mapping.peppered,
    bundleHashed: bundleHash !== undefined,
    username: row.username,
    familyId,
    validUntil,
    familyDeadline: deadline,
  };
}

/**
 * The record an imported row becomes: generation 0 of its family, created at
 * the import, owned by the user the provider named.
 */
export function importedRecord(row: LiveGesdinetRow, user: User, now: Date): RefreshTokenRecord {
  return {
    id: randomUUID(),
    tokenHash: row.tokenHash,
    userId: user.id,
    userIdentifier: user.identifier,
    familyId: row.familyId,
    generation: 0,
    validUntil: row.validUntil,
    familyDeadline: row.familyDeadline,
    createdAt: now,
    lastUsedAt: null,
    rotatedAt: null,
    successorHash: null,
    revokedAt: null,
    userAgent: null,
    ip: null,
    metadata: null,
  };
}

/**
 * A UUID (RFC 9562 version 8) from a name: the same name, the same id, so a
 * second run, or a row read after an interrupted one, maps to the same family.
 */
function nameBasedUuid(name: string): string {
  const bytes = createHash('sha256').update(`jwt-refresh:import-gesdinet:${name}`).digest().subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
