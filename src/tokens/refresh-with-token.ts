import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { User } from '../auth/user.js';
import { RefreshTokenInvalidError } from '../errors.js';
import { addSecondsCapped } from '../lib/clock.js';
import type { RefreshTokenRecord } from '../stores/store.js';
import { deriveSuccessorToken } from './derive-successor.js';
import { revokeFamily } from './revoke-family.js';
import type { ClientMetadata, TokenContext } from './token-context.js';

/**
 * Loads the user a token belongs to and runs the user checks, or throws.
 * Called BEFORE anything is written, so a refused user changes nothing.
 */
export type UserReloader = (record: RefreshTokenRecord) => Promise<User>;

/** How a refresh is carried out: the request it serves and the caller's checks. */
export interface RefreshUse {
  reloadUser: UserReloader;
  client: ClientMetadata;
  request: Request;
  /** Runs once the presented token is known and unexpired, before any write (e.g. a per-family rate limit). */
  beforeUse?: (record: RefreshTokenRecord) => Promise<void>;
}

/** A successful refresh: the refresh token to hand back and the user to sign an access token for. */
export interface RefreshResult {
  /** The plain refresh token for the response: the successor, or the same token without rotation. */
  token: string;
  /** The record of `token` as stored now. */
  record: RefreshTokenRecord;
  /** The presented token's record as found. */
  presented: RefreshTokenRecord;
  user: User;
}

/**
 * Trades a presented refresh token for the token to return (SPEC §3, §9).
 *
 * With `singleUse`, the token is rotated by ONE compare-and-set in the store;
 * the successor is derived from the parent, so every request that loses the
 * race (or retries) within `reuseGraceSeconds` gets that same successor while
 * it is still the family's current, unused token. Anything else presenting a
 * rotated token is reuse: the family is revoked (RFC 9700 §4.14.2).
 *
 * Without `singleUse` the same token comes back; with `ttlUpdate` its validity
 * moves to now + ttl, never past the family deadline, and only after the user
 * checks passed.
 *
 * @throws RefreshTokenInvalidError for unknown, expired, revoked, rotated or reused tokens
 */
export async function refreshWithToken(ctx: TokenContext, presentedToken: string, use: RefreshUse): Promise<RefreshResult> {
  const { reloadUser, client, request } = use;
  const presentedHash = ctx.hashToken(presentedToken);
  const presented = await ctx.store.findByHash(presentedHash);
  const now = ctx.now();
  if (presented === null || !isUnexpired(presented, now)) throw new RefreshTokenInvalidError();
  await use.beforeUse?.(presented);

  if (!ctx.config.singleUse) return refreshWithoutRotation(ctx, presentedToken, presented, reloadUser, request);

  let current: RefreshTokenRecord | null = presented;
  if (presented.revokedAt === null && presented.rotatedAt === null) {
    const user = await reloadUser(presented);
    const successorToken = deriveSuccessorToken(ctx.secret, presentedToken, presented.familyId, presented.generation + 1);
    const successor = successorRecord(ctx, presented, successorToken, client, now);
    const outcome = await ctx.store.rotate(presentedHash, successor, now);
    if (outcome === 'rotated') {
      await ctx.events.emit('refresh', { user, record: presented, request });
      return { token: successorToken, record: successor, presented, user };
    }
    // Lost the race: a concurrent request rotated (or a logout revoked) it in between.
    current = await ctx.store.findByHash(presentedHash);
  }
  if (current === null || current.revokedAt !== null) throw new RefreshTokenInvalidError();
  const replay = await findGraceSuccessor(ctx, presentedToken, current, now);
  if (replay === 'foreign') throw new RefreshTokenInvalidError();
  if (replay === null) {
    await revokeReusedFamily(ctx, current, now, request);
    throw new RefreshTokenInvalidError();
  }
  const user = await reloadUser(current);
  await ctx.events.emit('refresh', { user, record: current, request });
  return { token: replay.token, record: replay.record, presented: current, user };
}

