import { describe, expect, it } from 'vitest';
import { createScryptHasher } from '../../src/auth/password-hasher.js';
import { testHasher } from '../support/app-options.js';
import type { HttpDriver } from '../support/http-driver.js';
import { body, HEX_128, PASSWORD, sha256, snapshot, useHttpHarness } from '../support/http-harness.js';
import { recordingLogger } from '../support/recording-logger.js';

/**
 * The HTTP behaviour of SPEC §1, §2, §3, §5 and §9, written once and run
 * against every framework adapter through an {@link HttpDriver}.
 */
export function runHttpConformance(driver: HttpDriver): void {
  describe(`http conformance: ${driver.name}`, () => {
    const start = useHttpHarness(driver);

    describe('login (SPEC §2)', () => {
      it('answers 200 with a JWT and a 128-hex refresh token, not cacheable', async () => {
        const t = await start();
        const response = await t.login();
        expect(response.status).toBe(200);
        const json = body(response);
        expect(Object.keys(json).sort()).toEqual(['refresh_token', 'token']);
        expect(json.token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
        expect(json.refresh_token).toMatch(HEX_128);
        expect(response.headers.get('cache-control')).toBe('no-store');
        expect(await t.store.count()).toBe(1);
      });

      it('stores only the hash of the refresh token', async () => {
        const t = await start();
        const { refresh } = await t.loginTokens();
        const record = await t.store.findByHash(sha256(refresh));
        expect(record?.userId).toBe('u-alice');
        expect(record?.tokenHash).not.toBe(refresh);
      });

      it('adds the expiration under returnExpirationParameterName when returnExpiration is on', async () => {
        const t = await start({ returnExpiration: true, returnExpirationParameterName: 'expires_at', ttl: 600 });
        const json = body(await t.login());
        expect(json.expires_at).toBe(Math.floor(t.clock().getTime() / 1000) + 600);
        expect(json).not.toHaveProperty('refresh_token_expiration');
      });

      it('uses the default expiration key name', async () => {
        const t = await start({ returnExpiration: true });
        const json = body(await t.login());
        expect(json.refresh_token_expiration).toBe(Math.floor(t.clock().getTime() / 1000) + 2_592_000);
      });

      it('answers the same 401 for a wrong password and an unknown user', async () => {
        const t = await start();
        const wrong = await t.app.request('/api/login_check', { json: { username: 'alice', password: 'nope' } });
        const unknown = await t.app.request('/api/login_check', { json: { username: 'mallory', password: 'nope' } });
        for (const response of [wrong, unknown]) {
          expect(response.status).toBe(401);
          expect(body(response)).toEqual({ code: 401, message: 'Invalid credentials.' });
          expect(response.headers.get('www-authenticate')).toBe('Bearer');
        }
        expect(await t.store.count()).toBe(0);
      });

      it('refuses a disabled user with "Account is disabled." only when the password is right', async () => {
        const t = await start();
        const right = await t.login('carol');
        expect(right.status).toBe(401);
        expect(body(right)).toEqual({ code: 401, message: 'Account is disabled.' });
        const wrong = await t.app.request('/api/login_check', { json: { username: 'carol', password: 'nope' } });
        expect(body(wrong)).toEqual({ code: 401, message: 'Invalid credentials.' });
        expect(await t.store.count()).toBe(0);
      });

      it('rehashes an outdated password hash at login through upgradePassword', async () => {
        const t = await start({ passwordHasher: createScryptHasher({ cost: 2 ** 11 }) });
        const alice = t.users.find((user) => user.identifier === 'alice')!;
        expect(alice.passwordHash).toContain('ln=10');
        expect((await t.login('alice')).status).toBe(200);
        expect(alice.passwordHash).toContain('ln=11');
        expect((await t.login('alice')).status).toBe(200);
      });

      it('still logs in when saving the rehash fails, and reports the failure', async () => {
        const passwordHash = await testHasher.hash(PASSWORD);
        const { logger, entries } = recordingLogger();
        const user = { id: 'u-dave', identifier: 'dave', roles: ['ROLE_USER'], passwordHash };
        const t = await start({
          passwordHasher: createScryptHasher({ cost: 2 ** 11 }),
          userProvider: {
            loadUserByIdentifier: async (identifier) => (identifier === 'dave' ? user : null),
            loadUserById: async (id) => (id === 'u-dave' ? user : null),
            upgradePassword: async () => {
              throw new Error('users table is read-only');
            },
          },
          logger,
        });
        const response = await t.login('dave');
        expect(response.status).toBe(200);
        expect(body(response).refresh_token).toMatch(HEX_128);
        expect(entries).toEqual([
          {
            level: 'error',
            fields: { error: { name: 'Error', message: 'users table is read-only' } },
            message: 'jwt-refresh password upgrade failed',
          },
        ]);
        expect(user.passwordHash).toBe(passwordHash);
      });

      it('reads the configured credential field names', async () => {
        const t = await start({ login: { usernameField: 'email', passwordField: 'pass' } });
        const response = await t.app.request('/api/login_check', { json: { email: 'alice', pass: PASSWORD } });
        expect(response.status).toBe(200);
      });

      it.each([
        ['malformed JSON', { body: '{"username": "alice",', headers: { 'content-type': 'application/json' } }, 'Invalid JSON.'],
        ['an empty body', { body: '', headers: { 'content-type': 'application/json' } }, 'Invalid JSON.'],
        ['a JSON array', { json: ['alice', PASSWORD] }, 'Invalid JSON: the body must be a JSON object.'],
        ['a JSON number', { json: 42 }, 'Invalid JSON: the body must be a JSON object.'],
        ['a missing username', { json: { password: PASSWORD } }, 'The key "username" must be provided.'],
        ['a missing password', { json: { username: 'alice' } }, 'The key "password" must be provided.'],
        ['a non-string password', { json: { username: 'alice', password: 12345 } }, 'The key "password" must be a non-empty string.'],
        ['an object username', { json: { username: { $ne: null }, password: PASSWORD } }, 'The key "username" must be a non-empty string.'],
      ])('answers 400 for %s and stores nothing', async (_name, request, message) => {
        const t = await start();
        const response = await t.app.request('/api/login_check', request);
        expect(response.status).toBe(400);
        expect(body(response)).toEqual({ code: 400, message });
        expect(await t.store.count()).toBe(0);
      });

      it('answers 413 for a 1 MB body and 415 for an unknown content type', async () => {
        const t = await start();
        const huge = await t.app.request('/api/login_check', {
          json: { username: 'alice', password: PASSWORD, padding: 'x'.repeat(1_048_576) },
        });
        expect(huge.status).toBe(413);
        expect(body(huge)).toEqual({ code: 413, message: 'Request body too large.' });
        const xml = await t.app.request('/api/login_check', {
          body: '<login><username>alice</username></login>',
          headers: { 'content-type': 'application/xml' },
        });
        expect(xml.status).toBe(415);
        expect(body(xml).code).toBe(415);
        expect(await t.store.count()).toBe(0);
      });

      it('always starts a new family: a refresh token in the login request is ignored', async () => {
        // No CSRF header here: that defence has its own cases in the cookie-mode suite.
        const t = await start({ cookie: { enabled: true, removeTokenFromBody: false, csrfHeader: null } });
        const first = await t.loginTokens();
        const response = await t.app.request('/api/login_check', {
          json: { username: 'alice', password: PASSWORD, refresh_token: first.refresh },
          headers: { cookie: `refresh_token=${first.refresh}` },
        });
        const second = body(response).refresh_token as string;
        expect(second).toMatch(HEX_128);
        expect(second).not.toBe(first.refresh);
        const [a, b] = await snapshot(t.store, [sha256(first.refresh), sha256(second)]);
        expect(a?.rotatedAt).toBeNull();
        expect(a?.revokedAt).toBeNull();
        expect(b?.familyId).not.toBe(a?.familyId);
      });
    });

    describe('protected routes (SPEC §1)', () => {
      it('answers the claims for a valid Bearer token, with a case-insensitive prefix', async () => {
        const t = await start();
        const { token } = await t.loginTokens();
        for (const prefix of ['Bearer', 'bearer', 'BEARER']) {
          const response = await t.app.request('/api/me', { method: 'GET', headers: { authorization: `${prefix} ${token}` } });
          expect(response.status).toBe(200);
          expect(body(response)).toMatchObject({ username: 'alice', roles: ['ROLE_USER'], sub: 'u-alice' });
        }
      });

      it.each([
        ['no header', undefined, 'JWT Token not found'],
        ['another scheme', 'Basic YWxpY2U6c2VjcmV0', 'JWT Token not found'],
        ['a garbage token', 'Bearer not.a.jwt', 'Invalid JWT Token'],
      ])('answers 401 for %s', async (_name, authorization, message) => {
        const t = await start();
        const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
        const response = await t.app.request('/api/me', { method: 'GET', headers });
        expect(response.status).toBe(401);
        expect(body(response)).toEqual({ code: 401, message });
        expect(response.headers.get('www-authenticate')).toBe('Bearer');
      });

      it('answers "Expired JWT Token" once the access token ttl has passed, honouring clockSkew', async () => {
        const t = await start({ jwt: { tokenTtl: 60, clockSkew: 5 } });
        const { token } = await t.loginTokens();
        t.clock.advance(63);
        const withinSkew = await t.app.request('/api/me', { method: 'GET', headers: { authorization: `Bearer ${token}` } });
        expect(withinSkew.status).toBe(200);
        t.clock.advance(3);
        const expired = await t.app.request('/api/me', { method: 'GET', headers: { authorization: `Bearer ${token}` } });
        expect(expired.status).toBe(401);
        expect(body(expired)).toEqual({ code: 401, message: 'Expired JWT Token' });
      });

      it('answers "Invalid JWT Token" for a tampered token', async () => {
        const t = await start();
        const { token } = await t.loginTokens();
        const [header, payload, signature] = token.split('.');
        const forged = Buffer.from(
          JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), roles: ['ROLE_ADMIN'] }),
        ).toString('base64url');
        const response = await t.app.request('/api/admin', {
          method: 'GET',
          headers: { authorization: `Bearer ${header}.${forged}.${signature}` },
        });
        expect(response.status).toBe(401);
        expect(body(response)).toEqual({ code: 401, message: 'Invalid JWT Token' });
      });

      it('answers 403 when the token lacks the required role', async () => {
        const t = await start();
        const alice = await t.loginTokens('alice');
        const bob = await t.loginTokens('bob');
        const denied = await t.app.request('/api/admin', { method: 'GET', headers: { authorization: `Bearer ${alice.token}` } });
        expect(denied.status).toBe(403);
        expect(body(denied)).toEqual({ code: 403, message: 'Access Denied.' });
        const allowed = await t.app.request('/api/admin', { method: 'GET', headers: { authorization: `Bearer ${bob.token}` } });
        expect(allowed.status).toBe(200);
      });

      it('builds the user from the claims alone by default: a user disabled after login keeps access until expiry', async () => {
        const t = await start();
        const { token } = await t.loginTokens('bob');
        t.users.find((user) => user.identifier === 'bob')!.enabled = false;
        expect((await t.app.request('/api/admin', { method: 'GET', headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      });

      it('with loadUser refuses a user disabled or deleted since, and checks the current roles', async () => {
        const t = await start({ loadUser: true });
        const bob = await t.loginTokens('bob');
        const alice = await t.loginTokens('alice');
        const get = (path: string, token: string) => t.app.request(path, { method: 'GET', headers: { authorization: `Bearer ${token}` } });
        expect((await get('/api/admin', bob.token)).status).toBe(200);
        const bobUser = t.users.find((user) => user.identifier === 'bob')!;
        bobUser.roles = ['ROLE_USER'];
        const demoted = await get('/api/admin', bob.token);
        expect([demoted.status, demoted.body]).toEqual([403, { code: 403, message: 'Access Denied.' }]);
        bobUser.enabled = false;
        const disabled = await get('/api/me', bob.token);
        expect([disabled.status, disabled.body]).toEqual([401, { code: 401, message: 'Account is disabled.' }]);
        t.users.splice(
          t.users.findIndex((user) => user.identifier === 'alice'),
          1,
        );
        const deleted = await get('/api/me', alice.token);
        expect([deleted.status, deleted.body]).toEqual([401, { code: 401, message: 'Invalid JWT Token' }]);
        expect(deleted.headers.get('www-authenticate')).toBe('Bearer');
      });
    });

    describe('refresh (SPEC §3, §9)', () => {
      it('rotates: answers a new token pair and marks the presented token rotated', async () => {
        const t = await start();
        const first = await t.loginTokens();
        t.clock.advance(1);
        const response = await t.refresh(first.refresh);
        expect(response.status).toBe(200);
        expect(response.headers.get('cache-control')).toBe('no-store');
        const json = body(response);
        expect(json.refresh_token).toMatch(HEX_128);
        expect(json.refresh_token).not.toBe(first.refresh);
        expect(json.token).not.toBe(first.token);
        const [parent, child] = await snapshot(t.store, [sha256(first.refresh), sha256(json.refresh_token as string)]);
        expect(parent?.rotatedAt).not.toBeNull();
        expect(parent?.successorHash).toBe(child?.tokenHash);
        expect(child?.familyId).toBe(parent?.familyId);
        expect(child?.generation).toBe(1);
        const me = await t.app.request('/api/me', { method: 'GET', headers: { authorization: `Bearer ${json.token as string}` } });
        expect(me.status).toBe(200);
      });

      it('accepts the token from a form body', async () => {
        const t = await start();
        const { refresh } = await t.loginTokens();
        const response = await t.app.request('/api/token/refresh', {
          body: `refresh_token=${refresh}`,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        expect(response.status).toBe(200);
      });

      it('reads and answers under tokenParameterName', async () => {
        const t = await start({ tokenParameterName: 'refreshToken' });
        const json = body(await t.login());
        expect(json.refreshToken).toMatch(HEX_128);
        expect(json).not.toHaveProperty('refresh_token');
        const wrongName = await t.refresh(json.refreshToken, 'refresh_token');
        expect(body(wrongName)).toEqual({ code: 401, message: 'Missing JWT Refresh Token' });
        const response = await t.refresh(json.refreshToken, 'refreshToken');
        expect(response.status).toBe(200);
        expect(body(response).refreshToken).toMatch(HEX_128);
      });

      it('answers the expiration on refresh too', async () => {
        const t = await start({ returnExpiration: true, ttl: 1000 });
        const { refresh } = await t.loginTokens();
        t.clock.advance(100);
        const json = body(await t.refresh(refresh));
        expect(json.refresh_token_expiration).toBe(Math.floor(t.clock().getTime() / 1000) + 1000);
      });

      it.each([
        ['no body', { body: '' }],
        ['an empty object', { json: {} }],
        ['an empty string', { json: { refresh_token: '' } }],
        ['a number', { json: { refresh_token: 12345 } }],
        ['an array', { json: { refresh_token: ['a'] } }],
        ['a 10 kB token', { json: { refresh_token: 'a'.repeat(10_240) } }],
        ['malformed JSON', { body: '{"refresh_token": ', headers: { 'content-type': 'application/json' } }],
        ['a JSON array body', { json: ['refresh_token'] }],
        ['a JSON number body', { json: 7 }],
      ])('answers 401 "Missing JWT Refresh Token" for %s and changes nothing', async (_name, request) => {
        const t = await start();
        const { refresh } = await t.loginTokens();
        const before = await snapshot(t.store, [sha256(refresh)]);
        const response = await t.app.request('/api/token/refresh', request);
        expect(response.status).toBe(401);
        expect(body(response)).toEqual({ code: 401, message: 'Missing JWT Refresh Token' });
        expect(await snapshot(t.store, [sha256(refresh)])).toEqual(before);
        expect(await t.store.count()).toBe(1);
      });

      it('answers 413 for a 1 MB body and 415 for an unknown content type, changing nothing', async () => {
        const t = await start();
        const { refresh } = await t.loginTokens();
        const before = await snapshot(t.store, [sha256(refresh)]);
        const huge = await t.app.request('/api/token/refresh', { json: { refresh_token: refresh, padding: 'x'.repeat(1_048_576) } });
        expect(huge.status).toBe(413);
        expect(body(huge)).toEqual({ code: 413, message: 'Request body too large.' });
        const xml = await t.app.request('/api/token/refresh', {
          body: `<refresh_token>${refresh}</refresh_token>`,
          headers: { 'content-type': 'application/xml' },
        });
        expect(xml.status).toBe(415);
        expect(await snapshot(t.store, [sha256(refresh)])).toEqual(before);
        expect(await t.store.count()).toBe(1);
        expect((await t.refresh(refresh)).status).toBe(200);
      });

      it('answers one 401 "Invalid JWT Refresh Token" for unknown and expired tokens', async () => {
        const t = await start({ ttl: 100 });
        const { refresh } = await t.loginTokens();
        const unknown = await t.refresh('f'.repeat(128));
        expect(unknown.status).toBe(401);
        expect(body(unknown)).toEqual({ code: 401, message: 'Invalid JWT Refresh Token' });
        t.clock.advance(100);
        const expired = await t.refresh(refresh);
        expect(body(expired)).toEqual({ code: 401, message: 'Invalid JWT Refresh Token' });
      });

      it('revokes the whole family when a rotated token is reused after the grace window', async () => {
        const t = await start();
        const reused: string[] = [];
        t.app.jwtRefresh.events.on('refreshTokenReused', ({ record }) => {
          reused.push(record.familyId);
        });
        const first = await t.loginTokens();
        const second = body(await t.refresh(first.refresh)).refresh_token as string;
        t.clock.advance(11);
        const replay = await t.refresh(first.refresh);
        expect(body(replay)).toEqual({ code: 401, message: 'Invalid JWT Refresh Token' });
        const [parent, child] = await snapshot(t.store, [sha256(first.refresh), sha256(second)]);
        expect(child?.revokedAt).not.toBeNull();
        expect(reused).toEqual([parent?.familyId]);
        expect(body(await t.refresh(second))).toEqual({ code: 401, message: 'Invalid JWT Refresh Token' });
      });

      it('hands a replay inside the grace window the same successor, which stays usable', async () => {
        const t = await start({ reuseGraceSeconds: 10 });
        const first = await t.loginTokens();
        const a = body(await t.refresh(first.refresh));
        t.clock.advance(9);
        const b = body(await t.refresh(first.refresh));
        expect(b.refresh_token).toBe(a.refresh_token);
        expect(await t.store.count()).toBe(2);
        const next = await t.refresh(a.refresh_token);
        expect(next.status).toBe(200);
      });

      it('treats a replay as reuse once its successor has been rotated, even inside the window', async () => {
        const t = await start({ reuseGraceSeconds: 10 });
        const first = await t.loginTokens();
        const second = body(await t.refresh(first.refresh)).refresh_token as string;
        const third = body(await t.refresh(second)).refresh_token as string;
        const replay = await t.refresh(first.refresh);
        expect(replay.status).toBe(401);
        expect((await t.store.findByHash(sha256(third)))?.revokedAt).not.toBeNull();
      });

      it('with reuseGraceSeconds 0 an immediate replay is reuse', async () => {
        const t = await start({ reuseGraceSeconds: 0 });
        const first = await t.loginTokens();
        const second = body(await t.refresh(first.refresh)).refresh_token as string;
        expect((await t.refresh(first.refresh)).status).toBe(401);
        expect((await t.refresh(second)).status).toBe(401);
      });

      it('50 parallel refreshes of one token inside the grace window all get the same successor', async () => {
        const t = await start();
        const first = await t.loginTokens();
        const responses = await Promise.all(Array.from({ length: 50 }, () => t.refresh(first.refresh)));
        expect(responses.map((response) => response.status)).toEqual(Array(50).fill(200));
        const successors = new Set(responses.map((response) => body(response).refresh_token));
        expect(successors.size).toBe(1);
        expect(await t.store.count()).toBe(2);
        const [successor] = [...successors] as string[];
        const record = await t.store.findByHash(sha256(successor!));
        expect(record?.rotatedAt).toBeNull();
        expect(record?.revokedAt).toBeNull();
      });

      it('50 parallel refreshes with reuseGraceSeconds 0: exactly one succeeds and the family ends revoked', async () => {
        const t = await start({ reuseGraceSeconds: 0 });
        const first = await t.loginTokens();
        const responses = await Promise.all(Array.from({ length: 50 }, () => t.refresh(first.refresh)));
        expect(responses.filter((response) => response.status === 200)).toHaveLength(1);
        expect(responses.filter((response) => response.status === 401)).toHaveLength(49);
        const winner = body(responses.find((response) => response.status === 200)!).refresh_token as string;
        const [parent, child] = await snapshot(t.store, [sha256(first.refresh), sha256(winner)]);
        expect(parent?.revokedAt).not.toBeNull();
        expect(child?.revokedAt).not.toBeNull();
        expect(await t.store.count()).toBe(2);
      });

      it('never extends a family past maxSessionLifetime, by rotation or by ttlUpdate', async () => {
        const t = await start({ maxSessionLifetime: 100, ttl: 3600, returnExpiration: true });
        const loginAt = Math.floor(t.clock().getTime() / 1000);
        const first = body(await t.login());
        expect(first.refresh_token_expiration).toBe(loginAt + 100);
        t.clock.advance(60);
        const second = body(await t.refresh(first.refresh_token));
        expect(second.refresh_token_expiration).toBe(loginAt + 100);
        t.clock.advance(40);
        expect(body(await t.refresh(second.refresh_token))).toEqual({ code: 401, message: 'Invalid JWT Refresh Token' });

        const u = await start({ maxSessionLifetime: 100, ttl: 80, singleUse: false, ttlUpdate: true, returnExpiration: true });
        const uLoginAt = Math.floor(u.clock().getTime() / 1000);
        const token = body(await u.login()).refresh_token;
        u.clock.advance(70);
        expect(body(await u.refresh(token)).refresh_token_expiration).toBe(uLoginAt + 100);
      });

      it('never issues an access token that outlives maxSessionLifetime', async () => {
        const t = await start({ maxSessionLifetime: 100, jwt: { tokenTtl: 3600 } });
        const loginAt = Math.floor(t.clock().getTime() / 1000);
        const expOf = (token: unknown) =>
          (JSON.parse(Buffer.from(String(token).split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;
        const first = body(await t.login());
        expect(expOf(first.token)).toBe(loginAt + 100);
        t.clock.advance(90);
        const second = body(await t.refresh(first.refresh_token));
        expect(expOf(second.token)).toBe(loginAt + 100);
        t.clock.advance(10);
        const late = await t.app.request('/api/me', { method: 'GET', headers: { authorization: `Bearer ${String(second.token)}` } });
        expect([late.status, late.body]).toEqual([401, { code: 401, message: 'Expired JWT Token' }]);
      });

      it('without singleUse returns the same refresh token, which keeps working', async () => {
        const t = await start({ singleUse: false, returnExpiration: true, ttl: 1000 });
        const first = body(await t.login());
        t.clock.advance(500);
        const again = body(await t.refresh(first.refresh_token));
        expect(again.refresh_token).toBe(first.refresh_token);
        expect(again.refresh_token_expiration).toBe(first.refresh_token_expiration);
        expect((await t.refresh(first.refresh_token)).status).toBe(200);
        expect(await t.store.count()).toBe(1);
      });

      it('with ttlUpdate moves the validity to now + ttl', async () => {
        const t = await start({ singleUse: false, ttlUpdate: true, returnExpiration: true, ttl: 1000 });
        const first = body(await t.login());
        t.clock.advance(900);
        const again = body(await t.refresh(first.refresh_token));
        expect(again.refresh_token_expiration).toBe(Math.floor(t.clock().getTime() / 1000) + 1000);
        t.clock.advance(900);
        expect((await t.refresh(first.refresh_token)).status).toBe(200);
      });

      it('refuses a user disabled after login, writing nothing (ttlUpdate included)', async () => {
        const t = await start({ singleUse: false, ttlUpdate: true });
        const { refresh } = await t.loginTokens();
        const before = await snapshot(t.store, [sha256(refresh)]);
        t.users.find((user) => user.identifier === 'alice')!.enabled = false;
        t.clock.advance(100);
        const response = await t.refresh(refresh);
        expect(response.status).toBe(401);
        expect(body(response)).toEqual({ code: 401, message: 'Account is disabled.' });
        expect(await snapshot(t.store, [sha256(refresh)])).toEqual(before);
      });

      it('refuses a user disabled after login without rotating', async () => {
        const t = await start();
        const { refresh } = await t.loginTokens();
        t.users.find((user) => user.identifier === 'alice')!.enabled = false;
        expect((await t.refresh(refresh)).status).toBe(401);
        expect((await t.store.findByHash(sha256(refresh)))?.rotatedAt).toBeNull();
        expect(await t.store.count()).toBe(1);
      });

      it('refuses a user deleted after login', async () => {
        const t = await start();
        const { refresh } = await t.loginTokens();
        t.users.splice(
          t.users.findIndex((user) => user.identifier === 'alice'),
          1,
        );
        expect(body(await t.refresh(refresh))).toEqual({ code: 401, message: 'Invalid JWT Refresh Token' });
        expect(await t.store.count()).toBe(1);
      });

      it('answers 405 for other methods on the token routes', async () => {
        const t = await start();
        const response = await t.app.request('/api/token/refresh', { method: 'GET' });
        expect(response.status).toBe(405);
        expect(response.headers.get('allow')).toBe('POST');
      });
    });

    describe('invalidate (SPEC §5)', () => {
      it('answers 400 with the configured parameter name when no token is given', async () => {
        const t = await start();
        const response = await t.app.request('/api/token/invalidate', { json: {} });
        expect(response.status).toBe(400);
        expect(body(response)).toEqual({ code: 400, message: 'No refresh_token found.' });
        const named = await start({ tokenParameterName: 'refreshToken' });
        expect(body(await named.app.request('/api/token/invalidate', { json: {} }))).toEqual({
          code: 400,
          message: 'No refreshToken found.',
        });
      });

      it('invalidates a valid token, after which it no longer refreshes', async () => {
        const t = await start();
        const { refresh } = await t.loginTokens();
        const response = await t.app.request('/api/token/invalidate', { json: { refresh_token: refresh } });
        expect(response.status).toBe(200);
        expect(body(response)).toEqual({ code: 200, message: 'The supplied refresh_token has been invalidated.' });
        expect((await t.store.findByHash(sha256(refresh)))?.revokedAt).not.toBeNull();
        expect(body(await t.refresh(refresh))).toEqual({ code: 401, message: 'Invalid JWT Refresh Token' });
        const again = await t.app.request('/api/token/invalidate', { json: { refresh_token: refresh } });
        expect(body(again)).toEqual({ code: 200, message: 'The supplied refresh_token is already invalid.' });
      });

      it('answers "already invalid" for an unknown token', async () => {
        const t = await start();
        const response = await t.app.request('/api/token/invalidate', { json: { refresh_token: 'a'.repeat(128) } });
        expect(response.status).toBe(200);
        expect(body(response)).toEqual({ code: 200, message: 'The supplied refresh_token is already invalid.' });
      });

      it("leaves another user's token untouched when the caller's access token is someone else's", async () => {
        const t = await start();
        const alice = await t.loginTokens('alice');
        const bob = await t.loginTokens('bob');
        const response = await t.app.request('/api/token/invalidate', {
          json: { refresh_token: alice.refresh },
          headers: { authorization: `Bearer ${bob.token}` },
        });
        expect(body(response)).toEqual({ code: 200, message: 'The supplied refresh_token is already invalid.' });
        expect((await t.store.findByHash(sha256(alice.refresh)))?.revokedAt).toBeNull();
        expect((await t.refresh(alice.refresh)).status).toBe(200);
      });
    });
  });
}
