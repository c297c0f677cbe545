import { afterEach, expect } from 'vitest';
import type { JwtRefreshOptions } from '../../src/create-jwt-refresh.js';
import type { RefreshTokenRecord, RefreshTokenStore } from '../../src/stores/store.js';
import { createTokenHasher } from '../../src/tokens/hash-token.js';
import { testOptions } from './app-options.js';
import type { MovableClock } from './clock.js';
import type { HttpDriver, TestApp, TestResponse } from './http-driver.js';

export const PASSWORD = 'secret-password';
export const HEX_128 = /^[0-9a-f]{128}$/;
export const sha256 = createTokenHasher(undefined);

export interface Started {
  app: TestApp;
  clock: MovableClock;
  store: RefreshTokenStore;
  users: Awaited<ReturnType<typeof testOptions>>['users'];
  login(username?: string, extra?: Record<string, unknown>): Promise<TestResponse>;
  loginTokens(username?: string): Promise<{ token: string; refresh: string }>;
  refresh(token: unknown, field?: string): Promise<TestResponse>;
}

/** Every stored record, for assertions on store state. */
export async function snapshot(store: RefreshTokenStore, hashes: string[]): Promise<Array<RefreshTokenRecord | null>> {
  return Promise.all(hashes.map((hash) => store.findByHash(hash)));
}

export function body(response: TestResponse): Record<string, unknown> {
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  return response.body as Record<string, unknown>;
}

/**
 * Registers an afterEach that closes every app a test started, and returns
 * `start(options)`: an app on `driver` with the test users, a movable clock
 * and shortcuts for login and refresh.
 */
export function useHttpHarness(driver: HttpDriver): (overrides?: Partial<JwtRefreshOptions>) => Promise<Started> {
  const running: TestApp[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()));
  });
  return async (overrides = {}) => {
    const fixture = await testOptions(overrides);
    const app = await driver.start(fixture.options);
    running.push(app);
    const field = fixture.options.tokenParameterName ?? 'refresh_token';
    const login = (username = 'alice', extra: Record<string, unknown> = {}) =>
      app.request('/api/login_check', { json: { username, password: PASSWORD, ...extra } });
    return {
      app,
      clock: fixture.clock,
      store: fixture.store,
      users: fixture.users,
      login,
      async loginTokens(username = 'alice') {
        const response = await login(username);
        expect(response.status).toBe(200);
        const json = body(response);
        return { token: json.token as string, refresh: json[field] as string };
      },
      refresh: (token, name = field) => app.request('/api/token/refresh', { json: { [name]: token } }),
    };
  };
}
