import type { JwtRefreshConfig } from '../config/schema.js';
import type { AccessTokenClaims } from '../jwt/build-claims.js';
import type { RefreshTokenStore } from '../stores/store.js';
import { userKeyOfClaims } from '../jwt/user-of-claims.js';

/** The watermark key that ends a session's access tokens (their `sid` claim names the family). */
export function familyWatermarkKey(familyId: string): string {
  return `family:${familyId}`;
}

/**
 * Whether a verified access token was revoked since it was signed (SPEC §5,
 * beyond the bundle): its `jti` is on the blocklist (it was presented at a
 * logout), or it was issued before its user's "log out everywhere" watermark
 * or before its session (`sid`) was revoked.
 *
 * The watermark is compared at whole seconds: `iat` has second precision, so
 * a token signed in the same second as the watermark cannot be told apart
 * from one signed just before it, and is refused too.
 */
export async function isAccessTokenRevoked(
  store: RefreshTokenStore,
  claims: AccessTokenClaims,
  jwt: JwtRefreshConfig['jwt'],
  now: Date,
): Promise<boolean> {
  if (typeof claims.jti === 'string' && (await store.isAccessTokenBlocked(claims.jti, now))) return true;
  const issuedAt = typeof claims.iat === 'number' ? claims.iat : 0;
  const userKey = userKeyOfClaims(claims, jwt);
  if (userKey !== null && issuedBefore(issuedAt, await store.getRevokedBefore(userKey))) return true;
  // A revoked session (logout, reuse, revocation endpoint) ends its access tokens too.
  if (typeof claims.sid !== 'string') return false;
  return issuedBefore(issuedAt, await store.getRevokedBefore(familyWatermarkKey(claims.sid)));
}

function issuedBefore(issuedAt: number, watermark: Date | null): boolean {
  return watermark !== null && issuedAt <= Math.floor(watermark.getTime() / 1000);
}

/** Puts a verified access token on the blocklist until it expires anyway. */
export async function blockAccessToken(store: RefreshTokenStore, claims: AccessTokenClaims): Promise<boolean> {
  if (typeof claims.jti !== 'string') return false;
  await store.blockAccessToken(claims.jti, new Date(claims.exp * 1000));
  return true;
}
