import { reloadClaimsUser } from '../auth/reload-user.js';
import { AccessDeniedError } from '../errors.js';
import type { AccessTokenClaims } from '../jwt/build-claims.js';
import { authenticateAccessToken } from './authenticate-access-token.js';
import type { HandlerContext } from './handler-context.js';

/** What a protected route requires beyond a valid access token. */
export interface AccessRequirements {
  /** A role the token's `roles` claim must hold (403 otherwise). */
  role?: string;
}

/**
 * The guard of protected routes (SPEC §1): the verified, unrevoked claims of
 * the Bearer token, then the role when one is required. By default the roles
 * are the token's own (no store or provider hit); with `loadUser` the user is
 * loaded and checked first, and the role is looked up in the loaded user's
 * current roles.
 *
 * @throws JwtNotFoundError, JwtExpiredError, JwtInvalidError, the user checker's error, or AccessDeniedError
 */
export async function authorizeAccess(
  ctx: HandlerContext,
  authorization: string | null | undefined,
  requirements: AccessRequirements,
): Promise<AccessTokenClaims> {
  const claims = await authenticateAccessToken(ctx, authorization);
  const roles = ctx.config.loadUser ? (await reloadClaimsUser(ctx.credentials, claims, ctx.config.jwt)).roles : claims.roles;
  if (requirements.role !== undefined && !(Array.isArray(roles) && roles.includes(requirements.role))) throw new AccessDeniedError();
  return claims;
}
