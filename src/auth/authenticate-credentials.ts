import { InvalidCredentialsError } from '../errors.js';
import { describeError, type Logger } from '../logger.js';
import type { PasswordCheckQueue } from './password-check-queue.js';
import type { PasswordHasher } from './password-hasher.js';
import type { User, UserChecker, UserProvider } from './user.js';

/** What login needs to check a username and password. */
export interface CredentialsContext {
  readonly userProvider: UserProvider;
  readonly userChecker: UserChecker;
  readonly passwordHasher: PasswordHasher;
  /** A hash of a random password, verified for unknown users so timing does not tell them apart. */
  readonly timingDummy: Promise<string>;
  /** Bounds concurrent and waiting password checks; a full queue refuses the login at once. */
  readonly passwordChecks: PasswordCheckQueue;
  /** Told of a failed password upgrade, which does not fail the login. */
  readonly logger: Logger;
}

/**
 * Checks a username and password (SPEC §2) and returns the user.
 *
 * The whole check (user lookup, hashing, rehash) holds one slot of
 * `passwordChecks`, so an unknown user, whose dummy verification costs the
 * same hashing, counts against the same bound as a known one, and a refused
 * login costs neither a lookup nor a hash.
 *
 * An unknown user and a wrong password get the same error after the same
 * amount of hashing work. The user checker's pre-auth verdict is only revealed
 * to a caller who knew the password, so "Account is disabled." is no oracle.
 *
 * @throws InvalidCredentialsError, the user checker's error (e.g. AccountDisabledError), RateLimitedError when the queue is full
 */
export function authenticateCredentials(ctx: CredentialsContext, identifier: string, password: string): Promise<User> {
  return ctx.passwordChecks.run(() => checkCredentials(ctx, identifier, password));
}

async function checkCredentials(ctx: CredentialsContext, identifier: string, password: string): Promise<User> {
  const user = await ctx.userProvider.loadUserByIdentifier(identifier);
  if (user === null || user.passwordHash === undefined) {
    await ctx.passwordHasher.verify(await ctx.timingDummy, password);
    throw new InvalidCredentialsError();
  }
  let preAuthError: unknown = null;
  try {
    await ctx.userChecker.checkPreAuth(user);
  } catch (error) {
    preAuthError = error;
  }
  const valid = await ctx.passwordHasher.verify(user.passwordHash, password);
  if (!valid) throw new InvalidCredentialsError();
  if (preAuthError !== null) throw preAuthError;
  await ctx.userChecker.checkPostAuth(user);
  if (ctx.passwordHasher.needsRehash(user.passwordHash) && ctx.userProvider.upgradePassword !== undefined) {
    // The credentials were right: a rehash that cannot be saved now is tried again at the next login.
    try {
      await ctx.userProvider.upgradePassword(user, await ctx.passwordHasher.hash(password));
    } catch (error) {
      ctx.logger.error({ error: describeError(error) }, 'jwt-refresh password upgrade failed');
    }
  }
  return user;
}