function isUnexpired(record: RefreshTokenRecord, now: Date): boolean {
  if (record.validUntil.getTime() <= now.getTime()) return false;
  return record.familyDeadline === null || record.familyDeadline.getTime() > now.getTime();
}

function successorRecord(
  ctx: TokenContext,
  parent: RefreshTokenRecord,
  successorToken: string,
  client: ClientMetadata,
  now: Date,
): RefreshTokenRecord {
  return {
    id: randomUUID(),
    tokenHash: ctx.hashToken(successorToken),
    userId: parent.userId,
    userIdentifier: parent.userIdentifier,
    familyId: parent.familyId,
    generation: parent.generation + 1,
    // SPEC §9: rotation never extends a family past its absolute deadline.
    validUntil: addSecondsCapped(now, ctx.config.ttl, parent.familyDeadline),
    familyDeadline: parent.familyDeadline,
    createdAt: now,
    lastUsedAt: null,
    rotatedAt: null,
    successorHash: null,
    revokedAt: null,
    userAgent: client.userAgent ?? parent.userAgent,
    ip: client.ip ?? parent.ip,
  };
}

/**
 * The grace window: a rotated token presented again within `reuseGraceSeconds`
 * yields its (re-derived) successor, but only while that successor is still
 * the family's current unused token. A successor that was itself rotated or
 * revoked means the chain moved on, and the replay is reuse (null).
 *
 * 'foreign': inside the window with the successor still current, but minted
 * by an instance with another server secret (instances sharing a store
 * without a shared `secret`, or a restart without one), so it cannot be
 * re-derived here. That is a deployment fault, not a theft signal, so the
 * request fails without revoking the family: a user's parallel tab must not
 * log them out (SPEC §9, the grace window).
 */
async function findGraceSuccessor(
  ctx: TokenContext,
  presentedToken: string,
  rotated: RefreshTokenRecord,
  now: Date,
): Promise<{ token: string; record: RefreshTokenRecord } | 'foreign' | null> {
  const grace = ctx.config.reuseGraceSeconds;
  if (grace === 0 || rotated.rotatedAt === null || rotated.successorHash === null) return null;
  if (now.getTime() - rotated.rotatedAt.getTime() > grace * 1000) return null;
  const successor = await ctx.store.findByHash(rotated.successorHash);
  if (successor === null || successor.rotatedAt !== null || successor.revokedAt !== null) return null;
  if (!isUnexpired(successor, now)) return null;
  const token = deriveSuccessorToken(ctx.secret, presentedToken, rotated.familyId, rotated.generation + 1);
  // Never handed out when it does not match: this instance cannot name that successor's plain token.
  if (!sameHex(ctx.hashToken(token), rotated.successorHash)) return 'foreign';
  return { token, record: successor };
}

function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

async function revokeReusedFamily(ctx: TokenContext, record: RefreshTokenRecord, now: Date, request: Request): Promise<void> {
  // RFC 9700 §4.14.2: a rotated token used again means one of two parties holds a
  // stolen token; revoke the whole family so neither can continue.
  await ctx.events.emit('refreshTokenReused', { record, request });
  await revokeFamily(ctx, record.familyId, record.userId, 'reuse', now);
}

async function refreshWithoutRotation(
  ctx: TokenContext,
  presentedToken: string,
  presented: RefreshTokenRecord,
  reloadUser: UserReloader,
  request: Request,
): Promise<RefreshResult> {
  if (presented.revokedAt !== null || presented.rotatedAt !== null) throw new RefreshTokenInvalidError();
  const user = await reloadUser(presented);
  const now = ctx.now();
  const validUntil = ctx.config.ttlUpdate
    ? addSecondsCapped(now, ctx.config.ttl, presented.familyDeadline)
    : presented.validUntil;
  const touched = await ctx.store.touch(presented.tokenHash, validUntil, now);
  // Revoked by a concurrent logout between our read and this write.
  if (!touched) throw new RefreshTokenInvalidError();
  await ctx.events.emit('refresh', { user, record: presented, request });
  return { token: presentedToken, record: { ...presented, validUntil, lastUsedAt: now }, presented, user };
}
