import { RefreshTokenInvalidError } from '../errors.js';
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
  await ctx.userChecker.checkPreAuth(user);
  await ctx.userChecker.checkPostAuth(user);
  return user;
}
