import { createHash } from 'node:crypto';
import { BadRequestError, ConfigError } from '../errors.js';
import { runBcryptJob } from './bcrypt-worker.js';
import { MAX_PASSWORD_LENGTH, type PasswordHasher } from './password-hasher.js';

/** Parameters of {@link createBcryptHasher}. */
export interface BcryptHasherOptions {
  /** log2 of the rounds, 4 to {@link MAX_BCRYPT_COST}. Default 13, Symfony's. */
  cost?: number;
}

/**
 * Highest cost verified or configured. bcryptjs takes about 0.45 s at cost 13
 * on a 2024 server core and twice that per step above: a tampered or foreign
 * row must not occupy the bcrypt worker for minutes.
 */
export const MAX_BCRYPT_COST = 16;

/** bcrypt uses the first 72 bytes of the password and stops at a NUL byte. */
const BCRYPT_MAX_BYTES = 72;
const HASH_FORMAT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;

/**
 * A {@link PasswordHasher} on bcrypt (bcryptjs, run in a worker thread so the
 * event loop never waits for it), for the `$2y$` hashes a
 * Symfony application has (`auto`, `bcrypt` and `native` hashers) and the
 * `$2a$`/`$2b$` of other stacks. `$2y$` and `$2b$` are the same algorithm
 * (PHP's name for the fixed implementation), so new hashes are written as
 * `$2y$`, which PHP's `password_verify` reads.
 *
 * Passwords longer than 72 bytes or containing a NUL byte are first replaced
 * by base64(SHA-512(password)), exactly as Symfony's `NativePasswordHasher`
 * does, so such passwords set in Symfony verify here and are not truncated.
 *
 * @throws ConfigError when the cost is out of range
 *
 * @example
 * const hasher = createBcryptHasher({ cost: 13 });
 * await hasher.verify('$2y$13$…', 'the password'); // a hash from a Symfony users table
 */
export function createBcryptHasher(options: BcryptHasherOptions = {}): PasswordHasher {
  const cost = options.cost ?? 13;
  if (!Number.isInteger(cost) || cost < 4 || cost > MAX_BCRYPT_COST) {
    throw new ConfigError(`bcrypt cost: expected an integer between 4 and ${MAX_BCRYPT_COST}`);
  }

  return {
    async hash(plain) {
      if (typeof plain !== 'string' || plain.length > MAX_PASSWORD_LENGTH) {
        throw new BadRequestError(`Password must be a string of at most ${MAX_PASSWORD_LENGTH} characters.`);
      }
      const hash = await runBcryptJob({ op: 'hash', password: symfonyPrehash(plain), cost });
      return `$2y$${hash.slice(4)}`;
    },

    async verify(hash, plain) {
      if (typeof plain !== 'string' || plain.length > MAX_PASSWORD_LENGTH) return false;
      const storedCost = bcryptCost(hash);
      if (storedCost === null) {
        // The same work as a wrong password, so timing does not single out accounts with a broken hash.
        await runBcryptJob({ op: 'hash', password: plain.slice(0, BCRYPT_MAX_BYTES), cost });
        return false;
      }
      try {
        return await runBcryptJob({ op: 'compare', password: symfonyPrehash(plain), hash });
      } catch {
        return false;
      }
    },

    needsRehash(hash) {
      // As PHP's password_needs_rehash: the algorithm and the cost, whatever the minor version.
      return bcryptCost(hash) !== cost;
    },
  };
}

/** Whether `hash` is a bcrypt hash by its prefix (`$2a$`, `$2b$`, `$2y$`); its cost may still be refused. */
export function isBcryptHash(hash: string): boolean {
  return typeof hash === 'string' && /^\$2[aby]\$/.test(hash);
}

/** The cost of a well-formed bcrypt hash within the limits, else null. */
function bcryptCost(hash: string): number | null {
  if (typeof hash !== 'string') return null;
  const match = HASH_FORMAT.exec(hash);
  if (match === null) return null;
  const cost = Number(match[1]);
  return cost >= 4 && cost <= MAX_BCRYPT_COST ? cost : null;
}

/** Symfony's NativePasswordHasher: bcrypt cuts at NUL and after 72 bytes, so such passwords are hashed first. */
function symfonyPrehash(plain: string): string {
  if (Buffer.byteLength(plain, 'utf8') <= BCRYPT_MAX_BYTES && !plain.includes('\0')) return plain;
  return createHash('sha512').update(plain, 'utf8').digest('base64');
}
