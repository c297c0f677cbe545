/**
 * Fixtures for refresh-token records, shared by the store conformance suite
 * and the store test files. Time is fixed dates only (but for {@link wallClockRecord},
 * for a CLI run as a process, whose clock is the real one); nothing sleeps.
 */
import { createHash } from 'node:crypto';
import type { RefreshTokenRecord } from '../../src/stores/store.js';

/** A fixed instant with non-zero milliseconds, so a store that drops them fails. */
export const T0 = new Date('2031-03-04T05:06:07.123Z');
/** One minute in milliseconds. */
export const MINUTE = 60_000;
/** One hour in milliseconds. */
export const HOUR = 60 * MINUTE;
/** One day in milliseconds. */
export const DAY = 24 * HOUR;

/** `T0` moved by `ms`; a fresh Date each call. */
export function at(ms: number): Date {
  return new Date(T0.getTime() + ms);
}

/** A plain refresh token as the token module makes them: 128 hex characters, here derived from a label. */
export function plainToken(label: string): string {
  return createHash('sha512').update(`plain:${label}`).digest('hex');
}

/** Hash of the plain token of `label`: what the store sees. */
export function hashOf(label: string): string {
  return createHash('sha256').update(plainToken(label)).digest('hex');
}

/** A one-step stand-in hash of `label` (SHA-256 of `plain:${label}`), for tests that never need the plain token. */
export function labelHash(label: string): string {
  return createHash('sha256').update(`plain:${label}`).digest('hex');
}

/** Defaults a test file may change for the records it builds. */
export interface RecordDefaults {
  /** Maps a label to its `tokenHash`; {@link hashOf} unless given. */
  hash?: (label: string) => string;
  /** The `userIdentifier` of every record; `alice@example.com` unless given. */
  userIdentifier?: string;
}

/** A live generation-0 record of user-1 / family-1 for the token `label`; override what the case needs. */
export function record(label: string, overrides: Partial<RefreshTokenRecord> = {}, defaults: RecordDefaults = {}): RefreshTokenRecord {
  return {
    id: `id-${label}`,
    tokenHash: (defaults.hash ?? hashOf)(label),
    userId: 'user-1',
    userIdentifier: defaults.userIdentifier ?? 'alice@example.com',
    familyId: 'family-1',
    generation: 0,
    validUntil: at(DAY),
    familyDeadline: null,
    // A fresh Date, so a store that hands out its own objects cannot corrupt a shared constant.
    createdAt: at(0),
    lastUsedAt: null,
    rotatedAt: null,
    successorHash: null,
    revokedAt: null,
    userAgent: null,
    ip: null,
    metadata: null,
    ...overrides,
  };
}

/**
 * {@link record} of user `u1` (`alice`), live by the wall clock: created an hour ago, valid for a day from now.
 * For tests of a CLI run as a process, which reads the real clock.
 */
export function wallClockRecord(label: string, overrides: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord {
  const now = Date.now();
  return record(label, {
    userId: 'u1',
    userIdentifier: 'alice',
    validUntil: new Date(now + DAY),
    createdAt: new Date(now - HOUR),
    ...overrides,
  });
}

/** {@link record} with this file's `defaults` fixed. */
export function recordMaker(defaults: RecordDefaults): (label: string, overrides?: Partial<RefreshTokenRecord>) => RefreshTokenRecord {
  return (label, overrides = {}) => record(label, overrides, defaults);
}

/**
 * The successor of `parent` for the token `label`, as rotation builds it,
 * valid for a day from `createdAt`. The parent's `userAgent`, `ip` and `metadata` are
 * carried over unless `carryClient` is false (then they stay null).
 */
export function successorOf(
  parent: RefreshTokenRecord,
  label: string,
  createdAt: Date,
  { carryClient = true }: { carryClient?: boolean } = {},
): RefreshTokenRecord {
  return record(label, {
    userId: parent.userId,
    userIdentifier: parent.userIdentifier,
    familyId: parent.familyId,
    generation: parent.generation + 1,
    validUntil: new Date(createdAt.getTime() + DAY),
    familyDeadline: parent.familyDeadline,
    createdAt,
    ...(carryClient ? { userAgent: parent.userAgent, ip: parent.ip, metadata: parent.metadata } : {}),
  });
}
