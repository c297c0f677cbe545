import { type Argon2HasherOptions, createArgon2Hasher, isArgon2Hash } from './argon2-hasher.js';
import { type BcryptHasherOptions, createBcryptHasher, isBcryptHash } from './bcrypt-hasher.js';
import { createScryptHasher, type PasswordHasher, type ScryptHasherOptions } from './password-hasher.js';

/** Algorithms new hashes can be made with. */
export const PASSWORD_ALGORITHMS = ['scrypt', 'argon2id', 'bcrypt'] as const;

/** One of {@link PASSWORD_ALGORITHMS}. */
export type PasswordAlgorithm = (typeof PASSWORD_ALGORITHMS)[number];

/** Options of {@link createPasswordHasher}: the algorithm of new hashes and each algorithm's parameters. */
export interface PasswordHasherOptions {
  /** Algorithm of new hashes and of the rehash at login. Default `scrypt`. */
  algorithm?: PasswordAlgorithm;
  scrypt?: ScryptHasherOptions;
  /** `variant` follows `algorithm`; the rest defaults to PHP's m=65536, t=4, p=1. */
  argon2?: Omit<Argon2HasherOptions, 'variant'>;
  bcrypt?: BcryptHasherOptions;
}

/**
 * The password hasher of the configuration: hashes with `algorithm`, and
 * verifies every format jwt-refresh reads, whichever is configured: its own
 * `$scrypt$`, and what a Symfony application stores, bcrypt (`$2y$`, `$2a$`,
 * `$2b$`) and Argon2 PHC strings (`$argon2id$`, `$argon2i$`). `needsRehash` is
 * true for a hash of another format or other parameters, so login stores a
 * fresh hash through `UserProvider.upgradePassword`, as Symfony's
 * `migrate_from` does.
 *
 * @throws ConfigError when a parameter is out of range
 *
 * @example
 * const hasher = createPasswordHasher({ algorithm: 'argon2id' });
 * await hasher.verify('$2y$13$…', password); // a Symfony bcrypt hash: true when right
 * hasher.needsRehash('$2y$13$…'); // true: the next login stores an argon2id hash
 */
export function createPasswordHasher(options: PasswordHasherOptions = {}): PasswordHasher {
  const algorithm = options.algorithm ?? 'scrypt';
  const scrypt = createScryptHasher(options.scrypt);
  const bcrypt = createBcryptHasher(options.bcrypt);
  const argon2 = createArgon2Hasher({ ...options.argon2, variant: 'argon2id' });
  const target = algorithm === 'argon2id' ? argon2 : algorithm === 'bcrypt' ? bcrypt : scrypt;
  const recognizes = algorithm === 'argon2id' ? isArgon2Hash : algorithm === 'bcrypt' ? isBcryptHash : isScryptHash;

  /** The hasher that reads `hash`; the target for a format nobody reads, which answers false after the same work. */
  const readerOf = (hash: string): PasswordHasher =>
    isBcryptHash(hash) ? bcrypt : isArgon2Hash(hash) ? argon2 : isScryptHash(hash) ? scrypt : target;

  return {
    hash: (plain) => target.hash(plain),
    verify: (hash, plain) => readerOf(hash).verify(hash, plain),
    needsRehash: (hash) => !recognizes(hash) || target.needsRehash(hash),
  };
}

function isScryptHash(hash: string): boolean {
  return typeof hash === 'string' && hash.startsWith('$scrypt$');
}
