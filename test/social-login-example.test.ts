import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, postJson, type RunningExample, startExample, stopExample } from './support/start-example.js';

const JWT = /^[\w-]+\.[\w-]+\.[\w-]+$/;
const REFRESH_TOKEN = /^[0-9a-f]{128}$/;

function payloadOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/**
 * examples/social-login/app.mjs, run as a user would: a user without a password
 * signs in through the stand-in identity provider, and the session it gets
 * works with the library's standard routes.
 */
describe('examples/social-login/app.mjs', () => {
  let running: RunningExample | null = null;
  let baseUrl = '';

  beforeAll(async () => {
    ensureBuilt();
    running = await startExample('social-login');
    baseUrl = running.baseUrl;
  }, 120_000);
  afterAll(() => stopExample(running));

  const get = async (path: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${baseUrl}${path}`, { headers, redirect: 'manual' });
    return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown> };
  };
  const post = (path: string, body: unknown) => postJson(baseUrl, path, body);
  /** The provider's redirect, without following it: the callback URL the browser would load next. */
  const authorize = async (login: string) => {
    const response = await fetch(`${baseUrl}/idp/authorize?login=${login}`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    const location = response.headers.get('location') ?? '';
    expect(location).toMatch(/^\/auth\/callback\?code=[\w-]{20,}$/);
    return location;
  };

  it('signs a password-less user in through the provider; the session refreshes, is listed with its metadata, and logs out', async () => {
    const callback = await authorize('alice');
    const signIn = await get(callback, { 'user-agent': 'social-login-test' });
    expect(signIn.status).toBe(200);
    expect(signIn.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(signIn.json).sort()).toEqual(['refresh_token', 'token']);
    expect(signIn.json.token).toMatch(JWT);
    expect(signIn.json.refresh_token).toMatch(REFRESH_TOKEN);
    const accessToken = signIn.json.token as string;
    const { sid } = payloadOf(accessToken);
    expect(sid).toEqual(expect.any(String));

    const me = await get('/api/me', { authorization: `Bearer ${accessToken}` });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ username: 'alice', sub: 'stand-in-idp|alice', roles: ['ROLE_USER'], sid });

    const sessions = await get('/api/sessions', { authorization: `Bearer ${accessToken}` });
    expect(sessions.status).toBe(200);
    expect(sessions.json.sessions).toEqual([
      expect.objectContaining({
        id: sid,
        user_agent: 'social-login-test',
        ip: '127.0.0.1',
        metadata: { login: 'stand-in-idp' },
        current: true,
      }),
    ]);

    // No passwordHash: the password route is no way into a provider's account.
    const passwordLogin = await post('/api/login_check', { username: 'alice', password: 'anything' });
    expect(passwordLogin).toEqual({ status: 401, json: { code: 401, message: 'Invalid credentials.' } });

    const refreshed = await post('/api/token/refresh', { refresh_token: signIn.json.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.token).toMatch(JWT);
    expect(refreshed.json.refresh_token).toMatch(REFRESH_TOKEN);
    expect(refreshed.json.refresh_token).not.toBe(signIn.json.refresh_token);
    expect(payloadOf(refreshed.json.token as string).sid).toBe(sid);

    const logout = await post('/api/token/invalidate', { refresh_token: refreshed.json.refresh_token });
    expect(logout).toEqual({ status: 200, json: { code: 200, message: 'The supplied refresh_token has been invalidated.' } });
    const afterLogout = await post('/api/token/refresh', { refresh_token: refreshed.json.refresh_token });
    expect(afterLogout).toEqual({ status: 401, json: { code: 401, message: 'Invalid JWT Refresh Token' } });

    // Signing in again finds the same user (by the provider's subject) and starts a new session.
    const again = await get(await authorize('alice'));
    expect(again.status).toBe(200);
    expect(payloadOf(again.json.token as string)).toMatchObject({ sub: 'stand-in-idp|alice', username: 'alice' });
    expect(payloadOf(again.json.token as string).sid).not.toBe(sid);
  });

  it('refuses a callback whose code the provider did not issue, or issued and saw redeemed already', async () => {
    const callback = await authorize('bob');
    expect((await get(callback)).status).toBe(200);

    for (const path of [callback, '/auth/callback?code=forged', '/auth/callback?login=bob', '/auth/callback']) {
      const refused = await get(path);
      expect(refused.status, path).toBeGreaterThanOrEqual(400);
      expect(refused.status, path).toBeLessThan(500);
      expect(refused.json, path).not.toHaveProperty('token');
      expect(refused.json, path).not.toHaveProperty('refresh_token');
    }
  });
});
