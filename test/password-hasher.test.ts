import { describe, expect, it } from 'vitest';
import { createScryptHasher, createTimingDummy, MAX_PASSWORD_LENGTH } from '../src/auth/password-hasher.js';
import { BadRequestError, ConfigError } from '../src/errors.js';

// A low cost keeps the suite fast; one test below runs the default.
const hasher = createScryptHasher({ cost: 2 ** 10 });

describe('scrypt password hasher', () => {
  it('verifies the password it hashed', async () => {
    const hash = await hasher.hash('correct horse battery staple');
    expect(hash).toMatch(/^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    await expect(hasher.verify(hash, 'correct horse battery staple')).resolves.toBe(true);
  });

  it('rejects a wrong password', async () => {
    const hash = await hasher.hash('correct horse battery staple');
    await expect(hasher.verify(hash, 'correct horse battery stapler')).resolves.toBe(false);
    await expect(hasher.verify(hash, '')).resolves.toBe(false);
  });

  it('handles non-ASCII passwords', async () => {
    const hash = await hasher.hash('pässwörd 🔑');
    await expect(hasher.verify(hash, 'pässwörd 🔑')).resolves.toBe(true);
    await expect(hasher.verify(hash, 'passwörd 🔑')).resolves.toBe(false);
  });

  it('uses a fresh salt for every hash', async () => {
    const [first, second] = await Promise.all([hasher.hash('same password'), hasher.hash('same password')]);
    expect(first).not.toBe(second);
    expect(first?.split('$')[3]).not.toBe(second?.split('$')[3]);
  });

  it('answers false, never throws, for a malformed hash', async () => {
    const good = await hasher.hash('secret');
    const [, , params, salt, key] = good.split('$');
    const malformed = [
      '',
      'not a hash',
      '$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234', // bcrypt
      `$scrypt$${params}$${salt}`, // no key
      `$scrypt$ln=10,r=8$${salt}$${key}`, // no p
      `$scrypt$ln=0,r=8,p=1$${salt}$${key}`,
      `$scrypt$ln=10,r=8,p=1$${salt}$${key}$extra`,
      `$scrypt$${params}$${salt}$${key}==`, // padded
      `$scrypt$${params}$${salt}$${key?.slice(0, -1)}B`, // non-canonical base64 tail
      `$scrypt$${params}$${salt}$AAAA`, // key too short
      `$scrypt$ln=40,r=8,p=1$${salt}$${key}`, // cost beyond the limit
      `$scrypt$ln=21,r=1024,p=1$${salt}$${key}`, // memory beyond the limit
      `$argon2id$${params}$${salt}$${key}`,
    ];
    for (const hash of malformed) {
      await expect(hasher.verify(hash, 'secret'), hash).resolves.toBe(false);
    }
    // Not a string at all, as a JavaScript caller might pass from a database row.
    await expect(hasher.verify(null as unknown as string, 'secret')).resolves.toBe(false);
  });

  it('verifies with the parameters stored in the hash, whatever the configured ones', async () => {
    const old = await createScryptHasher({ cost: 2 ** 11, blockSize: 4 }).hash('secret');
    await expect(hasher.verify(old, 'secret')).resolves.toBe(true);
  });

  it('asks for a rehash when the stored parameters differ from the configured ones', async () => {
    const hash = await hasher.hash('secret');
    expect(hasher.needsRehash(hash)).toBe(false);
    expect(createScryptHasher({ cost: 2 ** 11 }).needsRehash(hash)).toBe(true);
    expect(createScryptHasher({ cost: 2 ** 10, blockSize: 16 }).needsRehash(hash)).toBe(true);
    expect(createScryptHasher({ cost: 2 ** 10, parallelization: 2 }).needsRehash(hash)).toBe(true);
    expect(createScryptHasher({ cost: 2 ** 10, keyLength: 64 }).needsRehash(hash)).toBe(true);
    expect(hasher.needsRehash('not a hash')).toBe(true);
  });

  it('refuses an overlong password without hashing it', async () => {
    const hash = await hasher.hash('secret');
    const overlong = 'a'.repeat(MAX_PASSWORD_LENGTH + 1);
    // A cost that would take far too long to hash proves no hashing happens.
    const slow = createScryptHasher({ cost: 2 ** 22, blockSize: 1 });
    const started = performance.now();
    await expect(slow.verify(hash, overlong)).resolves.toBe(false);
    expect(performance.now() - started).toBeLessThan(100);
    await expect(hasher.verify(hash, overlong)).resolves.toBe(false);
    await expect(hasher.hash(overlong)).rejects.toBeInstanceOf(BadRequestError);
    // The limit itself is allowed.
    const longest = 'b'.repeat(MAX_PASSWORD_LENGTH);
    await expect(hasher.verify(await hasher.hash(longest), longest)).resolves.toBe(true);
  });

  it('refuses out-of-range options', () => {
    expect(() => createScryptHasher({ cost: 1000 })).toThrow(ConfigError);
    expect(() => createScryptHasher({ cost: 2 ** 10, blockSize: 0 })).toThrow(ConfigError);
    expect(() => createScryptHasher({ cost: 2 ** 10, parallelization: 1.5 })).toThrow(ConfigError);
    expect(() => createScryptHasher({ cost: 2 ** 10, keyLength: 8 })).toThrow(ConfigError);
    expect(() => createScryptHasher({ cost: 2 ** 22, blockSize: 8 })).toThrow(ConfigError);
  });

  it('makes a timing dummy that no password verifies', async () => {
    const dummy = await createTimingDummy(hasher);
    expect(hasher.needsRehash(dummy)).toBe(false);
    await expect(hasher.verify(dummy, '')).resolves.toBe(false);
    await expect(hasher.verify(dummy, 'password')).resolves.toBe(false);
  });

  it('works with the default parameters (N=2^15, r=8, p=1), above node’s default scrypt memory cap', async () => {
    const standard = createScryptHasher();
    const hash = await standard.hash('secret');
    expect(hash.startsWith('$scrypt$ln=15,r=8,p=1$')).toBe(true);
    await expect(standard.verify(hash, 'secret')).resolves.toBe(true);
    expect(standard.needsRehash(hash)).toBe(false);
    expect(standard.needsRehash(await hasher.hash('secret'))).toBe(true);
  });
});
