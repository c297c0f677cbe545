import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import type { JwtRefreshOptions } from '../src/create-jwt-refresh.js';
import { testOptions } from './support/app-options.js';
import { EVERY_ADAPTER } from './support/every-adapter.js';
import type { TestApp } from './support/http-driver.js';

/**
 * Access-token renewal is bounded by its session (issue 11, item 4): a token
 * renews only while the session (`sid`) it belongs to has a live refresh
 * token, so an access token stolen from a session cannot outlive it by
 * renewing itself, and the victim ends it by revoking the session.
 */
describe.each(EVERY_ADAPTER)('renewal bounded by the session: $name', (driver) => {
  const running: TestApp[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.close()));
  });

  async function start(overrides: Partial<JwtRefreshOptions> = {}) {
    const fixture = await testOptions({ accessTokenRenewal: true, ...overrides });
    const app = await driver.start(fixture.options);
    running.push(app);
    const login = await app.request('/api/login_check', { json: { username: 'alice', password: 'secret-password' } });
    expect(login.status).toBe(200);
    const { token, refresh_token: refresh } = login.body as { token: string; refresh_token: string };
    const renew = (accessToken: string) => app.request('/api/token/renew', { headers: { authorization: `Bearer ${accessToken}` } });
    return { app, clock: fixture.clock, token, refresh, renew };
  }

  it('refuses renewal once the refresh token expired, with no maxSessionLifetime set', async () => {
    // An access token that outlives its refresh token: the case where renewal could run forever.
    const t = await start({ ttl: 600, jwt: { tokenTtl: 3600 } });
    const early = await t.renew(t.token);
    expect(early.status).toBe(200);
    const renewed = (early.body as { token: string }).token;
    // The renewed token ends with the session, not tokenTtl later.
    expect(decodeJwt(renewed).exp).toBe(Math.floor(t.clock().getTime() / 1000) + 600);
    t.clock.advance(601);
    expect(await t.app.request('/api/me', { method: 'GET', headers: { authorization: `Bearer ${t.token}` } })).toMatchObject({
      status: 200,
    });
    const late = await t.renew(t.token);
    expect([late.status, late.body]).toEqual([401, { code: 401, message: 'Invalid JWT Token' }]);
  });

  it('refuses renewal once the session is revoked, by a logout that presented only the refresh token', async () => {
    const t = await start();
    const logout = await t.app.request('/api/token/invalidate', { json: { refresh_token: t.refresh } });
    expect(logout.status).toBe(200);
    const renewed = await t.renew(t.token);
    expect([renewed.status, renewed.body]).toEqual([401, { code: 401, message: 'Invalid JWT Token' }]);
  });

  it('refuses renewal of a token that names no session', async () => {
    const t = await start();
    const user = { id: 'u-alice', identifier: 'alice', roles: ['ROLE_USER'] };
    // createAccessToken signs a token for a user outside any session (no refresh token, no sid).
    const sessionless = await t.app.jwtRefresh.createAccessToken(user);
    expect(decodeJwt(sessionless).sid).toBeUndefined();
    const renewed = await t.renew(sessionless);
    expect([renewed.status, renewed.body]).toEqual([401, { code: 401, message: 'Invalid JWT Token' }]);
  });
});
