import type { JwtRefreshConfig } from '../config/schema.js';
import type { AccessTokenClaims } from '../jwt/build-claims.js';
import type { RefreshTokenStore } from '../stores/store.js';
import { FAMILY_WATERMARK_PREFIX } from './revoke-family.js';

/**
 * The stable user id an access token speaks for: `sub` when the library sets
 * it to the user id, else the identifier claim.
 */
export function userIdOfClaims(claims: AccessTokenClaims, jwt: JwtRefreshConfig['jwt']): string | null {
  const value = jwt.setSubject && jwt.userIdClaim !== 'sub' ? claims.sub : claims[jwt.userIdClaim];
  return typeof value === 'string' ? value : null;
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
  const userId = userIdOfClaims(claims, jwt);
  if (userId !== null && issuedBefore(issuedAt, await store.getRevokedBefore(userId))) return true;
  // A revoked session (logout, reuse, revocation endpoint) ends its access tokens too.
  if (typeof claims.sid !== 'string') return false;
  return issuedBefore(issuedAt, await store.getRevokedBefore(`${FAMILY_WATERMARK_PREFIX}${claims.sid}`));
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
