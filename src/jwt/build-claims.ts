import { randomUUID } from 'node:crypto';
import type { User } from '../auth/user.js';
import type { JwtRefreshConfig } from '../config/schema.js';
import { toUnixSeconds } from '../lib/clock.js';
import { clampExp } from './exp-range.js';

/**
 * The claims of an access token.
 *
 * `exp` is always there (verification requires it). `iat` is always set by
 * {@link buildAccessTokenClaims}, but optional in a verified token, which may
 * come from another issuer sharing the key. Every other claim (`roles`, the
 * `userIdClaim`, `sub`, `jti`, `nbf`, `iss`, `aud`, custom ones) is `unknown`:
 * after verification only `exp`, `iat`, `nbf`, `iss`, `aud` and the
 * `userIdClaim` (a string) have been checked, so read the others with a check.
 *
 * @example
 * const claims: AccessTokenClaims = await verifyAccessToken(token, keys, config.jwt, now);
 * const roles = Array.isArray(claims.roles) ? claims.roles : [];
 */
export interface AccessTokenClaims {
  [claim: string]: unknown;
  /** Expiry, unix seconds. */
  exp: number;
  /** Issue time, unix seconds. */
  iat?: number;
}

/**
 * The claims of a new access token for `user`, issued at `now`:
 * `roles`, the `userIdClaim` (the user's identifier), `iat`, `exp` (`iat` + `tokenTtl`, at most
 * the end of year 9999, past which verification refuses it),
 * and, as configured, `sub` (the user's stable id), a random `jti`, `nbf` (= `iat`),
 * `iss` and `aud`.
 *
 * The `userIdClaim` is written after `sub`, `jti`, `nbf`, `iss`, `aud` and `roles`,
 * so `userIdClaim: 'sub'` puts the identifier in `sub`; `iat` and `exp` are written
 * last and cannot be displaced.
 *
 * @example
 * const claims = buildAccessTokenClaims(user, config.jwt, clock());
 * const token = await signAccessToken(keys, claims, { kid: '2024-01' });
 */
export function buildAccessTokenClaims(user: User, jwt: JwtRefreshConfig['jwt'], now: Date): AccessTokenClaims {
  const iat = toUnixSeconds(now);
  const claims: Record<string, unknown> = { roles: [...user.roles] };
  if (jwt.setSubject) claims.sub = user.id;
  // The logout blocklist keys on jti, so it must be unique per token.
  if (jwt.setJti) claims.jti = randomUUID();
  if (jwt.setNotBefore) claims.nbf = iat;
  if (jwt.issuer !== undefined) claims.iss = jwt.issuer;
  if (jwt.audience !== undefined) claims.aud = Array.isArray(jwt.audience) ? [...jwt.audience] : jwt.audience;
  claims[jwt.userIdClaim] = user.identifier;
  return { ...claims, iat, exp: clampExp(iat + jwt.tokenTtl) };
}
