import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { BadRequestError, ConfigError } from '../errors.js';

/**
 * Hashes and checks passwords (Symfony's PasswordHasher). Login verifies with
 * it and, when `needsRehash` says the stored hash was made with other
 * parameters, stores a fresh hash through `UserProvider.upgradePassword`.
 *
 * @example
 * const hasher = createScryptHasher();
 * const stored = await hasher.hash('correct horse battery staple');
 * await hasher.verify(stored, 'correct horse battery staple'); // true
 */
export interface PasswordHasher {
  /** A new hash of `plain`, with a fresh random salt. */
  hash(plain: string): Promise<string>;
  /** Whether `plain` matches `hash`. false, never an exception, for a malformed hash. */
  verify(hash: string, plain: string): Promise<boolean>;
  /** Whether `hash` was made with other parameters than the hasher's, so it should be replaced at the next login. */
  needsRehash(hash: string): boolean;
}

/** Parameters of {@link createScryptHasher}. */
export interface ScryptHasherOptions {
  /** CPU/memory cost N, a power of two. Default 2^15 (OWASP's minimum for scrypt). */
  cost?: number;
  /** Block size r. Default 8. */
  blockSize?: number;
  /** Parallelization p. Default 1. */
  parallelization?: number;
  /** Derived key length in bytes. Default 32. */
  keyLength?: number;
}

/**
 * Longest password accepted, in UTF-16 code units. Hashing is deliberately
 * slow and its input unbounded, so a huge "password" would be a cheap DoS.
 */
export const MAX_PASSWORD_LENGTH = 4096;

const SALT_BYTES = 16;

/**
 * Limits on parameters, checked for the options and for every stored hash:
 * without them a tampered or foreign hash could make one verification
 * allocate gigabytes, and the options could make hashes that verify refuses.
 */
const MAX_LOG2_COST = 22;
const MAX_BLOCK_SIZE = 1024;
const MAX_PARALLELIZATION = 16;
const MAX_MEMORY_BYTES = 1024 ** 3;
const MIN_KEY_BYTES = 16;
const MAX_KEY_BYTES = 256;
const MAX_SALT_BYTES = 64;

interface ScryptParameters {
  log2Cost: number;
  blockSize: number;
  parallelization: number;
}

interface ParsedHash extends ScryptParameters {
  salt: Buffer;
  key: Buffer;
}

/**
 * A {@link PasswordHasher} on node:crypto's scrypt, run on the libuv thread pool.
 *
 * Hashes look like PHC strings: `$scrypt$ln=15,r=8,p=1$<salt>$<key>`, with the
 * salt and key in unpadded base64. A hash records its own parameters, so
 * changing the options keeps old hashes verifiable and `needsRehash` reports them.
 *
 * @throws ConfigError when an option is out of range (e.g. a cost that is not a power of two)
 *
 * @example
 * const hasher = createScryptHasher({ cost: 2 ** 16 });
 * const stored = await hasher.hash(password);
 * if (await hasher.verify(stored, attempt) && hasher.needsRehash(stored)) {
 *   await users.savePasswordHash(user, await hasher.hash(attempt));
 * }
 */
