import { authenticateCredentials } from '../auth/authenticate-credentials.js';
import type { User } from '../auth/user.js';
import { JwtRefreshError, RateLimitedError } from '../errors.js';
import { startSession, type IssueSessionOptions } from './issue-session.js';
import type { SessionContext } from './session-context.js';
import type { SessionTokens } from './session-tokens.js';

/**
 * The password login (SPEC §2, the bundle's json_login): checks the
 * credentials through the user provider, the password hasher and the user
 * checker, then starts a session. A refused login fires
 * `authenticationFailure` and changes nothing. A login refused because the
 * password-check queue is full (RateLimitedError) checked no credentials, so
 * it fires nothing: a flood does not become a flood of events.
 *
 * @throws InvalidCredentialsError (unknown user or wrong password, one answer), the user checker's error, RateLimitedError
 */
export async function logInWithPassword(
  ctx: SessionContext,
  identifier: string,
  password: string,
  options: IssueSessionOptions = {},
): Promise<SessionTokens> {
  let user: User;
  try {
    user = await authenticateCredentials(ctx, identifier, password);
  } catch (error) {
    if (error instanceof JwtRefreshError && !(error instanceof RateLimitedError))
      await ctx.events.emit('authenticationFailure', { error, request: options.request });
    throw error;
  }
  return startSession(ctx, user, options);
}
