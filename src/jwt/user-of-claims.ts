import type { JwtRefreshConfig } from '../config/schema.js';
import type { AccessTokenClaims } from './build-claims.js';

/**
 * Whether access tokens name their user by the stable id: `sub` holds it
 * unless `userIdClaim: 'sub'` put the identifier there instead. Otherwise the
 * identifier under `userIdClaim` is the only link to the user.
 */
export function claimsCarryUserId(jwt: JwtRefreshConfig['jwt']): boolean {
  return jwt.setSubject && jwt.userIdClaim !== 'sub';
}

/**
 * What names the user in a verified access token: the stable id when
 * {@link claimsCarryUserId}, else the identifier. The "log out everywhere"
 * watermark is kept under this value.
 */
export function userKeyOfClaims(claims: AccessTokenClaims, jwt: JwtRefreshConfig['jwt']): string | null {
  const value = claimsCarryUserId(jwt) ? claims.sub : claims[jwt.userIdClaim];
  return typeof value === 'string' ? value : null;
}

/** Whether a verified access token speaks for the user with this id and identifier. */
export function claimsNameUser(
  claims: AccessTokenClaims,
  user: { userId: string; userIdentifier: string },
  jwt: JwtRefreshConfig['jwt'],
): boolean {
  const key = userKeyOfClaims(claims, jwt);
  return key !== null && key === (claimsCarryUserId(jwt) ? user.userId : user.userIdentifier);
}
