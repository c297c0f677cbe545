import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../src/jwt/generate-key-pair.js';
import type { HttpDriver } from '../support/http-driver.js';
import { body, HEX_128, PASSWORD, sha256, useHttpHarness } from '../support/http-harness.js';
import { recordingLogger } from '../support/recording-logger.js';

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * The HTTP features beyond the bundle's slice (SPEC §1, §3b, §4, §5, §6, §8,
 * §9): cookie mode, extractors, events, revocation that reaches access tokens,
 * sessions, rate limits, JWKS, OAuth endpoints, renewal, OpenAPI. Written once
 * against an {@link HttpDriver} and run on every adapter.
 */
export function runHttpFeatureConformance(driver: HttpDriver): void {
  describe(`http features conformance: ${driver.name}`, () => {
    const start = useHttpHarness(driver);

    describe('cookie mode (SPEC §4)', () => {
      const cookieOptions = { cookie: { enabled: true, sameSite: 'strict' as const, path: '/api/token', domain: 'example.test' } };
      const CROSS_ORIGIN = { code: 403, message: 'Cross-origin request refused.' };
      type Started = Awaited<ReturnType<typeof start>>;
      const credentials = { username: 'alice', password: PASSWORD };
      const login = (t: Started, headers: Record<string, string> = {}) => t.app.request('/api/login_check', { headers, json: credentials });
      const cookieToken = (setCookie: string) => setCookie.split(';')[0]!.slice(setCookie.indexOf('=') + 1);
      const form = { 'content-type': 'application/x-www-form-urlencoded' };

      it('sets the refresh token as a cookie with every attribute, keeping the expiration in the body', async () => {
        const t = await start({ ...cookieOptions, returnExpiration: true, ttl: 3600 });
        const response = await login(t);
        const json = body(response);
        expect(json).not.toHaveProperty('refresh_token');
        expect(json.refresh_token_expiration).toBe(Math.floor(t.clock().getTime() / 1000) + 3600);
        expect(response.setCookies).toHaveLength(1);
        const cookie = response.setCookies[0]!;
        expect(cookie).toMatch(/^refresh_token=[0-9a-f]{128}; /);
        expect(cookie).toContain('; Max-Age=3600');
        expect(cookie).toContain(`; Expires=${new Date(t.clock().getTime() + 3_600_000).toUTCString()}`);
        expect(cookie).toContain('; Path=/api/token');
        expect(cookie).toContain('; Domain=example.test');
        expect(cookie).toContain('; Secure');
        expect(cookie).toContain('; HttpOnly');
        expect(cookie).toContain('; SameSite=Strict');
        expect(cookie).not.toContain('Partitioned');
      });

      it('caps the cookie lifetime at 400 days and adds Partitioned when asked', async () => {
        const t = await start({ cookie: { enabled: true, partitioned: true, sameSite: 'none' }, ttl: 500 * 86_400 });
        const cookie = (await login(t)).setCookies[0]!;
        expect(cookie).toContain(`; Max-Age=${400 * 86_400}`);
        expect(cookie).toContain('; Partitioned');
        expect(cookie).toContain('; SameSite=None');
      });

      it('keeps the token in the body too when removeTokenFromBody is off, and names the cookie with the prefix', async () => {
        const t = await start({ cookie: { enabled: true, removeTokenFromBody: false, prefix: '__Host-' } });
        const response = await login(t);
        expect(body(response).refresh_token).toMatch(HEX_128);
        expect(response.setCookies[0]).toMatch(/^__Host-refresh_token=[0-9a-f]{128}; /);
      });

      it("with removeTokenFromBody 'auto', hands the token to a browser only as the cookie and to other clients in the body too", async () => {
        const t = await start({ cookie: { enabled: true, removeTokenFromBody: 'auto' } });
        const browsers: Array<Record<string, string>> = [{ 'sec-fetch-site': 'same-origin' }, { origin: t.app.origin }];
        for (const browser of browsers) {
          const response = await login(t, browser);
          expect(response.status).toBe(200);
          expect(body(response)).not.toHaveProperty('refresh_token');
          const refreshed = await t.app.request('/api/token/refresh', {
            headers: { ...browser, cookie: response.setCookies[0]!.split(';')[0]! },
          });
          expect(refreshed.status).toBe(200);
          expect(body(refreshed)).not.toHaveProperty('refresh_token');
          expect(cookieToken(refreshed.setCookies[0]!)).toMatch(HEX_128);
        }
        // curl, a mobile app, a bundle client (Node's fetch sends Sec-Fetch-Mode, not Sec-Fetch-Site).
        const plain = await login(t);
        expect(body(plain).refresh_token).toBe(cookieToken(plain.setCookies[0]!));
        const refreshed = await t.refresh(body(plain).refresh_token);
        expect(body(refreshed).refresh_token).toBe(cookieToken(refreshed.setCookies[0]!));
      });

      it('refreshes from the cookie with no extra header, rotating the cookie', async () => {
        const t = await start(cookieOptions);
        const first = (await login(t)).setCookies[0]!.split(';')[0]!;
        const refreshed = await t.app.request('/api/token/refresh', { headers: { cookie: first } });
        expect(refreshed.status).toBe(200);
        expect(body(refreshed)).not.toHaveProperty('refresh_token');
        const second = refreshed.setCookies[0]!.split(';')[0]!;
        expect(second).toMatch(/^refresh_token=[0-9a-f]{128}$/);
        expect(second).not.toBe(first);
      });

      it('clears the cookie on logout with the same name, path, domain and flags, and leaves it on a 400', async () => {
        const t = await start(cookieOptions);
        const cookie = (await login(t)).setCookies[0]!.split(';')[0]!;
        const missing = await t.app.request('/api/token/invalidate', { json: {} });
        expect(missing.status).toBe(400);
        expect(missing.setCookies).toEqual([]);
        const response = await t.app.request('/api/token/invalidate', { headers: { cookie } });
        expect(body(response)).toEqual({ code: 200, message: 'The supplied refresh_token has been invalidated.' });
        const cleared = response.setCookies[0]!;
        expect(cleared).toMatch(
          /^refresh_token=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=\/api\/token; Domain=example.test; Secure; HttpOnly; SameSite=Strict$/,
        );
        const again = await t.app.request('/api/token/invalidate', { headers: { cookie } });
        expect(body(again).message).toBe('The supplied refresh_token is already invalid.');
        expect(again.setCookies[0]).toMatch(/^refresh_token=; Max-Age=0/);
      });

      describe('cross-origin protection (Fetch Metadata, as Go’s CrossOriginProtection)', () => {
        /** What a browser sends from another site: Fetch Metadata, or (older browsers, plain http) a foreign or opaque Origin. */
        const CROSS_SITE: Array<Record<string, string>> = [
          { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' },
          { 'sec-fetch-site': 'same-site', origin: 'https://sub.example.test' },
          { 'sec-fetch-site': 'cross-site' },
          { origin: 'https://evil.example' },
          // A sandboxed frame or a redirect chain: an opaque origin.
          { origin: 'null' },
        ];

        it('refuses a cross-site login, refresh, logout and revocation with 403, reading and writing nothing', async () => {
          const t = await start(cookieOptions);
          const token = cookieToken((await login(t)).setCookies[0]!);
          const before = await t.store.findByHash(sha256(token));
          const cookie = `refresh_token=${token}`;
          // The attacker's own credentials or token (login CSRF), the victim's cookie, or junk that would clear it.
          const attempts: Array<[string, { json?: unknown; body?: string; headers?: Record<string, string> }]> = [
            ['/api/login_check', { json: credentials }],
            ['/api/login_check', { json: credentials, headers: { 'content-type': 'text/plain' } }],
            ['/api/token/refresh', { body: `refresh_token=${token}`, headers: form }],
            ['/api/token/refresh', { headers: { cookie } }],
            ['/api/token/invalidate', { body: 'junk', headers: form }],
            ['/api/token/invalidate', { headers: { cookie } }],
            ['/api/token/revoke', { body: `token=${token}`, headers: form }],
          ];
          for (const [path, request] of attempts) {
            for (const browser of CROSS_SITE) {
              const refused = await t.app.request(path, { ...request, headers: { ...request.headers, ...browser } });
              expect([path, refused.status, body(refused)]).toEqual([path, 403, CROSS_ORIGIN]);
              expect(refused.setCookies).toEqual([]);
            }
          }
          expect(await t.store.count()).toBe(1);
          expect(await t.store.findByHash(sha256(token))).toEqual(before);
        });

        it('lets same-origin browser requests, the address bar and clients that are no browser through', async () => {
          const t = await start(cookieOptions);
          const allowed: Array<Record<string, string>> = [
            { 'sec-fetch-site': 'same-origin' },
            { 'sec-fetch-site': 'none' },
            { origin: t.app.origin },
            {},
          ];
          for (const headers of allowed) {
            const response = await login(t, headers);
            expect([headers, response.status]).toEqual([headers, 200]);
            const cookie = response.setCookies[0]!.split(';')[0]!;
            const refreshed = await t.app.request('/api/token/refresh', { headers: { ...headers, cookie } });
            expect(refreshed.status).toBe(200);
            const logout = await t.app.request('/api/token/invalidate', {
              headers: { ...headers, cookie: refreshed.setCookies[0]!.split(';')[0]! },
            });
            expect(body(logout).message).toBe('The supplied refresh_token has been invalidated.');
          }
        });

        it('lets a trusted origin through, on an exact match only', async () => {
          const t = await start({ cookie: { ...cookieOptions.cookie, trustedOrigins: ['https://app.example'] } });
          expect((await login(t, { 'sec-fetch-site': 'cross-site', origin: 'https://app.example' })).status).toBe(200);
          expect((await login(t, { origin: 'https://app.example' })).status).toBe(200);
          for (const origin of ['https://app.example:8443', 'http://app.example', 'https://evil.app.example']) {
            const refused = await login(t, { 'sec-fetch-site': 'cross-site', origin });
            expect([origin, refused.status, body(refused)]).toEqual([origin, 403, CROSS_ORIGIN]);
          }
        });

        it('checks nothing outside cookie mode: a token in the body is no ambient authority', async () => {
          const t = await start();
          const response = await login(t, { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' });
          expect(response.status).toBe(200);
          const refreshed = await t.app.request('/api/token/refresh', {
            json: { refresh_token: body(response).refresh_token },
            headers: { 'sec-fetch-site': 'cross-site' },
          });
          expect(refreshed.status).toBe(200);
        });

        it('asks for the opt-in csrfHeader too when configured, even of a same-origin request', async () => {
          const t = await start({ cookie: { ...cookieOptions.cookie, csrfHeader: 'x-csrf' } });
          const withoutHeader: Array<Record<string, string>> = [{}, { 'sec-fetch-site': 'same-origin' }, { 'x-csrf': '' }];
          for (const headers of withoutHeader) {
            const refused = await login(t, headers);
            expect([refused.status, body(refused)]).toEqual([403, { code: 403, message: 'Missing x-csrf header.' }]);
            expect(refused.setCookies).toEqual([]);
          }
          expect(await t.store.count()).toBe(0);
          const crossSite = await login(t, { 'x-csrf': '1', 'sec-fetch-site': 'cross-site' });
          expect(body(crossSite)).toEqual(CROSS_ORIGIN);
          const accepted = await login(t, { 'x-csrf': '1', 'sec-fetch-site': 'same-origin' });
          expect(accepted.status).toBe(200);
          const cookie = accepted.setCookies[0]!.split(';')[0]!;
          expect((await t.app.request('/api/token/refresh', { headers: { cookie } })).status).toBe(403);
          expect((await t.app.request('/api/token/refresh', { headers: { cookie, 'x-csrf': '1' } })).status).toBe(200);
        });
      });

      describe('a cookie name sent twice', () => {
        it('refuses the ambiguity: a planted live token does not override the valid one, nor the reverse', async () => {
          const t = await start(cookieOptions);
          const victim = cookieToken((await login(t)).setCookies[0]!);
          // The attacker's own live session, planted from a sibling subdomain with a narrower path: sent first.
          const planted = cookieToken(
            (await t.app.request('/api/login_check', { json: { username: 'bob', password: PASSWORD } })).setCookies[0]!,
          );
          const records = async () => [await t.store.findByHash(sha256(victim)), await t.store.findByHash(sha256(planted))];
          const before = await records();
          for (const cookie of [`refresh_token=${planted}; refresh_token=${victim}`, `refresh_token=${victim}; refresh_token=${planted}`]) {
            const refused = await t.app.request('/api/token/refresh', { headers: { cookie } });
            expect([refused.status, body(refused)]).toEqual([401, { code: 401, message: 'Missing JWT Refresh Token' }]);
            expect(refused.setCookies).toEqual([]);
            const logout = await t.app.request('/api/token/invalidate', { headers: { cookie } });
            expect(logout.status).toBe(400);
          }
          expect(await records()).toEqual(before);
          // The same value twice is no ambiguity.
          const twice = await t.app.request('/api/token/refresh', {
            headers: { cookie: `refresh_token=${victim}; refresh_token=${victim}` },
          });
          expect(twice.status).toBe(200);
        });

        it('under the __Host- prefix reads only the __Host- cookie, whatever is planted under the bare name', async () => {
          const t = await start({ cookie: { enabled: true, prefix: '__Host-' } });
          const victim = cookieToken((await login(t)).setCookies[0]!);
          const planted = cookieToken(
            (await t.app.request('/api/login_check', { json: { username: 'bob', password: PASSWORD } })).setCookies[0]!,
          );
          const refreshed = await t.app.request('/api/token/refresh', {
            headers: { cookie: `refresh_token=${planted}; __Host-refresh_token=${victim}` },
          });
          expect(refreshed.status).toBe(200);
          expect((await t.store.findByHash(sha256(victim)))?.rotatedAt).not.toBeNull();
          expect((await t.store.findByHash(sha256(planted)))?.rotatedAt ?? null).toBeNull();
        });
      });
    });

    describe('extractors (SPEC §6)', () => {
      it('reads a custom X-Refresh-Token header extractor before the body, by priority', async () => {
        const t = await start({
          extractors: [{ name: 'header', priority: 100, extract: ({ request }) => request.headers.get('x-refresh-token') }],
        });
        const { refresh } = await t.loginTokens();
        const response = await t.app.request('/api/token/refresh', {
          headers: { 'x-refresh-token': refresh },
          json: { refresh_token: 'f'.repeat(128) },
        });
        expect(response.status).toBe(200);
      });

      it('reads the query string only in bundle-compat mode', async () => {
        const strict = await start();
        const a = await strict.loginTokens();
        expect((await strict.app.request(`/api/token/refresh?refresh_token=${a.refresh}`)).status).toBe(401);
        const compat = await start({ bundleCompat: true });
        const b = await compat.loginTokens();
        expect((await compat.app.request(`/api/token/refresh?refresh_token=${b.refresh}`)).status).toBe(200);
      });

      it('trims a JSON string token of surrounding white space, as the bundle does', async () => {
        const t = await start();
        const { refresh } = await t.loginTokens();
        const response = await t.refresh(` \n${refresh}\t `);
        expect(response.status).toBe(200);
        expect((await t.store.findByHash(sha256(refresh)))?.rotatedAt).not.toBeNull();
        expect((await t.refresh('   ')).body).toEqual({ code: 401, message: 'Missing JWT Refresh Token' });
      });

      it("asks in bundle-compat mode in the bundle's order: JSON body, query string, form body, cookie", async () => {
        const t = await start({ bundleCompat: true, cookie: { enabled: true, removeTokenFromBody: false } });
        const unknown = 'f'.repeat(128);
        const refreshWith = (path: string, request: { json?: unknown; body?: string; headers?: Record<string, string> }) =>
          t.app.request(path, request);
        const a = await t.loginTokens();
        // JSON body before the query string.
        expect((await refreshWith(`/api/token/refresh?refresh_token=${unknown}`, { json: { refresh_token: a.refresh } })).status).toBe(200);
        const b = await t.loginTokens();
        // The query string before a form body and before the cookie.
        const fromQuery = await refreshWith(`/api/token/refresh?refresh_token=${b.refresh}`, {
          body: `refresh_token=${unknown}`,
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `refresh_token=${unknown}` },
        });
        expect(fromQuery.status).toBe(200);
        const c = await t.loginTokens();
        // A form body before the cookie.
        const fromForm = await refreshWith('/api/token/refresh', {
          body: `refresh_token=${c.refresh}`,
          headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `refresh_token=${unknown}` },
        });
        expect(fromForm.status).toBe(200);
      });
    });

    describe('events (SPEC §8)', () => {
      it('lets refreshFailure and refreshTokenNotFound listeners replace the response', async () => {
        const t = await start();
        t.app.jwtRefresh.events.on('refreshFailure', (event) => {
          event.response = Response.json({ error: 'session_expired' }, { status: 401 });
        });
        t.app.jwtRefresh.events.on('refreshTokenNotFound', (event) => {
          event.response = Response.json({ error: 'no_token' }, { status: 400 });
        });
        const failed = await t.refresh('f'.repeat(128));
        expect([failed.status, failed.body]).toEqual([401, { error: 'session_expired' }]);
        const missing = await t.app.request('/api/token/refresh', { json: {} });
        expect([missing.status, missing.body]).toEqual([400, { error: 'no_token' }]);
      });

      it('reports a throwing listener and leaves the store consistent', async () => {
        const { logger, entries } = recordingLogger();
        const t = await start({ logger });
        t.app.jwtRefresh.events.on('refresh', () => {
          throw new Error('listener bug');
        });
        const { refresh } = await t.loginTokens();
        const response = await t.refresh(refresh);
        expect(response.status).toBe(200);
        expect(entries.map((entry) => [entry.level, entry.fields.event, entry.message])).toEqual([
          ['error', 'refresh', 'jwt-refresh listener failed'],
        ]);
        // The application's own error, message included, so its author can fix it.
        expect(entries[0]?.fields.error).toEqual({ name: 'Error', message: 'listener bug' });
        const next = body(response).refresh_token as string;
        expect((await t.store.findByHash(sha256(refresh)))?.successorHash).toBe(sha256(next));
        expect((await t.refresh(next)).status).toBe(200);
      });

      it('fires jwtCreated (claims changeable), authenticationSuccess (body changeable) and logout', async () => {
        const t = await start();
        const seen: string[] = [];
        t.app.jwtRefresh.events.on('jwtCreated', ({ claims }) => {
          claims.tenant = 'acme';
        });
        t.app.jwtRefresh.events.on('authenticationSuccess', ({ body: answer }) => {
          answer.welcome = true;
        });
        t.app.jwtRefresh.events.on('logout', ({ revoked }) => {
          seen.push(`logout:${revoked}`);
        });
        const json = body(await t.login());
        expect(json.welcome).toBe(true);
        const me = await t.app.request('/api/me', { method: 'GET', headers: bearer(json.token as string) });
        expect(body(me).tenant).toBe('acme');
        await t.app.request('/api/token/invalidate', { json: { refresh_token: json.refresh_token } });
        expect(seen).toEqual(['logout:true']);
      });
    });

    describe('revocation that reaches access tokens (SPEC §5)', () => {
      it('puts the access token presented at logout on the blocklist', async () => {
        const t = await start();
        // The presented access token belongs to another live session of the same user, so only
        // the blocklist (not the logged-out session's revocation) can end it.
        const presented = await t.loginTokens('alice');
        const loggedOut = await t.loginTokens('alice');
        const bob = await t.loginTokens('bob');
        const logout = await t.app.request('/api/token/invalidate', {
          json: { refresh_token: loggedOut.refresh },
          headers: bearer(presented.token),
        });
        expect(logout.status).toBe(200);
        const me = await t.app.request('/api/me', { method: 'GET', headers: bearer(presented.token) });
        expect([me.status, me.body]).toEqual([401, { code: 401, message: 'Invalid JWT Token' }]);
        expect((await t.app.request('/api/me', { method: 'GET', headers: bearer(bob.token) })).status).toBe(200);
        // Its session lives on: its refresh token still works and yields a usable access token.
        const refreshed = body(await t.refresh(presented.refresh));
        expect((await t.app.request('/api/me', { method: 'GET', headers: bearer(refreshed.token as string) })).status).toBe(200);
      });

      it('ends the access tokens of a logged-out session even when they were not presented', async () => {
        const t = await start();
        const session = await t.loginTokens();
        const other = await t.loginTokens();
        await t.app.request('/api/token/invalidate', { json: { refresh_token: session.refresh } });
        expect((await t.app.request('/api/me', { method: 'GET', headers: bearer(session.token) })).status).toBe(401);
        expect((await t.app.request('/api/me', { method: 'GET', headers: bearer(other.token) })).status).toBe(200);
      });

      it('logs out everywhere: every session and access token of the user, no one else', async () => {
        const t = await start();
        const a = await t.loginTokens('alice');
        const b = await t.loginTokens('alice');
        const bob = await t.loginTokens('bob');
        const response = await t.app.request('/api/sessions/revoke-all', { headers: bearer(a.token) });
        expect(body(response)).toEqual({ code: 200, message: 'All sessions have been revoked.' });
        for (const token of [a.token, b.token]) {
          expect((await t.app.request('/api/me', { method: 'GET', headers: bearer(token) })).status).toBe(401);
        }
        for (const refresh of [a.refresh, b.refresh]) expect((await t.refresh(refresh)).status).toBe(401);
        expect((await t.app.request('/api/me', { method: 'GET', headers: bearer(bob.token) })).status).toBe(200);
        expect((await t.refresh(bob.refresh)).status).toBe(200);
        t.clock.advance(1);
        const fresh = await t.loginTokens('alice');
        expect((await t.app.request('/api/me', { method: 'GET', headers: bearer(fresh.token) })).status).toBe(200);
      });
    });

    describe('sessions (SPEC §9)', () => {
      it('lists my live sessions with metadata and the current one marked', async () => {
        const t = await start();
        const first = await t.app.request('/api/login_check', {
          json: { username: 'alice', password: PASSWORD },
          headers: { 'user-agent': 'Browser/1' },
        });
        t.clock.advance(60);
        const second = body(
          await t.app.request('/api/login_check', {
            json: { username: 'alice', password: PASSWORD },
            headers: { 'user-agent': 'Phone/2' },
          }),
        );
        await t.loginTokens('bob');
        const response = await t.app.request('/api/sessions', { method: 'GET', headers: bearer(second.token as string) });
        expect(response.status).toBe(200);
        const sessions = body(response).sessions as Array<Record<string, unknown>>;
        expect(sessions.map((session) => [session.user_agent, session.current])).toEqual([
          ['Phone/2', true],
          ['Browser/1', false],
        ]);
        expect(sessions[1]!.created_at).toBe(new Date(t.clock().getTime() - 60_000).toISOString());
        expect(Object.keys(sessions[0]!).sort()).toEqual([
          'created_at',
          'current',
          'expires_at',
          'id',
          'ip',
          'last_used_at',
          'metadata',
          'user_agent',
        ]);
        expect(body(first).token).toBeTypeOf('string');
      });

      it("revokes one of my sessions, and answers the same 404 for an unknown id and for another user's", async () => {
        const t = await start();
        const mine = await t.loginTokens('alice');
        const other = await t.loginTokens('alice');
        const bob = await t.loginTokens('bob');
        const list = async (token: string) =>
          body(await t.app.request('/api/sessions', { method: 'GET', headers: bearer(token) })).sessions as Array<{
            id: string;
            current: boolean;
          }>;
        const otherId = (await list(mine.token)).find((session) => !session.current)!.id;
        const bobId = (await list(bob.token))[0]!.id;
        const foreign = await t.app.request('/api/sessions/revoke', { json: { session_id: bobId }, headers: bearer(mine.token) });
        const unknown = await t.app.request('/api/sessions/revoke', { json: { session_id: 'nope' }, headers: bearer(mine.token) });
        expect([foreign.status, foreign.body]).toEqual([404, { code: 404, message: 'Not Found' }]);
        expect([unknown.status, unknown.body]).toEqual([404, foreign.body]);
        expect((await t.refresh(bob.refresh)).status).toBe(200);
        const revoked = await t.app.request('/api/sessions/revoke', { json: { session_id: otherId }, headers: bearer(mine.token) });
        expect(body(revoked)).toEqual({ code: 200, message: 'The session has been revoked.' });
        expect((await t.refresh(other.refresh)).status).toBe(401);
        expect(await list(mine.token)).toHaveLength(1);
      });

      it('revokes all my other sessions, keeping the current one', async () => {
        const t = await start();
        const current = await t.loginTokens();
        const others = [await t.loginTokens(), await t.loginTokens()];
        const response = await t.app.request('/api/sessions/revoke-others', { headers: bearer(current.token) });
        expect(body(response)).toEqual({ code: 200, message: '2 other session(s) revoked.' });
        for (const other of others) expect((await t.refresh(other.refresh)).status).toBe(401);
        expect((await t.refresh(current.refresh)).status).toBe(200);
      });

      it('refuses the sessions routes without a valid access token', async () => {
        const t = await start();
        const response = await t.app.request('/api/sessions', { method: 'GET' });
        expect([response.status, response.body]).toEqual([401, { code: 401, message: 'JWT Token not found' }]);
      });
    });

    describe('rate limits', () => {
      it('answers 429 with Retry-After past the login limit, per client IP', async () => {
        const t = await start({ rateLimit: { enabled: true, login: 3, windowSeconds: 60 } });
        for (let attempt = 0; attempt < 3; attempt += 1) {
          expect((await t.app.request('/api/login_check', { json: { username: 'alice', password: 'wrong' } })).status).toBe(401);
        }
        const limited = await t.login();
        expect(limited.status).toBe(429);
        expect(body(limited)).toEqual({ code: 429, message: 'Too many requests.' });
        const retryAfter = Number(limited.headers.get('retry-after'));
        expect(retryAfter).toBeGreaterThan(0);
        expect(retryAfter).toBeLessThanOrEqual(60);
        t.clock.advance(retryAfter);
        expect((await t.login()).status).toBe(200);
      });

      it('limits refreshes per token family, whatever the address', async () => {
        const t = await start({ rateLimit: { enabled: true, family: 2, windowSeconds: 60 }, singleUse: false });
        const { refresh } = await t.loginTokens();
        expect((await t.refresh(refresh)).status).toBe(200);
        expect((await t.refresh(refresh)).status).toBe(200);
        const limited = await t.refresh(refresh);
        expect(limited.status).toBe(429);
        expect(limited.headers.get('retry-after')).not.toBeNull();
        const other = await t.loginTokens();
        expect((await t.refresh(other.refresh)).status).toBe(200);
      });

      it('keys on X-Forwarded-For only when trustProxy is on', async () => {
        const spoofing = await start({ rateLimit: { enabled: true, login: 1 } });
        expect(
          (
            await spoofing.app.request('/api/login_check', {
              json: { username: 'alice', password: PASSWORD },
              headers: { 'x-forwarded-for': '198.51.100.1' },
            })
          ).status,
        ).toBe(200);
        expect(
          (
            await spoofing.app.request('/api/login_check', {
              json: { username: 'alice', password: PASSWORD },
              headers: { 'x-forwarded-for': '198.51.100.2' },
            })
          ).status,
        ).toBe(429);
        const proxied = await start({ rateLimit: { enabled: true, login: 1 }, trustProxy: true });
        expect(
          (
            await proxied.app.request('/api/login_check', {
              json: { username: 'alice', password: PASSWORD },
              headers: { 'x-forwarded-for': '198.51.100.1' },
            })
          ).status,
        ).toBe(200);
        expect(
          (
            await proxied.app.request('/api/login_check', {
              json: { username: 'alice', password: PASSWORD },
              headers: { 'x-forwarded-for': '198.51.100.2' },
            })
          ).status,
        ).toBe(200);
      });

      it('behind a chain of trustProxy N proxies keys on the N-th entry from the right, ignoring forged ones', async () => {
        const t = await start({ rateLimit: { enabled: true, login: 1 }, trustProxy: 2 });
        const viaCdn = (forwarded: string) =>
          t.app.request('/api/login_check', { json: { username: 'alice', password: PASSWORD }, headers: { 'x-forwarded-for': forwarded } });
        // Client, then the CDN's address appended by the load balancer.
        expect((await viaCdn('198.51.100.1, 203.0.113.9')).status).toBe(200);
        expect((await viaCdn('198.51.100.2, 203.0.113.9')).status).toBe(200);
        // A forged entry further left changes nothing: the client is still 198.51.100.1.
        const forged = await viaCdn('192.0.2.77, 198.51.100.1, 203.0.113.9');
        expect([forged.status, forged.headers.get('retry-after') !== null]).toEqual([429, true]);
      });
    });

    describe('keys and JWKS (SPEC §1)', () => {
      it('publishes the public keys; after a key rotation old tokens still verify and new ones use the new kid', async () => {
        const oldKey = await generateKeyPair('ES256');
        const newKey = await generateKeyPair('ES256');
        const before = await start({ jwt: { secretKey: oldKey.privateKeyPem!, kid: 'k1' } });
        const oldToken = (await before.loginTokens()).token;
        expect(decodeProtectedHeader(oldToken).kid).toBe('k1');

        const after = await start({
          jwt: { secretKey: newKey.privateKeyPem!, kid: 'k2', verificationKeys: [{ kid: 'k1', key: oldKey.publicKeyPem! }] },
        });
        const jwksResponse = await after.app.request('/.well-known/jwks.json', { method: 'GET' });
        expect(jwksResponse.status).toBe(200);
        const jwks = body(jwksResponse) as { keys: Array<Record<string, unknown>> };
        expect(jwks.keys.map((key) => [key.kid, key.alg, key.use, key.kty, key.crv])).toEqual([
          ['k2', 'ES256', 'sig', 'EC', 'P-256'],
          ['k1', 'ES256', 'sig', 'EC', 'P-256'],
        ]);
        expect(jwks.keys.some((key) => 'd' in key)).toBe(false);
        const newToken = (await after.loginTokens()).token;
        expect(decodeProtectedHeader(newToken).kid).toBe('k2');
        await expect(jwtVerify(newToken, createLocalJWKSet(jwks as never), { currentDate: after.clock() })).resolves.toBeDefined();
        await expect(jwtVerify(oldToken, createLocalJWKSet(jwks as never), { currentDate: before.clock() })).resolves.toBeDefined();
        for (const token of [oldToken, newToken]) {
          expect((await after.app.request('/api/me', { method: 'GET', headers: bearer(token) })).status).toBe(200);
        }
        const stranger = await generateKeyPair('ES256');
        const foreign = await start({ jwt: { secretKey: stranger.privateKeyPem!, kid: 'k1' } });
        const forged = (await foreign.loginTokens()).token;
        expect((await after.app.request('/api/me', { method: 'GET', headers: bearer(forged) })).status).toBe(401);
      });

      it('never publishes an HMAC secret', async () => {
        const t = await start({ jwt: { algorithm: 'HS256', secretKey: 'x'.repeat(32) } });
        expect(body(await t.app.request('/.well-known/jwks.json', { method: 'GET' }))).toEqual({ keys: [] });
      });
    });

    describe('OAuth endpoints (RFC 6749 §5–6, RFC 7009)', () => {
      const form = (fields: Record<string, string>) => ({
        body: new URLSearchParams(fields).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });

      it('are off by default', async () => {
        const t = await start();
        expect((await t.app.request('/oauth/token', form({ grant_type: 'refresh_token' }))).status).toBe(404);
      });

      it('trades a refresh token per RFC 6749 §5.1 and refuses a bad one with invalid_grant', async () => {
        const t = await start({ oauthEndpoints: true, jwt: { tokenTtl: 900 } });
        const { refresh } = await t.loginTokens();
        const response = await t.app.request('/oauth/token', form({ grant_type: 'refresh_token', refresh_token: refresh }));
        expect(response.status).toBe(200);
        expect(response.headers.get('cache-control')).toBe('no-store');
        expect(response.headers.get('pragma')).toBe('no-cache');
        const json = body(response);
        expect(json).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
        expect(json.refresh_token).toMatch(HEX_128);
        expect((await t.app.request('/api/me', { method: 'GET', headers: bearer(json.access_token as string) })).status).toBe(200);
        t.clock.advance(11);
        const reused = await t.app.request('/oauth/token', form({ grant_type: 'refresh_token', refresh_token: refresh }));
        expect(reused.status).toBe(400);
        expect(reused.headers.get('cache-control')).toBe('no-store');
        expect(body(reused)).toMatchObject({ error: 'invalid_grant' });
        const unsupported = await t.app.request('/oauth/token', form({ grant_type: 'password', username: 'alice' }));
        expect(body(unsupported)).toMatchObject({ error: 'unsupported_grant_type' });
        const missing = await t.app.request('/oauth/token', form({ grant_type: 'refresh_token' }));
        expect(body(missing)).toMatchObject({ error: 'invalid_request' });
      });

      it('revokes per RFC 7009: 200 for unknown tokens, and a revoked refresh token ends its access tokens', async () => {
        const t = await start({ oauthEndpoints: true });
        const session = await t.loginTokens();
        const unknown = await t.app.request('/oauth/revoke', form({ token: 'f'.repeat(128) }));
        expect(unknown.status).toBe(200);
        const revoked = await t.app.request('/oauth/revoke', form({ token: session.refresh, token_type_hint: 'refresh_token' }));
        expect(revoked.status).toBe(200);
        expect((await t.refresh(session.refresh)).status).toBe(401);
        expect((await t.app.request('/api/me', { method: 'GET', headers: bearer(session.token) })).status).toBe(401);
        const other = await t.loginTokens();
        expect((await t.app.request('/oauth/revoke', form({ token: other.token, token_type_hint: 'access_token' }))).status).toBe(200);
        expect((await t.app.request('/api/me', { method: 'GET', headers: bearer(other.token) })).status).toBe(401);
        expect((await t.refresh(other.refresh)).status).toBe(200);
        expect(body(await t.app.request('/oauth/revoke', form({})))).toMatchObject({ error: 'invalid_request' });
      });
    });

    describe('POST /api/token/revoke (SPEC §5, RFC 7009)', () => {
      const form = (fields: Record<string, string>) => ({
        body: new URLSearchParams(fields).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });

      it('ends a refresh token’s session, blocklists an access token, and answers 200 {} for unknown tokens too', async () => {
        const t = await start();
        const session = await t.loginTokens();
        const unknown = await t.app.request('/api/token/revoke', form({ token: 'f'.repeat(128) }));
        expect([unknown.status, unknown.body]).toEqual([200, {}]);
        expect(unknown.headers.get('cache-control')).toBe('no-store');
        const revoked = await t.app.request('/api/token/revoke', form({ token: session.refresh, token_type_hint: 'refresh_token' }));
        expect([revoked.status, revoked.body]).toEqual([200, {}]);
        expect((await t.refresh(session.refresh)).status).toBe(401);
        expect((await t.app.request('/api/me', { method: 'GET', headers: bearer(session.token) })).status).toBe(401);
        const other = await t.loginTokens();
        // JSON too, and a wrong hint is only a hint.
        const access = await t.app.request('/api/token/revoke', { json: { token: other.token, token_type_hint: 'refresh_token' } });
        expect(access.status).toBe(200);
        expect((await t.app.request('/api/me', { method: 'GET', headers: bearer(other.token) })).status).toBe(401);
        expect((await t.refresh(other.refresh)).status).toBe(200);
      });

      it('answers 400 invalid_request without a token, and is gone when routes.revoke is null', async () => {
        const t = await start();
        const missing = await t.app.request('/api/token/revoke', form({ token_type_hint: 'refresh_token' }));
        expect([missing.status, missing.body]).toEqual([400, { error: 'invalid_request', error_description: 'Missing token.' }]);
        const off = await start({ routes: { revoke: null } });
        expect((await off.app.request('/api/token/revoke', form({ token: 'f'.repeat(128) }))).status).toBe(404);
      });
    });

    describe('access-token renewal (SPEC §3b)', () => {
      it('is off by default', async () => {
        const t = await start();
        const { token } = await t.loginTokens();
        expect((await t.app.request('/api/token/renew', { headers: bearer(token) })).status).toBe(404);
      });

      it('renews a valid token, keeping auth_time and sid, up to maxSessionLifetime', async () => {
        const t = await start({ accessTokenRenewal: true, maxSessionLifetime: 5000, jwt: { tokenTtl: 3600 } });
        const { token } = await t.loginTokens();
        const original = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, number>;
        t.clock.advance(3000);
        const renewed = await t.app.request('/api/token/renew', { headers: bearer(token) });
        expect(renewed.status).toBe(200);
        const next = body(renewed).token as string;
        const claims = JSON.parse(Buffer.from(next.split('.')[1]!, 'base64url').toString()) as Record<string, number>;
        expect(claims.auth_time).toBe(original.auth_time);
        expect(claims.sid).toBe(original.sid);
        expect(claims.exp).toBe(original.auth_time! + 5000);
        t.clock.advance(2000);
        expect((await t.app.request('/api/token/renew', { headers: bearer(next) })).status).toBe(401);
      });

      it('keeps the login auth_time through refreshes, so renewal still ends at the family deadline', async () => {
        const t = await start({ accessTokenRenewal: true, maxSessionLifetime: 5000, jwt: { tokenTtl: 3600 } });
        const { token, refresh } = await t.loginTokens();
        const original = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, number>;
        t.clock.advance(3000);
        const refreshed = await t.app.request('/api/token/refresh', { json: { refresh_token: refresh } });
        expect(refreshed.status).toBe(200);
        const access = body(refreshed).token as string;
        const claims = JSON.parse(Buffer.from(access.split('.')[1]!, 'base64url').toString()) as Record<string, number>;
        expect(claims.auth_time).toBe(original.auth_time);
        const renewed = await t.app.request('/api/token/renew', { headers: bearer(access) });
        expect(renewed.status).toBe(200);
        const next = JSON.parse(Buffer.from((body(renewed).token as string).split('.')[1]!, 'base64url').toString()) as Record<
          string,
          number
        >;
        expect(next.exp).toBe(original.auth_time! + 5000);
        // The refreshed token itself ends at the deadline too, so nothing renews past it.
        expect(claims.exp).toBe(original.auth_time! + 5000);
        t.clock.advance(2000);
        const late = await t.app.request('/api/token/renew', { headers: bearer(access) });
        expect([late.status, late.body]).toEqual([401, { code: 401, message: 'Expired JWT Token' }]);
      });

      it('reloads the user like a refresh: current roles carried, a disabled or deleted user refused', async () => {
        const t = await start({ accessTokenRenewal: true });
        const bob = await t.loginTokens('bob');
        const alice = await t.loginTokens('alice');
        const claimsOf = (token: string) =>
          JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
        const bobUser = t.users.find((user) => user.identifier === 'bob')!;
        bobUser.roles = ['ROLE_USER'];
        const renewed = await t.app.request('/api/token/renew', { headers: bearer(bob.token) });
        expect(renewed.status).toBe(200);
        expect(claimsOf(body(renewed).token as string).roles).toEqual(['ROLE_USER']);
        bobUser.enabled = false;
        const disabled = await t.app.request('/api/token/renew', { headers: bearer(bob.token) });
        expect([disabled.status, disabled.body]).toEqual([401, { code: 401, message: 'Account is disabled.' }]);
        t.users.splice(
          t.users.findIndex((user) => user.identifier === 'alice'),
          1,
        );
        const deleted = await t.app.request('/api/token/renew', { headers: bearer(alice.token) });
        expect([deleted.status, deleted.body]).toEqual([401, { code: 401, message: 'Invalid JWT Token' }]);
      });

      it('refuses a blocklisted token and a missing one', async () => {
        const t = await start({ accessTokenRenewal: true });
        const { token, refresh } = await t.loginTokens();
        await t.app.request('/api/token/invalidate', { json: { refresh_token: refresh }, headers: bearer(token) });
        const response = await t.app.request('/api/token/renew', { headers: bearer(token) });
        expect([response.status, response.body]).toEqual([401, { code: 401, message: 'Invalid JWT Token' }]);
        expect(body(await t.app.request('/api/token/renew', {}))).toEqual({ code: 401, message: 'JWT Token not found' });
      });
    });

    describe('OpenAPI', () => {
      it('describes every route the configuration serves', async () => {
        const t = await start({ oauthEndpoints: true, accessTokenRenewal: true });
        const document = body(await t.app.request('/api/openapi.json', { method: 'GET' })) as {
          openapi: string;
          paths: Record<string, Record<string, { operationId: string }>>;
        };
        expect(document.openapi).toBe('3.1.0');
        const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
          Object.entries(methods).map(([method, operation]) => `${method.toUpperCase()} ${path} ${operation.operationId}`),
        );
        expect(operations.sort()).toEqual(t.app.jwtRefresh.routes.map((route) => `${route.method} ${route.path} ${route.name}`).sort());
        expect(operations).toContain('POST /api/token/refresh refresh');
        expect(operations).toContain('POST /oauth/token oauthToken');
      });
    });
  });
}
