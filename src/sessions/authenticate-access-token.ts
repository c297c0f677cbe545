import { reloadClaimsUser } from '../auth/reload-user.js';
import { AccessDeniedError, JwtExpiredError, JwtInvalidError } from '../errors.js';
import type { AccessTokenClaims } from '../jwt/build-claims.js';
import { verifyAccessToken } from '../jwt/verify.js';
import { isAccessTokenRevoked } from '../tokens/access-token-revocation.js';
import type { SessionContext } from './session-context.js';

/** What a protected resource requires beyond a valid access token. */
export interface AccessRequirements {
  /** A role the token's `roles` claim (or, with `loadUser`, the user's current roles) must hold. */
  role?: string;
}

/**
 * Verifies an access token for a protected resource (SPEC §1), wherever it
 * arrived: an HTTP route, a queue worker, a WebSocket handshake. The
 * signature and claims (jose, the configured algorithm only), then that it
 * was not revoked since it was signed (logout blocklist, "log out everywhere",
 * a revoked session, on every instance sharing the store), then, with
 * `loadUser`, that its user still exists and passes the user checker, then
 * the required role.
 *
 * @throws JwtExpiredError, JwtInvalidError, the user checker's error, AccessDeniedError
 */
export async function authenticateAccessToken(
  ctx: SessionContext,
  accessToken: string,
  requirements: AccessRequirements = {},
): Promise<AccessTokenClaims> {
  const claims = await verifyUnrevoked(ctx, accessToken);
  const roles = ctx.config.loadUser ? (await reloadClaimsUser(ctx, claims, ctx.config.jwt)).roles : claims.roles;
  if (requirements.role !== undefined && !(Array.isArray(roles) && roles.includes(requirements.role))) throw new AccessDeniedError();
  return claims;
}

/**
 * The claims of a valid, unrevoked access token, or null for any refusal:
 * for use cases where the access token is optional evidence (logout must
 * work with an expired one).
 */
export async function claimsOrNull(ctx: SessionContext, accessToken: string | undefined): Promise<AccessTokenClaims | null> {
  if (accessToken === undefined) return null;
  try {
    return await verifyUnrevoked(ctx, accessToken);
  } catch (error) {
    if (error instanceof JwtExpiredError || error instanceof JwtInvalidError) return null;
    throw error;
  }
}

/**
 * A valid access token's claims, refused when it was revoked since it was
 * signed (logout blocklist, "log out everywhere", a revoked session), on
 * every instance sharing the store.
 *
 * @throws JwtExpiredError, JwtInvalidError
 */
export async function verifyUnrevoked(ctx: SessionContext, accessToken: string): Promise<AccessTokenClaims> {
  const now = ctx.now();
  const claims = await verifyAccessToken(accessToken, ctx.keys, ctx.config.jwt, now);
  if (await isAccessTokenRevoked(ctx.store, claims, ctx.config.jwt, now)) throw new JwtInvalidError();
  return claims;
}
