import type { JwtRefreshConfig } from '../config/schema.js';
import { JwtInvalidError, RefreshTokenInvalidError } from '../errors.js';
import type { AccessTokenClaims } from '../jwt/build-claims.js';
import type { RefreshTokenRecord } from '../stores/store.js';
import type { CredentialsContext } from './authenticate-credentials.js';
import type { User } from './user.js';

/**
 * SPEC §3: on refresh the user is reloaded by the stable id stored with the
 * token and passed through the user checker. A deleted user makes the token
 * invalid; the checker's own error (e.g. "Account is disabled.") is kept.
 */
export async function reloadTokenUser(ctx: CredentialsContext, record: RefreshTokenRecord): Promise<User> {
  const user = await ctx.userProvider.loadUserById(record.userId);
  if (user === null) throw new RefreshTokenInvalidError();
  return checkedUser(ctx, user);
}

/**
 * The user a verified access token names, loaded through the user provider and
 * passed through the user checker: by the stable id in `sub` when the library
 * set it, else by the identifier under `userIdClaim` (which `userIdClaim: 'sub'`
 * puts in `sub`). Used by renewal and, with `loadUser`, by protected routes.
 *
 * @throws JwtInvalidError when the user no longer exists; the checker's error (e.g. AccountDisabledError)
 */
export async function reloadClaimsUser(ctx: CredentialsContext, claims: AccessTokenClaims, jwt: JwtRefreshConfig['jwt']): Promise<User> {
  const identifier = claims[jwt.userIdClaim];
  const byId = jwt.setSubject && jwt.userIdClaim !== 'sub' && typeof claims.sub === 'string';
  const user = byId
    ? await ctx.userProvider.loadUserById(claims.sub as string)
    : typeof identifier === 'string'
      ? await ctx.userProvider.loadUserByIdentifier(identifier)
      : null;
  if (user === null) throw new JwtInvalidError();
  return checkedUser(ctx, user);
}

async function checkedUser(ctx: CredentialsContext, user: User): Promise<User> {
  await ctx.userChecker.checkPreAuth(user);
  await ctx.userChecker.checkPostAuth(user);
  return user;
}
