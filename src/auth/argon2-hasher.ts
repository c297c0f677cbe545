import { randomBytes, timingSafeEqual } from 'node:crypto';
import { BadRequestError, ConfigError } from '../errors.js';
import { MAX_PASSWORD_LENGTH, type PasswordHasher } from './password-hasher.js';

/** The Argon2 variants PHP's `password_hash` writes (`PASSWORD_ARGON2ID`, `PASSWORD_ARGON2I`). */
export type Argon2Variant = 'argon2id' | 'argon2i';

/** Parameters of {@link createArgon2Hasher}; the defaults are PHP's and Symfony's. */
export interface Argon2HasherOptions {
  /** Variant of new hashes. Default `argon2id`; hashes of the other variant still verify and are rehashed. */
  variant?: Argon2Variant;
  /** Memory in KiB (`m`). Default 65536 (64 MiB), PHP's `PASSWORD_ARGON2_DEFAULT_MEMORY_COST`. */
  memoryCost?: number;
  /** Passes over the memory (`t`). Default 4, PHP's `PASSWORD_ARGON2_DEFAULT_TIME_COST`. */
  timeCost?: number;
  /** Lanes (`p`). Default 1, as PHP and Symfony write them. */
  parallelism?: number;
}

/** The `argon2` package's API, as far as we use it. */
interface Argon2Binding {
  hash(
    password: string,
    options: {
      raw: true;
      type: 0 | 1 | 2;
      memoryCost: number;
      timeCost: number;
      parallelism: number;
      hashLength: number;
      salt: Buffer;
      version: number;
    },
  ): Promise<Buffer>;
}

const TYPE: Record<Argon2Variant, 1 | 2> = { argon2i: 1, argon2id: 2 };
const VERSION_1_3 = 0x13;
const SALT_BYTES = 16;
const HASH_BYTES = 32;

/**
 * Limits on the parameters of a stored hash (and of the options), so that one
 * tampered or foreign row cannot make a verification allocate gigabytes or run
 * for minutes; the same 1 GiB ceiling as the scrypt hasher.
 */
const MAX_MEMORY_KIB = 1024 * 1024;
const MAX_TIME_COST = 32;
const MAX_PARALLELISM = 16;
const MIN_SALT_BYTES = 8;
const MAX_SALT_BYTES = 64;
const MIN_HASH_BYTES = 16;
const MAX_HASH_BYTES = 256;