export function createScryptHasher(options: ScryptHasherOptions = {}): PasswordHasher {
  const cost = options.cost ?? 2 ** 15;
  const blockSize = options.blockSize ?? 8;
  const parallelization = options.parallelization ?? 1;
  const keyLength = options.keyLength ?? 32;

  const log2Cost = Math.log2(cost);
  if (!Number.isInteger(log2Cost) || log2Cost < 1 || log2Cost > MAX_LOG2_COST) {
    throw new ConfigError(`scrypt cost: expected a power of two between 2 and 2^${MAX_LOG2_COST}`);
  }
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE) {
    throw new ConfigError(`scrypt blockSize: expected an integer between 1 and ${MAX_BLOCK_SIZE}`);
  }
  if (!Number.isInteger(parallelization) || parallelization < 1 || parallelization > MAX_PARALLELIZATION) {
    throw new ConfigError(`scrypt parallelization: expected an integer between 1 and ${MAX_PARALLELIZATION}`);
  }
  if (!Number.isInteger(keyLength) || keyLength < MIN_KEY_BYTES || keyLength > MAX_KEY_BYTES) {
    throw new ConfigError(`scrypt keyLength: expected an integer between ${MIN_KEY_BYTES} and ${MAX_KEY_BYTES}`);
  }
  if (memoryBytes({ log2Cost, blockSize, parallelization }) > MAX_MEMORY_BYTES) {
    throw new ConfigError('scrypt cost and blockSize: together they need more than 1 GiB (128 * blockSize * cost bytes)');
  }
  const configured: ScryptParameters = { log2Cost, blockSize, parallelization };

  return {
    async hash(plain) {
      // Refused rather than hashed: a password that verify() would always reject must not be stored.
      if (typeof plain !== 'string' || plain.length > MAX_PASSWORD_LENGTH) {
        throw new BadRequestError(`Password must be a string of at most ${MAX_PASSWORD_LENGTH} characters.`);
      }
      const salt = randomBytes(SALT_BYTES);
      const key = await deriveKey(plain, salt, keyLength, configured);
      return format({ ...configured, salt, key });
    },

    async verify(hash, plain) {
      if (typeof plain !== 'string' || plain.length > MAX_PASSWORD_LENGTH) return false;
      const parsed = parseHash(hash);
      if (parsed === null) {
        // A hash of another scheme (say, bcrypt rows carried over from Symfony) costs the same
        // work as a wrong password, so timing does not single out those accounts.
        await deriveKey(plain, randomBytes(SALT_BYTES), keyLength, configured);
        return false;
      }
      try {
        // The stored parameters, not the configured ones: old hashes stay valid after a change.
        const key = await deriveKey(plain, parsed.salt, parsed.key.length, parsed);
        return timingSafeEqual(key, parsed.key);
      } catch {
        // Parameters that passed parsing but that OpenSSL refuses still mean "no match".
        return false;
      }
    },

    needsRehash(hash) {
      const parsed = parseHash(hash);
      return (
        parsed === null ||
        parsed.log2Cost !== configured.log2Cost ||
        parsed.blockSize !== configured.blockSize ||
        parsed.parallelization !== configured.parallelization ||
        parsed.key.length !== keyLength
      );
    },
  };
}

/**
 * A hash of a random password, for login to verify against when the user is
 * unknown, so that case costs the same scrypt work as a wrong password (SPEC §2:
 * comparable timing). Make it once at start and reuse it.
 *
 * @example
 * const timingDummy = createTimingDummy(hasher);
 * // at login, for an unknown user:
 * await hasher.verify(await timingDummy, password);
 * throw new InvalidCredentialsError();
 */
export async function createTimingDummy(hasher: PasswordHasher): Promise<string> {
  return hasher.hash(randomBytes(32).toString('base64url'));
}

function deriveKey(plain: string, salt: Buffer, keyLength: number, parameters: ScryptParameters): Promise<Buffer> {
  const options: ScryptOptions = {
    N: 2 ** parameters.log2Cost,
    r: parameters.blockSize,
    p: parameters.parallelization,
    // Node's default cap (32 MiB) is just below what N=2^15, r=8 needs.
    maxmem: memoryBytes(parameters) + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(plain, salt, keyLength, options, (error, key) => (error === null ? resolve(key) : reject(error)));
  });
}

/** What OpenSSL's scrypt allocates: 128·r·(N + p + 2) bytes. */
function memoryBytes(parameters: ScryptParameters): number {
  return 128 * parameters.blockSize * (2 ** parameters.log2Cost + parameters.parallelization + 2);
}

function format(hash: ParsedHash): string {
  const params = `ln=${hash.log2Cost},r=${hash.blockSize},p=${hash.parallelization}`;
  return `$scrypt$${params}$${toBase64(hash.salt)}$${toBase64(hash.key)}`;
}

const HASH_FORMAT = /^\$scrypt\$ln=([1-9]\d?),r=([1-9]\d{0,3}),p=([1-9]\d{0,3})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** The parts of a stored hash, or null when it is not one of ours or its parameters are beyond sane limits. */
function parseHash(hash: string): ParsedHash | null {
  if (typeof hash !== 'string') return null;
  const match = HASH_FORMAT.exec(hash);
  if (match === null) return null;
  const [, ln, r, p, saltText, keyText] = match;
  if (ln === undefined || r === undefined || p === undefined || saltText === undefined || keyText === undefined) {
    return null;
  }
  const log2Cost = Number(ln);
  const blockSize = Number(r);
  const parallelization = Number(p);
  if (log2Cost > MAX_LOG2_COST || blockSize > MAX_BLOCK_SIZE || parallelization > MAX_PARALLELIZATION) return null;
  if (memoryBytes({ log2Cost, blockSize, parallelization }) > MAX_MEMORY_BYTES) return null;

  const salt = fromBase64(saltText);
  const key = fromBase64(keyText);
  if (salt === null || key === null || salt.length === 0 || salt.length > MAX_SALT_BYTES) return null;
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) return null;
  return { log2Cost, blockSize, parallelization, salt, key };
}

function toBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

/** Decodes unpadded base64, refusing non-canonical text (Buffer.from would silently drop stray bits). */
function fromBase64(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64');
  return toBase64(bytes) === text ? bytes : null;
}
