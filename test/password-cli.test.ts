import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPasswordHasher } from '../src/auth/create-password-hasher.js';
import { CLI, ensureBuilt, runCli } from './support/cli.js';

/** `jwt-refresh hash-password` makes the hash login would make: the config file's algorithm, or `--algorithm`. */
describe('hash-password with the configured algorithm', () => {
  let cwd: string;
  const verifier = createPasswordHasher();
  beforeAll(() => {
    ensureBuilt();
    cwd = mkdtempSync(join(tmpdir(), 'jwt-refresh-hash-cli-'));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));

  it('prints argon2id (PHP’s format and defaults) and bcrypt ($2y$) hashes that verify', async () => {
    const argon2 = await runCli(['hash-password', '--algorithm', 'argon2id'], { cwd, input: 'correct horse\n' });
    expect(argon2.status, argon2.stderr).toBe(0);
    expect(argon2.stdout).toMatch(/^\$argon2id\$v=19\$m=65536,t=4,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}\n$/);
    await expect(verifier.verify(argon2.stdout.trim(), 'correct horse')).resolves.toBe(true);

    const bcrypt = await runCli(['hash-password', '--algorithm', 'bcrypt', '--password', 'correct horse'], { cwd });
    expect(bcrypt.status, bcrypt.stderr).toBe(0);
    expect(bcrypt.stdout).toMatch(/^\$2y\$13\$[./A-Za-z0-9]{53}\n$/);
    await expect(verifier.verify(bcrypt.stdout.trim(), 'correct horse')).resolves.toBe(true);

    const unknown = await runCli(['hash-password', '--algorithm', 'md5', '--password', 'x'], { cwd });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('expected one of scrypt, argon2id, bcrypt');
  });

  it('follows passwordHashing in the config file', async () => {
    const configFile = join(cwd, 'jwt-refresh.json');
    writeFileSync(configFile, JSON.stringify({ passwordHashing: { algorithm: 'argon2id', argon2: { memoryCost: 19_456, timeCost: 2 } } }));
    const result = await runCli(['hash-password', '--password', 'pw'], { cwd, env: { JWT_REFRESH_CONFIG: configFile } });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  });

  it('exits 2 naming `npm install argon2` when the package is missing', () => {
    // A resolve hook makes `argon2` missing, as on an install without the optional peer.
    const hook = `export async function resolve(s, c, n) { if (s === 'argon2') { const e = new Error("Cannot find package 'argon2'"); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; } return n(s, c); }`;
    const register = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));`;
    const child = spawnSync(
      process.execPath,
      [
        '--import',
        `data:text/javascript,${encodeURIComponent(register)}`,
        CLI,
        'hash-password',
        '--algorithm',
        'argon2id',
        '--password',
        'pw',
      ],
      { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } },
    );
    expect(child.status).toBe(2);
    expect(child.stderr).toBe('jwt-refresh: hash-password --algorithm argon2id needs the "argon2" package: npm install argon2\n');
    expect(child.stdout).toBe('');
  });
});
