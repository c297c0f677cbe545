import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, EXAMPLES, postJson, type RunningExample, startExample, stopExample } from './support/start-example.js';

/**
 * Examples that have no password login, so they cannot serve the README session below;
 * each has its own test. A new example runs the README session unless it is listed here.
 */
const WITHOUT_PASSWORD_LOGIN = new Set([
  'social-login', // users sign in through a stand-in identity provider: test/social-login-example.test.ts
]);

const examples = existsSync(EXAMPLES)
  ? readdirSync(EXAMPLES)
      .filter((name) => existsSync(join(EXAMPLES, name, 'app.mjs')) && !WITHOUT_PASSWORD_LOGIN.has(name))
      .sort()
  : [];

/** Every examples/<framework>/app.mjs, run as a user would, through the README's curl session. */
describe.runIf(examples.length > 0)('examples', () => {
  let running: RunningExample | null = null;

  beforeAll(ensureBuilt, 120_000);
  afterEach(async () => {
    await stopExample(running);
    running = null;
  });

  it.each(examples)('examples/%s/app.mjs serves the README session', async (name) => {
    running = await startExample(name);
    const { baseUrl } = running;
    const post = (path: string, body: unknown) => postJson(baseUrl, path, body);

    const login = await post('/api/login_check', { username: 'demo', password: 'demo' });
    expect(login.status).toBe(200);
    expect(login.json.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(login.json.refresh_token).toMatch(/^[0-9a-f]{128}$/);

    const me = await fetch(`${baseUrl}/api/me`, { headers: { authorization: `Bearer ${login.json.token as string}` } });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: 'demo', roles: ['ROLE_USER'] });
    const anonymous = await fetch(`${baseUrl}/api/me`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ code: 401, message: 'JWT Token not found' });

    const refreshed = await post('/api/token/refresh', { refresh_token: login.json.refresh_token });
    expect(refreshed.status).toBe(200);
    expect(refreshed.json.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(refreshed.json.refresh_token).toMatch(/^[0-9a-f]{128}$/);
    expect(refreshed.json.refresh_token).not.toBe(login.json.refresh_token);

    const logout = await post('/api/token/invalidate', { refresh_token: refreshed.json.refresh_token });
    expect(logout).toEqual({ status: 200, json: { code: 200, message: 'The supplied refresh_token has been invalidated.' } });

    const afterLogout = await post('/api/token/refresh', { refresh_token: refreshed.json.refresh_token });
    expect(afterLogout).toEqual({ status: 401, json: { code: 401, message: 'Invalid JWT Refresh Token' } });
  });
});
