import { createScryptHasher } from '../../src/auth/password-hasher.js';
import { createMemoryUserProvider } from '../../src/auth/memory-user-provider.js';
import type { User } from '../../src/auth/user.js';
import type { JwtRefreshOptions } from '../../src/create-jwt-refresh.js';
import { generateKeyPair } from '../../src/jwt/generate-key-pair.js';
import { createMemoryStore } from '../../src/stores/memory.js';
import type { RefreshTokenStore } from '../../src/stores/store.js';
import { movableClock, type MovableClock } from './clock.js';

/** A cheap hasher so login-heavy tests stay fast; the real cost is tested in password-hasher.test.ts. */
export const testHasher = createScryptHasher({ cost: 2 ** 10 });

let keyPem: Promise<string> | null = null;
/** One ES256 private key per test process. */
export function testSigningKey(): Promise<string> {
  keyPem ??= generateKeyPair('ES256').then((keys) => keys.privateKeyPem ?? '');
  return keyPem;
}

export interface TestFixture {
  options: JwtRefreshOptions;
  clock: MovableClock;
  users: User[];
  store: RefreshTokenStore;
}

/**
 * Options for an app with users alice (ROLE_USER), bob (ROLE_USER, ROLE_ADMIN)
 * and carol (disabled), all with password "secret-password".
 */
export async function testOptions(overrides: Partial<JwtRefreshOptions> = {}): Promise<TestFixture> {
  const passwordHash = await testHasher.hash('secret-password');
  const users: User[] = [
    { id: 'u-alice', identifier: 'alice', roles: ['ROLE_USER'], passwordHash, enabled: true },
    { id: 'u-bob', identifier: 'bob', roles: ['ROLE_USER', 'ROLE_ADMIN'], passwordHash, enabled: true },
    { id: 'u-carol', identifier: 'carol', roles: ['ROLE_USER'], passwordHash, enabled: false },
  ];
  const clock = movableClock();
  const store = overrides.store ?? createMemoryStore();
  const { jwt, ...rest } = overrides;
  const options: JwtRefreshOptions = {
    store,
    userProvider: createMemoryUserProvider(users),
    passwordHasher: testHasher,
    now: clock,
    secret: 'test-server-secret-0123456789',
    ...rest,
    jwt: { algorithm: 'ES256', secretKey: await testSigningKey(), ...jwt },
  };
  return { options, clock, users, store };
}
