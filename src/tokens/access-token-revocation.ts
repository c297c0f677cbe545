import type { JwtRefreshConfig } from '../config/schema.js';
import type { AccessTokenClaims } from '../jwt/build-claims.js';
import { clampExp } from '../jwt/exp-range.js';
import type { RefreshTokenStore } from '../stores/store.js';
import { userKeyOfClaims } from '../jwt/user-of-claims.js';
import { toUnixSeconds } from '../lib/clock.js';

/** The watermark key that ends a session's access tokens (their `sid` claim names the family). */
export function familyWatermarkKey(familyId: string): string {
  return `family:${familyId}`;
}

/**
 * Whether a verified access token was revoked since it was signed (SPEC §5,
 * beyond the bundle): its `jti` is on the blocklist (it was presented at a
 * logout), or it was issued before its session (`sid`) was revoked, or before
 * its user's "log out everywhere" watermark.
 *
 * Watermarks are compared at whole seconds, since `iat` has second precision:
 * a token signed in the same second as its session's watermark cannot be told
 * apart from one signed just before it, and is refused too. For the user's
 * watermark a session token is judged by its session instead: "log out
 * everywhere" sets the watermark of every session it ends, so a session
 * started in the very second after it (the new login after a password change)
 * keeps working, while every session it ended is refused.
 */
export async function isAccessTokenRevoked(
  store: RefreshTokenStore,
  claims: AccessTokenClaims,
  jwt: JwtRefreshConfig['jwt'],
  now: Date,
): Promise<boolean> {
  if (typeof claims.jti === 'string' && (await store.isAccessTokenBlocked(claims.jti, now))) return true;
  const issuedAt = typeof claims.iat === 'number' ? claims.iat : 0;
  const sessionId = typeof claims.sid === 'string' ? claims.sid : null;
  const userKey = userKeyOfClaims(claims, jwt);
  if (userKey !== null) {
    const watermark = await store.getRevokedBefore(userKey);
    if (watermark !== null && (sessionId === null ? issuedAt <= toUnixSeconds(watermark) : issuedAt < toUnixSeconds(watermark)))
      return true;
  }
  // A revoked session (logout, reuse, revocation endpoint, log out everywhere) ends its access tokens too.
  if (sessionId === null) return false;
  const sessionWatermark = await store.getRevokedBefore(familyWatermarkKey(sessionId));
  return sessionWatermark !== null && issuedAt <= toUnixSeconds(sessionWatermark);
}

/**
 * Puts a verified access token on the blocklist until it expires anyway.
 * Verification refuses an `exp` past `MAX_EXP`; it is clamped here too, so
 * that no claims reach a store with a date it cannot hold.
 */
export async function blockAccessToken(store: RefreshTokenStore, claims: AccessTokenClaims): Promise<boolean> {
  if (typeof claims.jti !== 'string') return false;
  await store.blockAccessToken(claims.jti, new Date(clampExp(claims.exp) * 1000));
  return true;
}
