import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createArgon2Hasher } from '../src/auth/argon2-hasher.js';
import { createBcryptHasher } from '../src/auth/bcrypt-hasher.js';
import { createPasswordHasher } from '../src/auth/create-password-hasher.js';
import { defaultPasswordCheckConcurrency } from '../src/auth/password-check-queue.js';
import { ConfigError } from '../src/errors.js';
import { ensureBuilt } from './support/cli.js';
import { SYMFONY_HASHES } from './support/symfony-hashes.js';

/**
 * Hashes a Symfony application stores verify, and come out of `needsRehash`
 * as due for the configured hasher (Symfony's `migrate_from`). The fixtures
 * are fixed strings made by the real algorithms (see test/support/symfony-hashes.ts).
 */
describe('password formats from Symfony', () => {
  // Cheap parameters for the work done on malformed hashes; stored hashes verify with their own.
  const scrypt = createPasswordHasher({ scrypt: { cost: 2 ** 10 }, bcrypt: { cost: 4 }, argon2: { memoryCost: 1024, timeCost: 1 } });

  it('verifies bcrypt $2y$, $2a$ and the PHP manual’s own hash, and refuses wrong passwords', async () => {
    for (const fixture of [SYMFONY_HASHES.bcrypt, SYMFONY_HASHES.bcrypt2a, SYMFONY_HASHES.phpManualBcrypt]) {
      await expect(scrypt.verify(fixture.hash, fixture.password), fixture.hash).resolves.toBe(true);
      await expect(scrypt.verify(fixture.hash, `${fixture.password}x`), fixture.hash).resolves.toBe(false);
      expect(scrypt.needsRehash(fixture.hash)).toBe(true);
    }
  });

  it('verifies a password over 72 bytes as Symfony hashed it (base64 of SHA-512 first), not truncated', async () => {
    const { hash, password } = SYMFONY_HASHES.bcryptLong;
    expect(Buffer.byteLength(password)).toBeGreaterThan(72);
    await expect(scrypt.verify(hash, password)).resolves.toBe(true);
    // Same first 72 bytes, different tail: plain bcrypt would accept it.
    await expect(scrypt.verify(hash, `${password.slice(0, 80)}different tail`)).resolves.toBe(false);
  });

  it('verifies argon2id and argon2i PHC strings as password_hash writes them (m=65536,t=4,p=1)', async () => {
    for (const fixture of [SYMFONY_HASHES.argon2id, SYMFONY_HASHES.argon2i, SYMFONY_HASHES.phpManualArgon2i]) {
      await expect(scrypt.verify(fixture.hash, fixture.password), fixture.hash).resolves.toBe(true);
      await expect(scrypt.verify(fixture.hash, `${fixture.password}x`), fixture.hash).resolves.toBe(false);
      expect(scrypt.needsRehash(fixture.hash)).toBe(true);
    }
  });

  it('asks for a rehash by format and parameters, as password_needs_rehash does', () => {
    const argon2 = createPasswordHasher({ algorithm: 'argon2id' });
    expect(argon2.needsRehash(SYMFONY_HASHES.argon2id.hash)).toBe(false); // PHP's defaults are ours
    expect(argon2.needsRehash(SYMFONY_HASHES.argon2i.hash)).toBe(true); // other variant
    expect(argon2.needsRehash(SYMFONY_HASHES.bcrypt.hash)).toBe(true);
    expect(createPasswordHasher({ algorithm: 'argon2id', argon2: { timeCost: 3 } }).needsRehash(SYMFONY_HASHES.argon2id.hash)).toBe(true);
    const bcrypt = createPasswordHasher({ algorithm: 'bcrypt', bcrypt: { cost: 10 } });
    expect(bcrypt.needsRehash(SYMFONY_HASHES.bcrypt.hash)).toBe(false); // $2y$10$
    expect(bcrypt.needsRehash(SYMFONY_HASHES.bcrypt2a.hash)).toBe(true); // cost 4
    expect(bcrypt.needsRehash(SYMFONY_HASHES.argon2id.hash)).toBe(true);
  });

  it('writes argon2id in PHP’s parameter order and bcrypt as $2y$, both verifiable again', async () => {
    const argon2 = createArgon2Hasher({ memoryCost: 1024, timeCost: 2 });
    const argonHash = await argon2.hash('pässwörd');
    expect(argonHash).toMatch(/^\$argon2id\$v=19\$m=1024,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    await expect(argon2.verify(argonHash, 'pässwörd')).resolves.toBe(true);
    const bcrypt = createBcryptHasher({ cost: 4 });
    const bcryptHash = await bcrypt.hash('pässwörd');
    expect(bcryptHash).toMatch(/^\$2y\$04\$[./A-Za-z0-9]{53}$/);
    await expect(bcrypt.verify(bcryptHash, 'pässwörd')).resolves.toBe(true);
  });

  it('answers false, never throws, for malformed hashes and parameters beyond the limits', async () => {
    const { hash } = SYMFONY_HASHES.argon2id;
    const salt = hash.split('$')[4];
    const key = hash.split('$')[5];
    for (const malformed of [
      '$2y$10$short',
      '$2y$31$xABid9B2pTg9HZHOQx1dQOlNEtyLoqOcV2ZU.EWT7VE3vGt83pk9u', // cost 31: hours of main-thread work
      `$argon2id$v=19$m=4194304,t=4,p=1$${salt}$${key}`, // 4 GiB
      `$argon2id$v=19$m=65536,t=400,p=1$${salt}$${key}`,
      `$argon2id$v=16$m=65536,t=4,p=1$${salt}$${key}`, // pre-1.3, never written by PHP
      `$argon2id$v=19$m=65536,t=4$${salt}$${key}`,
      `$argon2id$v=19$m=65536,m=4,p=1$${salt}$${key}`,
      `$argon2id$v=19$m=65536,t=4,p=1$${salt}$${key}==`,
      `$argon2d$v=19$m=65536,t=4,p=1$${salt}$${key}`,
    ]) {
      await expect(scrypt.verify(malformed, 'password'), malformed).resolves.toBe(false);
    }
  });

  it('verifies bcrypt off the event loop, which keeps turning meanwhile', async () => {
    const bcrypt = createBcryptHasher({ cost: 12 });
    const hash = await bcrypt.hash('secret');
    let done = false;
    const verification = bcrypt.verify(hash, 'secret').finally(() => (done = true));
    // bcryptjs on the main thread yields once per 100 ms slice: a cost-12 check (~0.2 s or more)
    // would let the loop turn a handful of times. In the worker the loop is free all along.
    let turns = 0;
    while (!done) {
      await new Promise((resolve) => setImmediate(resolve));
      turns += 1;
    }
    await expect(verification).resolves.toBe(true);
    expect(turns).toBeGreaterThan(100);
  });

  it('refuses out-of-range options', () => {
    expect(() => createBcryptHasher({ cost: 3 })).toThrow(ConfigError);
    expect(() => createBcryptHasher({ cost: 17 })).toThrow(ConfigError);
    expect(() => createArgon2Hasher({ memoryCost: 4 })).toThrow(ConfigError);
    expect(() => createArgon2Hasher({ parallelism: 0 })).toThrow(ConfigError);
  });

  it('names `npm install argon2` when an argon2 hash meets a machine without the package', () => {
    // A resolve hook makes `argon2` missing, as on an install without the optional peer.
    const hook = `export async function resolve(s, c, n) { if (s === 'argon2') { const e = new Error("Cannot find package 'argon2'"); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; } return n(s, c); }`;
    const register = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`;
    ensureBuilt();
    const script = `const { createPasswordHasher } = await import('./dist/index.js');
      try { await createPasswordHasher().verify(${JSON.stringify(SYMFONY_HASHES.argon2id.hash)}, 'x'); console.log('no error'); }
      catch (error) { console.log(error.name + ': ' + error.message); }`;
    const child = spawnSync(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', script],
      { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' },
    );
    expect(child.stdout).toContain('ConfigError: Argon2 password hashes need the "argon2" package: npm install argon2');
  });

  it('sizes the default concurrency below the thread pool and the cores', () => {
    expect(defaultPasswordCheckConcurrency(2, 4)).toBe(1);
    expect(defaultPasswordCheckConcurrency(16, 4)).toBe(2); // the default pool keeps 2 threads free
    expect(defaultPasswordCheckConcurrency(16, 17)).toBe(15); // the server's pool: cores + 1
    expect(defaultPasswordCheckConcurrency(1, 4)).toBe(1);
  });
});
