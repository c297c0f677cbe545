import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryUserProvider } from '../src/auth/memory-user-provider.js';
import type { User } from '../src/auth/user.js';
import { createJwtRefresh } from '../src/create-jwt-refresh.js';
import { createMemoryStore } from '../src/stores/memory.js';
import { testSigningKey } from './support/app-options.js';
import { ensureBuilt } from './support/cli.js';
import { type RunningServer, spawnServer, killServer } from './support/spawn-server.js';
import { SYMFONY_HASHES } from './support/symfony-hashes.js';

interface StoredUser {
  id: string;
  identifier: string;
  passwordHash: string;
}

/**
 * Users moved from a Symfony application keep their password: their bcrypt
 * or Argon2 hash verifies at login and is replaced by a hash of the configured
 * hasher (Symfony's `migrate_from` + `upgradePassword`), after which they log in as before.
 */
describe('password migration from Symfony', () => {
  let cwd: string;
  let server: RunningServer | null = null;

  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'jwt-refresh-passwords-'));
  });
  afterEach(async () => {
    await killServer(server);
    server = null;
    rmSync(cwd, { recursive: true, force: true });
  });

  async function logIn(username: string, password: string): Promise<number> {
    const response = await fetch(`${server!.baseUrl}/api/login_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    await response.arrayBuffer();
    return response.status;
  }

  it('the standalone server logs in bcrypt and argon2 users of a users file and rewrites their hashes as argon2id', async () => {
    ensureBuilt();
    const usersFile = join(cwd, 'users.json');
    const users = [
      { id: '1', identifier: 'bcrypt-user', roles: ['ROLE_USER'], passwordHash: SYMFONY_HASHES.bcrypt.hash },
      { id: '2', identifier: 'argon2id-user', roles: ['ROLE_USER'], passwordHash: SYMFONY_HASHES.argon2id.hash },
      { id: '3', identifier: 'argon2i-user', roles: ['ROLE_USER'], passwordHash: SYMFONY_HASHES.argon2i.hash },
    ];
    writeFileSync(usersFile, JSON.stringify(users));
    // OWASP's argon2id parameters (m=19 MiB, t=2), not PHP's: the PHP-default argon2id hash is due too.
    const configFile = join(cwd, 'jwt-refresh.json');
    writeFileSync(configFile, JSON.stringify({ passwordHashing: { algorithm: 'argon2id', argon2: { memoryCost: 19_456, timeCost: 2 } } }));
    server = await spawnServer({ USERS_FILE: usersFile, JWT_REFRESH_CONFIG: configFile, LOG_LEVEL: 'warn' }, cwd);
    const stored = () => JSON.parse(readFileSync(usersFile, 'utf8')) as StoredUser[];

    expect(await logIn('bcrypt-user', 'wrong password')).toBe(401);
    expect(stored()[0]?.passwordHash).toBe(SYMFONY_HASHES.bcrypt.hash); // a failed login changes nothing

    expect(await logIn('bcrypt-user', SYMFONY_HASHES.bcrypt.password)).toBe(200);
    expect(await logIn('argon2id-user', SYMFONY_HASHES.argon2id.password)).toBe(200);
    expect(await logIn('argon2i-user', SYMFONY_HASHES.argon2i.password)).toBe(200);
    const upgraded = stored();
    for (const user of upgraded) {
      expect(user.passwordHash, user.identifier).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    }

    // The new hashes work, need no further upgrade, and the old passwords still are the passwords.
    expect(await logIn('bcrypt-user', SYMFONY_HASHES.bcrypt.password)).toBe(200);
    expect(await logIn('argon2i-user', SYMFONY_HASHES.argon2i.password)).toBe(200);
    expect(await logIn('argon2i-user', SYMFONY_HASHES.bcrypt.password)).toBe(401);
    expect(stored()).toEqual(upgraded);
    expect(server.output()).not.toContain('$argon2');
    expect(server.output()).not.toContain('$2y$');
  });

  it('the library rehashes through the user provider’s upgradePassword, to the default scrypt', async () => {
    const users: User[] = [
      { id: 'u-1', identifier: 'symfony-bcrypt', roles: ['ROLE_USER'], passwordHash: SYMFONY_HASHES.bcrypt.hash },
      { id: 'u-2', identifier: 'symfony-argon2id', roles: ['ROLE_USER'], passwordHash: SYMFONY_HASHES.argon2id.hash },
    ];
    const jwtRefresh = await createJwtRefresh({
      jwt: { algorithm: 'ES256', secretKey: await testSigningKey() },
      store: createMemoryStore(),
      userProvider: createMemoryUserProvider(users),
      passwordHashing: { scrypt: { cost: 2 ** 12 } },
    });
    const logInAs = async (username: string, password: string) => {
      const response = await jwtRefresh.handle(
        new Request('http://localhost/api/login_check', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username, password }),
        }),
      );
      return response?.status;
    };

    expect(await logInAs('symfony-bcrypt', SYMFONY_HASHES.bcrypt.password)).toBe(200);
    expect(await logInAs('symfony-argon2id', SYMFONY_HASHES.argon2id.password)).toBe(200);
    for (const user of users) expect(user.passwordHash, user.identifier).toMatch(/^\$scrypt\$ln=12,r=8,p=1\$/);
    const upgraded = users.map((user) => user.passwordHash);
    expect(await logInAs('symfony-bcrypt', SYMFONY_HASHES.bcrypt.password)).toBe(200);
    expect(await logInAs('symfony-argon2id', SYMFONY_HASHES.argon2id.password)).toBe(200);
    expect(users.map((user) => user.passwordHash)).toEqual(upgraded);
    await jwtRefresh.close();
  });
});
