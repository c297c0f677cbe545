import type { JwtRefreshConfig } from '../config/schema.js';
import type { Logger } from '../logger.js';
import { loadArgon2 } from './argon2-hasher.js';
import { createPasswordHasher } from './create-password-hasher.js';
import {
  createPasswordCheckQueue,
  defaultPasswordCheckConcurrency,
  type PasswordCheckQueue,
  threadPoolSize,
} from './password-check-queue.js';
import { createTimingDummy, type PasswordHasher } from './password-hasher.js';

/** The password side of login, assembled once per instance. */
export interface PasswordChecks {
  readonly passwordHasher: PasswordHasher;
  /** A hash of a random password, verified for unknown users. */
  readonly timingDummy: Promise<string>;
  /** The bound on concurrent and waiting checks. */
  readonly passwordChecks: PasswordCheckQueue;
}

/**
 * Builds the hasher of `passwordHashing` (unless the application brings its
 * own), its timing dummy and the check queue. An `argon2id` configuration
 * loads the `argon2` package now, so a missing package stops the start with
 * `npm install argon2` rather than failing the first login.
 *
 * @throws ConfigError for an out-of-range parameter or a missing `argon2` package
 */
export async function preparePasswordChecks(
  options: JwtRefreshConfig['passwordHashing'],
  passwordHasher: PasswordHasher | undefined,
  logger: Logger,
): Promise<PasswordChecks> {
  let hasher = passwordHasher;
  if (hasher === undefined) {
    hasher = createPasswordHasher(options);
    if (options.algorithm === 'argon2id') await loadArgon2();
  }
  const poolSize = threadPoolSize();
  const concurrency = options.concurrency ?? defaultPasswordCheckConcurrency(undefined, poolSize);
  if (concurrency >= poolSize) {
    logger.warn(
      { concurrency, threadPoolSize: poolSize },
      'jwt-refresh passwordHashing.concurrency leaves no libuv thread free: token routes will wait behind logins (set UV_THREADPOOL_SIZE above it)',
    );
  }
  const timingDummy = createTimingDummy(hasher);
  // Awaited at the first unknown-user login, which reports a failure; not an unhandled rejection meanwhile.
  timingDummy.catch(() => {});
  return {
    passwordHasher: hasher,
    timingDummy,
    passwordChecks: createPasswordCheckQueue({ concurrency, maxQueued: options.maxQueued, retryAfterSeconds: options.retryAfterSeconds }),
  };
}