interface Argon2Parameters {
  variant: Argon2Variant;
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

interface ParsedHash extends Argon2Parameters {
  salt: Buffer;
  key: Buffer;
}

let binding: Promise<Argon2Binding> | null = null;

/**
 * The `argon2` package (an optional peer dependency), imported on first use.
 *
 * @throws ConfigError naming `npm install argon2` when the package is not installed
 */
export function loadArgon2(): Promise<Argon2Binding> {
  binding ??= import('argon2').then(
    (module) => (module.default ?? module) as unknown as Argon2Binding,
    (error: unknown) => {
      // Not cached: installing the package and retrying works without a restart.
      binding = null;
      const missing = (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND';
      throw new ConfigError(
        missing
          ? 'Argon2 password hashes need the "argon2" package: npm install argon2'
          : 'The "argon2" package is installed but failed to load (its prebuilt binary does not fit this platform?): npm rebuild argon2',
        { cause: error },
      );
    },
  );
  return binding;
}

/**
 * A {@link PasswordHasher} on Argon2 (the `argon2` package's native binding,
 * run on the libuv thread pool), reading and writing PHC strings exactly as
 * PHP's `password_hash` and Symfony's `NativePasswordHasher`/`SodiumPasswordHasher`
 * do: `$argon2id$v=19$m=65536,t=4,p=1$<salt>$<hash>` (unpadded base64), so a
 * Symfony application and this library can share one users table. Hashes of
 * either variant and any parameters within sane limits verify; `needsRehash`
 * reports those that differ from the options.
 *
 * `argon2` is an optional peer dependency, loaded on first use: without it,
 * hashing or verifying an Argon2 hash throws a ConfigError that says to run
 * `npm install argon2`.
 *
 * @throws ConfigError when an option is out of range
 *
 * @example
 * const hasher = createArgon2Hasher(); // m=65536 (KiB), t=4, p=1: PHP's defaults
 * const stored = await hasher.hash('correct horse battery staple');
 * await hasher.verify(stored, 'correct horse battery staple'); // true
 */
export function createArgon2Hasher(options: Argon2HasherOptions = {}): PasswordHasher {
  const configured: Argon2Parameters = {
    variant: options.variant ?? 'argon2id',
    memoryCost: options.memoryCost ?? 65_536,
    timeCost: options.timeCost ?? 4,
    parallelism: options.parallelism ?? 1,
  };
  if (!(configured.variant in TYPE)) throw new ConfigError('argon2 variant: expected "argon2id" or "argon2i"');
  if (!Number.isInteger(configured.parallelism) || configured.parallelism < 1 || configured.parallelism > MAX_PARALLELISM) {
    throw new ConfigError(`argon2 parallelism: expected an integer between 1 and ${MAX_PARALLELISM}`);
  }
  if (!Number.isInteger(configured.timeCost) || configured.timeCost < 1 || configured.timeCost > MAX_TIME_COST) {
    throw new ConfigError(`argon2 timeCost: expected an integer between 1 and ${MAX_TIME_COST}`);
  }
  const minMemory = 8 * configured.parallelism;
  if (!Number.isInteger(configured.memoryCost) || configured.memoryCost < minMemory || configured.memoryCost > MAX_MEMORY_KIB) {
    throw new ConfigError(`argon2 memoryCost: expected KiB between ${minMemory} (8 per lane) and ${MAX_MEMORY_KIB} (1 GiB)`);
  }

  return {
    async hash(plain) {
      if (typeof plain !== 'string' || plain.length > MAX_PASSWORD_LENGTH) {
        throw new BadRequestError(`Password must be a string of at most ${MAX_PASSWORD_LENGTH} characters.`);
      }
      const salt = randomBytes(SALT_BYTES);
      const key = await deriveKey(plain, salt, HASH_BYTES, configured);
      return format({ ...configured, salt, key });
    },

    async verify(hash, plain) {
      if (typeof plain !== 'string' || plain.length > MAX_PASSWORD_LENGTH) return false;
      const parsed = parseArgon2Hash(hash);
      if (parsed === null) {
        // The same work as a wrong password, so timing does not single out accounts with a broken hash.
        await deriveKey(plain, randomBytes(SALT_BYTES), HASH_BYTES, configured);
        return false;
      }
      let key: Buffer;
      try {
        // The stored parameters, not the configured ones: old hashes stay valid after a change.
        key = await deriveKey(plain, parsed.salt, parsed.key.length, parsed);
      } catch (error) {
        if (error instanceof ConfigError) throw error; // the package is missing: the operator must hear of it
        return false;
      }
      return timingSafeEqual(key, parsed.key);
    },

    needsRehash(hash) {
      const parsed = parseArgon2Hash(hash);
      return (
        parsed === null ||
        parsed.variant !== configured.variant ||
        parsed.memoryCost !== configured.memoryCost ||
        parsed.timeCost !== configured.timeCost ||
        parsed.parallelism !== configured.parallelism ||
        parsed.key.length !== HASH_BYTES
      );
    },
  };
}

/** Whether `hash` is an Argon2 PHC string this hasher reads (by its prefix; the parameters may still be refused). */
export function isArgon2Hash(hash: string): boolean {
  return typeof hash === 'string' && (hash.startsWith('$argon2id$') || hash.startsWith('$argon2i$'));
}

async function deriveKey(plain: string, salt: Buffer, hashLength: number, parameters: Argon2Parameters): Promise<Buffer> {
  const argon2 = await loadArgon2();
  return argon2.hash(plain, {
    raw: true,
    type: TYPE[parameters.variant],
    memoryCost: parameters.memoryCost,
    timeCost: parameters.timeCost,
    parallelism: parameters.parallelism,
    hashLength,
    salt,
    version: VERSION_1_3,
  });
}

// libargon2 and libsodium (what PHP verifies with) insist on this order; the `argon2`
// package's own strings put p before t, which PHP would refuse, hence our own encoding.
function format(hash: ParsedHash): string {
  const params = `m=${hash.memoryCost},t=${hash.timeCost},p=${hash.parallelism}`;
  return `$${hash.variant}$v=19$${params}$${toBase64(hash.salt)}$${toBase64(hash.key)}`;
}

const HASH_FORMAT = /^\$(argon2id|argon2i)\$v=19\$([mtp]=\d{1,10}),([mtp]=\d{1,10}),([mtp]=\d{1,10})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/**
 * The parts of an Argon2 PHC string (version 1.3, `v=19`, as PHP writes), or null
 * when it is not one or its parameters are beyond the limits. m, t and p are read
 * in any order, so hashes written by the `argon2` package (m, p, t) verify too.
 */
function parseArgon2Hash(hash: string): ParsedHash | null {
  if (typeof hash !== 'string') return null;
  const match = HASH_FORMAT.exec(hash);
  if (match === null) return null;
  const [, variant, first, second, third, saltText, keyText] = match;
  const params = new Map<string, number>();
  for (const pair of [first, second, third]) {
    const [name, value] = (pair ?? '').split('=');
    if (name === undefined || value === undefined || params.has(name)) return null;
    params.set(name, Number(value));
  }
  const memoryCost = params.get('m');
  const timeCost = params.get('t');
  const parallelism = params.get('p');
  if (memoryCost === undefined || timeCost === undefined || parallelism === undefined) return null;
  if (parallelism < 1 || parallelism > MAX_PARALLELISM || timeCost < 1 || timeCost > MAX_TIME_COST) return null;
  if (memoryCost < 8 * parallelism || memoryCost > MAX_MEMORY_KIB) return null;
  const salt = fromBase64(saltText ?? '');
  const key = fromBase64(keyText ?? '');
  if (salt === null || key === null || salt.length < MIN_SALT_BYTES || salt.length > MAX_SALT_BYTES) return null;
  if (key.length < MIN_HASH_BYTES || key.length > MAX_HASH_BYTES) return null;
  return { variant: variant as Argon2Variant, memoryCost, timeCost, parallelism, salt, key };
}

function toBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/=+$/, '');
}

/** Decodes unpadded base64, refusing non-canonical text (Buffer.from would silently drop stray bits). */
function fromBase64(text: string): Buffer | null {
  const bytes = Buffer.from(text, 'base64');
  return toBase64(bytes) === text ? bytes : null;
}
