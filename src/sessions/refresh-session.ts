import { randomUUID, timingSafeEqual } from 'node:crypto';
import { reloadTokenUser } from '../auth/reload-user.js';
import { RefreshTokenInvalidError } from '../errors.js';
import { addSecondsCapped } from '../lib/clock.js';
import type { RefreshTokenRecord } from '../stores/store.js';
import { deriveSuccessorToken } from '../tokens/derive-successor.js';
import { enforceRateLimit } from './enforce-rate-limit.js';
import { findPresentedToken } from './find-presented-token.js';
import { revokeFamily } from './revoke-family.js';
import type { SessionClient, SessionContext } from './session-context.js';
import { deliverSessionTokens, type SessionTokens, type TokenResponseFormat } from './session-tokens.js';
import type { RequestView } from '../lib/request-view.js';

/** Options of {@link refreshSession}. */
export interface RefreshSessionOptions {
  /** The client refreshing; recorded with a rotated token (the parent's is kept where absent). */
  client?: SessionClient;
  /** The HTTP request, when one carried the token; handed to event listeners (as a Fetch `Request`). */
  request?: Request | RequestView;
  /** Shape of `responseBody`. Default `'bundle'`. */
  format?: TokenResponseFormat;
}

/**
 * Trades a refresh token for a new access token and the refresh token to use
 * next (SPEC §3, §9), like node-oidc-provider's refresh_token grant: find the
 * token, check it, reload the user, rotate, issue.
 *
 * With `singleUse`, the token is rotated by ONE compare-and-set in the store;
 * the successor is derived from the parent, so every request that loses the
 * race (or retries) within `reuseGraceSeconds` gets that same successor while
 * it is still the family's current, unused token. Anything else presenting a
 * rotated token is reuse: the family is revoked (RFC 9700 §4.14.2).
 *
 * Without `singleUse` the same token comes back; with `ttlUpdate` its validity
 * moves to now + ttl, never past the family deadline, and only after the user
 * checks passed. Nothing is written for a refused user.
 *
 * @throws RefreshTokenInvalidError (unknown, expired, revoked, rotated, reused; or the user is gone),
 *   the user checker's error, RateLimitedError (per-family limit), StoreError
 */
export async function refreshSession(
  ctx: SessionContext,
  refreshToken: string,
  options: RefreshSessionOptions = {},
): Promise<SessionTokens> {
  const now = ctx.now();
  const presented = await findPresentedToken(ctx, refreshToken);
  if (presented === null || !isUnexpired(presented, now)) throw new RefreshTokenInvalidError();
  // The key it is stored under: for an imported legacy row, its marked SHA-256 rather than hashToken(refreshToken).
  const presentedHash = presented.tokenHash;
  // A stolen token hammered from many addresses is still one family.
  await enforceRateLimit(ctx, 'family', presented.familyId, now);
  const deliver = (user: Awaited<ReturnType<typeof reloadTokenUser>>, token: string, record: RefreshTokenRecord) =>
    deliverSessionTokens(ctx, { user, refreshToken: token, record, now, request: options.request, format: options.format ?? 'bundle' });

  if (!ctx.config.singleUse) {
    if (presented.revokedAt !== null || presented.rotatedAt !== null) throw new RefreshTokenInvalidError();
    const user = await reloadTokenUser(ctx, presented);
    const validUntil = ctx.config.ttlUpdate ? addSecondsCapped(now, ctx.config.ttl, presented.familyDeadline) : presented.validUntil;
    // false: revoked by a concurrent logout between our read and this write.
    if (!(await ctx.store.touch(presentedHash, validUntil, now))) throw new RefreshTokenInvalidError();
    await ctx.events.emit('refresh', { user, record: presented, request: options.request });
    return deliver(user, refreshToken, { ...presented, validUntil, lastUsedAt: now });
  }

  let current: RefreshTokenRecord | null = presented;
  // The successor this instance derives for the presented token, and its hash: each computed once per request.
  let derived: DerivedSuccessor | undefined;
  if (presented.revokedAt === null && presented.rotatedAt === null) {
    const user = await reloadTokenUser(ctx, presented);
    const successorToken = deriveSuccessorToken(ctx.secret, refreshToken, presented.familyId, presented.generation + 1);
    const successor = successorRecord(ctx, presented, successorToken, options.client ?? {}, now);
    if ((await ctx.store.rotate(presentedHash, successor, now)) === 'rotated') {
      await ctx.events.emit('refresh', { user, record: presented, request: options.request });
      return deliver(user, successorToken, successor);
    }
    // Lost the race: a concurrent request rotated (or a logout revoked) it in between.
    derived = { token: successorToken, hash: successor.tokenHash };
    current = await ctx.store.findByHash(presentedHash);
  }
  if (current === null || current.revokedAt !== null) throw new RefreshTokenInvalidError();
  const replay = await findGraceSuccessor(ctx, refreshToken, current, now, derived);
  if (replay === 'foreign') throw new RefreshTokenInvalidError();
  if (replay === null) {
    // RFC 9700 §4.14.2: a rotated token used again means one of two parties holds a
    // stolen token; revoke the whole family so neither can continue.
    await ctx.events.emit('refreshTokenReused', { record: current, request: options.request });
    await revokeFamily(ctx, current.familyId, current.userId, 'reuse', now);
    throw new RefreshTokenInvalidError();
  }
  const user = await reloadTokenUser(ctx, current);
  await ctx.events.emit('refresh', { user, record: current, request: options.request });
  return deliver(user, replay.token, replay.record);
}

/** A successor token derived from the presented one, with its hash. */
interface DerivedSuccessor {
  token: string;
  hash: string;
}

function isUnexpired(record: RefreshTokenRecord, now: Date): boolean {
  if (record.validUntil.getTime() <= now.getTime()) return false;
  return record.familyDeadline === null || record.familyDeadline.getTime() > now.getTime();
}

function successorRecord(
  ctx: SessionContext,
  parent: RefreshTokenRecord,
  successorToken: string,
  client: SessionClient,
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
    metadata: parent.metadata,
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
  ctx: SessionContext,
  presentedToken: string,
  rotated: RefreshTokenRecord,
  now: Date,
  derived: DerivedSuccessor | undefined,
): Promise<{ token: string; record: RefreshTokenRecord } | 'foreign' | null> {
  const grace = ctx.config.reuseGraceSeconds;
  if (grace === 0 || rotated.rotatedAt === null || rotated.successorHash === null) return null;
  if (now.getTime() - rotated.rotatedAt.getTime() > grace * 1000) return null;
  const successor = await ctx.store.findByHash(rotated.successorHash);
  if (successor === null || successor.rotatedAt !== null || successor.revokedAt !== null) return null;
  if (!isUnexpired(successor, now)) return null;
  // The same row re-read after a lost race: its successor was derived and hashed for the rotation attempt.
  const token = derived?.token ?? deriveSuccessorToken(ctx.secret, presentedToken, rotated.familyId, rotated.generation + 1);
  const hash = derived?.hash ?? ctx.hashToken(token);
  // Never handed out when it does not match: this instance cannot name that successor's plain token.
  if (!sameHex(hash, rotated.successorHash)) return 'foreign';
  return { token, record: successor };
}

function sameHex(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}
