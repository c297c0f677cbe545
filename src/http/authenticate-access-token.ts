import { JwtInvalidError, JwtNotFoundError } from '../errors.js';
import { isAccessTokenRevoked } from '../tokens/access-token-revocation.js';
import type { AccessTokenClaims } from '../jwt/build-claims.js';
import { verifyAccessToken } from '../jwt/verify.js';
import type { HandlerContext } from './handler-context.js';

const BEARER = /^Bearer[ \t]+([^ \t]+)[ \t]*$/i;

/**
 * The verified claims of the Bearer token in an Authorization header
 * (SPEC §1; the prefix is case-insensitive). A token revoked by a logout
 * (blocklisted `jti`) or a "log out everywhere" is invalid, on every instance
 * that shares the store.
 *
 * @throws JwtNotFoundError, JwtExpiredError or JwtInvalidError
 */
export async function authenticateAccessToken(ctx: HandlerContext, authorization: string | null | undefined): Promise<AccessTokenClaims> {
  const match = authorization == null ? null : BEARER.exec(authorization);
  if (match === null) throw new JwtNotFoundError();
  const now = ctx.now();
  const claims = await verifyAccessToken(match[1]!, ctx.keys, ctx.config.jwt, now);
  if (await isAccessTokenRevoked(ctx.store, claims, ctx.config.jwt, now)) throw new JwtInvalidError();
  return claims;
}
