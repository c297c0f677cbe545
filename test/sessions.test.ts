/**
 * The session API (SPEC §13, docs/sessions.md): each use case called from
 * code, as an application calls it after its own login, from a password-change
 * handler, an admin screen or a queue worker. Run on the memory store and on
 * SQLite, the embedded default; the store conformance suite runs the same use
 * cases on every other store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import type { User } from '../src/auth/user.js';
import { createJwtRefresh, type JwtRefresh, type JwtRefreshOptions } from '../src/create-jwt-refresh.js';
import {
  AccessDeniedError,
  AccountDisabledError,
  InvalidCredentialsError,
  JwtExpiredError,
  JwtInvalidError,
  RefreshTokenInvalidError,
  SessionMetadataError,
} from '../src/errors.js';
import type { JwtRefreshEventName, JwtRefreshEvents } from '../src/events.js';
import { createMemoryStore } from '../src/stores/memory.js';
import { createSqliteStore } from '../src/stores/sqlite.js';
import type { RefreshTokenStore } from '../src/stores/store.js';
import { testOptions } from './support/app-options.js';
import type { MovableClock } from './support/clock.js';
import { PASSWORD, sha256 } from './support/http-harness.js';

interface Backend {
  name: string;
  open(): { store: RefreshTokenStore; cleanup(): void };
}

const backends: Backend[] = [
  { name: 'memory', open: () => ({ store: createMemoryStore(), cleanup: () => {} }) },
  {
    name: 'sqlite',
    open() {
      const dir = mkdtempSync(join(tmpdir(), 'jwt-refresh-sessions-'));
      return {
        store: createSqliteStore({ filename: join(dir, 'tokens.sqlite') }),
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    },
  },
];

describe.each(backends)('session API on $name', (backend) => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  interface Started {
    jwtRefresh: JwtRefresh;
    clock: MovableClock;
    users: User[];
    alice: User;
    bob: User;
    /** Every payload of `event`, in order. */
    seen<E extends JwtRefreshEventName>(event: E): Array<JwtRefreshEvents[E]>;
  }

  async function start(overrides: Partial<JwtRefreshOptions> = {}): Promise<Started> {
    const { store, cleanup } = backend.open();
    const fixture = await testOptions({ ...overrides, store });
    const jwtRefresh = await createJwtRefresh(fixture.options);
    cleanups.push(async () => {
      await jwtRefresh.close();
      cleanup();
    });
    const payloads = new Map<JwtRefreshEventName, unknown[]>();
    const seen = <E extends JwtRefreshEventName>(event: E): Array<JwtRefreshEvents[E]> => {
      if (!payloads.has(event)) {
        const list: unknown[] = [];
        payloads.set(event, list);
        jwtRefresh.events.on(event, (payload) => {
          list.push(payload);
        });
      }
      return payloads.get(event) as Array<JwtRefreshEvents[E]>;
    };
    return { jwtRefresh, clock: fixture.clock, users: fixture.users, alice: fixture.users[0]!, bob: fixture.users[1]!, seen };
  }

  /** A user who never had a password: signed in through an identity provider. */
  const socialUser: User = { id: 'u-dora', identifier: 'dora@example.com', roles: ['ROLE_USER'] };

  describe('issueSession', () => {
    it('starts a session for a user without a password, with metadata, firing jwtCreated and authenticationSuccess without a request', async () => {
      const t = await start();
      const created = t.seen('jwtCreated');
      const succeeded = t.seen('authenticationSuccess');
      const session = await t.jwtRefresh.issueSession(socialUser, {
        client: { userAgent: 'Pixel 9', ip: '198.51.100.7' },
        metadata: { login: 'google', device: 'Pixel 9' },
      });

      expect(session.refreshToken).toMatch(/^[0-9a-f]{128}$/);
      expect(session.responseBody).toEqual({ token: session.accessToken, refresh_token: session.refreshToken });
      const claims = decodeJwt(session.accessToken);
      expect(claims).toMatchObject({ sub: 'u-dora', username: 'dora@example.com', roles: ['ROLE_USER'], sid: session.sessionId });
      expect(session.accessTokenExpiresAt.getTime()).toBe(claims.exp! * 1000);
      expect(session.refreshTokenExpiresAt.getTime()).toBe(t.clock().getTime() + 2_592_000_000);
      const stored = await t.jwtRefresh.store.findByHash(sha256(session.refreshToken));
      expect(stored).toMatchObject({ userId: 'u-dora', familyId: session.sessionId, userAgent: 'Pixel 9', ip: '198.51.100.7' });
      expect(JSON.parse(stored!.metadata!)).toEqual({ login: 'google', device: 'Pixel 9' });
      expect(created.map((event) => event.user.id)).toEqual(['u-dora']);
      expect(succeeded).toHaveLength(1);
      expect(succeeded[0]!.request).toBeUndefined();
      // The refresh token is usable as any login's (the user provider must know the user to reload it).
      t.users.push(socialUser);
      expect((await t.jwtRefresh.refreshSession(session.refreshToken)).sessionId).toBe(session.sessionId);
    });

    it("hands an application's own callback the refresh cookie in cookie mode, as the login route sets it", async () => {
      const cookieMode = await start({ cookie: { enabled: true } });
      const session = await cookieMode.jwtRefresh.issueSession(socialUser);
      expect(session.responseBody).toEqual({ token: session.accessToken });
      const cookie = cookieMode.jwtRefresh.sessionCookie(session);
      expect(cookie).toMatch(new RegExp(`^refresh_token=${session.refreshToken}; `));
      expect(cookie).toContain('Max-Age=2592000');
      expect(cookie?.split('; ')).toEqual(expect.arrayContaining(['Path=/', 'HttpOnly', 'Secure', 'SameSite=Lax']));

      const bodyMode = await start();
      expect(bodyMode.jwtRefresh.sessionCookie(await bodyMode.jwtRefresh.issueSession(socialUser))).toBeNull();
    });

    it('runs the user checker: a disabled user gets no session and nothing is stored', async () => {
      const t = await start();
      const carol = t.users[2]!;
      await expect(t.jwtRefresh.issueSession(carol)).rejects.toBeInstanceOf(AccountDisabledError);
      expect(await t.jwtRefresh.listSessions(carol.id)).toEqual([]);
      expect(await t.jwtRefresh.store.count()).toBe(0);
    });

    it.each([
      ['an array', ['a']],
      ['a class instance', { when: new Date() }],
      ['a function', { f: () => 1 }],
      ['a non-finite number', { n: Number.NaN }],
      ['JSON over 1024 bytes', { blob: 'x'.repeat(1100) }],
      ['nesting deeper than 8', { a: { b: { c: { d: { e: { f: { g: { h: { i: { j: 1 } } } } } } } } } }],
    ])('refuses metadata that is %s and stores nothing', async (_case, metadata) => {
      const t = await start();
      await expect(t.jwtRefresh.issueSession(t.alice, { metadata: metadata as never })).rejects.toBeInstanceOf(SessionMetadataError);
      expect(await t.jwtRefresh.store.count()).toBe(0);
    });

    it('honours maxTokensPerUser and maxSessionLifetime', async () => {
      const t = await start({ maxTokensPerUser: 2, maxSessionLifetime: 600, jwt: { tokenTtl: 3600 } });
      const sessions = [];
      for (let i = 0; i < 3; i += 1) {
        t.clock.advance(1);
        sessions.push(await t.jwtRefresh.issueSession(t.alice));
      }
      expect((await t.jwtRefresh.listSessions(t.alice.id)).map((session) => session.sessionId)).toEqual([
        sessions[2]!.sessionId,
        sessions[1]!.sessionId,
      ]);
      await expect(t.jwtRefresh.refreshSession(sessions[0]!.refreshToken)).rejects.toBeInstanceOf(RefreshTokenInvalidError);
      // Neither token outlives the session's absolute deadline.
      const deadline = t.clock().getTime() + 600_000;
      expect(sessions[2]!.accessTokenExpiresAt.getTime()).toBe(deadline);
      expect(sessions[2]!.refreshTokenExpiresAt.getTime()).toBe(deadline);
    });
  });

  describe('logInWithPassword', () => {
    it('checks the credentials and starts a session; a wrong password fires authenticationFailure and stores nothing', async () => {
      const t = await start();
      const failures = t.seen('authenticationFailure');
      await expect(t.jwtRefresh.logInWithPassword('alice', 'wrong')).rejects.toBeInstanceOf(InvalidCredentialsError);
      expect(failures.map((event) => [event.error.code, event.request])).toEqual([['ERR_INVALID_CREDENTIALS', undefined]]);
      expect(await t.jwtRefresh.store.count()).toBe(0);
      const session = await t.jwtRefresh.logInWithPassword('alice', PASSWORD);
      expect(decodeJwt(session.accessToken).sub).toBe('u-alice');
    });
  });

  describe('refreshSession', () => {
    it('rotates the token, keeps the session and its metadata, and fires refresh without a request', async () => {
      const t = await start();
      const refreshes = t.seen('refresh');
      const first = await t.jwtRefresh.issueSession(t.alice, { metadata: { device: 'laptop' } });
      t.clock.advance(5);
      const second = await t.jwtRefresh.refreshSession(first.refreshToken, { client: { ip: '203.0.113.9' } });
      expect(second.sessionId).toBe(first.sessionId);
      expect(second.refreshToken).not.toBe(first.refreshToken);
      expect(decodeJwt(second.accessToken).sid).toBe(first.sessionId);
      expect(refreshes.map((event) => [event.record.familyId, event.request])).toEqual([[first.sessionId, undefined]]);
      const [listed] = await t.jwtRefresh.listSessions(t.alice.id);
      expect(listed).toMatchObject({ sessionId: first.sessionId, metadata: { device: 'laptop' }, ip: '203.0.113.9' });
    });

    it('refuses an unknown token, and revokes the family when a rotated token comes back after the grace window', async () => {
      const t = await start();
      const reused = t.seen('refreshTokenReused');
      await expect(t.jwtRefresh.refreshSession('f'.repeat(128))).rejects.toBeInstanceOf(RefreshTokenInvalidError);
      const first = await t.jwtRefresh.issueSession(t.alice);
      const second = await t.jwtRefresh.refreshSession(first.refreshToken);
      t.clock.advance(11);
      await expect(t.jwtRefresh.refreshSession(first.refreshToken)).rejects.toBeInstanceOf(RefreshTokenInvalidError);
      expect(reused.map((event) => [event.record.familyId, event.request])).toEqual([[first.sessionId, undefined]]);
      await expect(t.jwtRefresh.refreshSession(second.refreshToken)).rejects.toBeInstanceOf(RefreshTokenInvalidError);
    });

    it('answers in the OAuth 2.0 shape when asked', async () => {
      const t = await start();
      const first = await t.jwtRefresh.issueSession(t.alice);
      const second = await t.jwtRefresh.refreshSession(first.refreshToken, { format: 'oauth' });
      expect(second.responseBody).toEqual({
        access_token: second.accessToken,
        token_type: 'Bearer',
        expires_in: 3600,
        refresh_token: second.refreshToken,
      });
    });
  });

  describe('endSession', () => {
    it('ends the session and its access tokens, and says so; a second logout finds it already invalid', async () => {
      const t = await start();
      const logouts = t.seen('logout');
      const session = await t.jwtRefresh.issueSession(t.alice);
      expect(await t.jwtRefresh.endSession(session.refreshToken)).toEqual({ ended: true, sessionId: session.sessionId });
      await expect(t.jwtRefresh.verifyAccessToken(session.accessToken)).rejects.toBeInstanceOf(JwtInvalidError);
      await expect(t.jwtRefresh.refreshSession(session.refreshToken)).rejects.toBeInstanceOf(RefreshTokenInvalidError);
      expect(await t.jwtRefresh.endSession(session.refreshToken)).toEqual({ ended: false, sessionId: session.sessionId });
      expect(await t.jwtRefresh.endSession('f'.repeat(128))).toEqual({ ended: false, sessionId: null });
      expect(logouts.map((event) => [event.revoked, event.request])).toEqual([
        [true, undefined],
        [false, undefined],
        [false, undefined],
      ]);
    });

    it('ends the session when the presented token was rotated away, inside the grace window and after it', async () => {
      const t = await start();
      for (const wait of [0, 60]) {
        const first = await t.jwtRefresh.issueSession(t.alice);
        const second = await t.jwtRefresh.refreshSession(first.refreshToken);
        t.clock.advance(wait);
        expect(await t.jwtRefresh.endSession(first.refreshToken)).toEqual({ ended: true, sessionId: first.sessionId });
        await expect(t.jwtRefresh.refreshSession(second.refreshToken)).rejects.toBeInstanceOf(RefreshTokenInvalidError);
        await expect(t.jwtRefresh.verifyAccessToken(second.accessToken)).rejects.toBeInstanceOf(JwtInvalidError);
      }
    });

    it("leaves a token alone when the caller's access token is another user's", async () => {
      const t = await start();
      const alices = await t.jwtRefresh.issueSession(t.alice);
      const bobs = await t.jwtRefresh.issueSession(t.bob);
      expect((await t.jwtRefresh.endSession(alices.refreshToken, { accessToken: bobs.accessToken })).ended).toBe(false);
      expect((await t.jwtRefresh.refreshSession(alices.refreshToken)).sessionId).toBe(alices.sessionId);
      // Bob's access token is not blocklisted by a logout of someone else's token.
      expect((await t.jwtRefresh.verifyAccessToken(bobs.accessToken)).sub).toBe('u-bob');
    });
  });

  describe('renewAccessToken', () => {
    it('signs a fresh access token for the same session with the user current roles; a logged-out one is refused', async () => {
      const t = await start({ accessTokenRenewal: true });
      const session = await t.jwtRefresh.issueSession(t.alice);
      t.alice.roles = ['ROLE_USER', 'ROLE_EDITOR'];
      t.clock.advance(10);
      const renewed = await t.jwtRefresh.renewAccessToken(session.accessToken);
      expect(decodeJwt(renewed.accessToken)).toMatchObject({ sid: session.sessionId, roles: ['ROLE_USER', 'ROLE_EDITOR'] });
      expect(renewed.responseBody).toEqual({ token: renewed.accessToken });
      await t.jwtRefresh.endSession(session.refreshToken);
      await expect(t.jwtRefresh.renewAccessToken(renewed.accessToken)).rejects.toBeInstanceOf(JwtInvalidError);
    });
  });

  describe('verifyAccessToken', () => {
    it('answers the claims, checks the role, and refuses expired and tampered tokens', async () => {
      const t = await start();
      const session = await t.jwtRefresh.issueSession(t.bob);
      expect(await t.jwtRefresh.verifyAccessToken(session.accessToken, { role: 'ROLE_ADMIN' })).toMatchObject({ sub: 'u-bob' });
      await expect(t.jwtRefresh.verifyAccessToken(session.accessToken, { role: 'ROLE_ROOT' })).rejects.toBeInstanceOf(AccessDeniedError);
      await expect(t.jwtRefresh.verifyAccessToken(`${session.accessToken.slice(0, -2)}AA`)).rejects.toBeInstanceOf(JwtInvalidError);
      t.clock.advance(3601);
      await expect(t.jwtRefresh.verifyAccessToken(session.accessToken)).rejects.toBeInstanceOf(JwtExpiredError);
    });
  });

  describe('listSessions, revokeSession, revokeOtherSessions', () => {
    it('lists live sessions newest first with metadata, marks the current one, and revokes only the owner sessions', async () => {
      const t = await start();
      const revoked = t.seen('refreshTokenRevoked');
      const laptop = await t.jwtRefresh.issueSession(t.alice, { metadata: { device: 'laptop' } });
      t.clock.advance(1);
      const phone = await t.jwtRefresh.issueSession(t.alice, { metadata: { device: 'phone' } });
      t.clock.advance(1);
      const tablet = await t.jwtRefresh.issueSession(t.alice);
      const listed = await t.jwtRefresh.listSessions(t.alice.id, { currentSessionId: phone.sessionId });
      expect(listed.map((session) => [session.sessionId, session.metadata, session.current])).toEqual([
        [tablet.sessionId, null, false],
        [phone.sessionId, { device: 'phone' }, true],
        [laptop.sessionId, { device: 'laptop' }, false],
      ]);

      // Another user naming Alice's session revokes nothing.
      expect(await t.jwtRefresh.revokeSession(t.bob.id, laptop.sessionId)).toBe(0);
      expect(await t.jwtRefresh.revokeSession(t.alice.id, laptop.sessionId)).toBe(1);
      await expect(t.jwtRefresh.verifyAccessToken(laptop.accessToken)).rejects.toBeInstanceOf(JwtInvalidError);
      expect(revoked.map((event) => [event.familyId, event.userId, event.reason])).toEqual([[laptop.sessionId, 'u-alice', 'logout']]);

      expect(await t.jwtRefresh.revokeOtherSessions(t.alice.id, phone.sessionId)).toBe(1);
      expect((await t.jwtRefresh.listSessions(t.alice.id)).map((session) => session.sessionId)).toEqual([phone.sessionId]);
      await expect(t.jwtRefresh.refreshSession(tablet.refreshToken)).rejects.toBeInstanceOf(RefreshTokenInvalidError);
      expect((await t.jwtRefresh.verifyAccessToken(phone.accessToken)).sid).toBe(phone.sessionId);
    });
  });

  describe('revokeAllSessions', () => {
    it("logs the user out everywhere, live access tokens included, and leaves other users' sessions alone", async () => {
      const t = await start();
      const one = await t.jwtRefresh.issueSession(t.alice);
      const two = await t.jwtRefresh.issueSession(t.alice);
      const bobs = await t.jwtRefresh.issueSession(t.bob);
      expect(await t.jwtRefresh.revokeAllSessions(t.alice.id)).toBe(2);
      for (const session of [one, two]) {
        await expect(t.jwtRefresh.verifyAccessToken(session.accessToken)).rejects.toBeInstanceOf(JwtInvalidError);
        await expect(t.jwtRefresh.refreshSession(session.refreshToken)).rejects.toBeInstanceOf(RefreshTokenInvalidError);
      }
      expect((await t.jwtRefresh.refreshSession(bobs.refreshToken)).sessionId).toBe(bobs.sessionId);
      // The new login after the password change works at once, in the very same second.
      const fresh = await t.jwtRefresh.issueSession(t.alice);
      expect((await t.jwtRefresh.verifyAccessToken(fresh.accessToken)).sid).toBe(fresh.sessionId);
      // A sessionless token of that second (createAccessToken) cannot be told apart, and is refused.
      await expect(t.jwtRefresh.verifyAccessToken(await t.jwtRefresh.createAccessToken(t.alice))).rejects.toBeInstanceOf(JwtInvalidError);
    });

    it('reaches access tokens that name the user by identifier only', async () => {
      const t = await start({ jwt: { setSubject: false } });
      const session = await t.jwtRefresh.issueSession(t.alice);
      await t.jwtRefresh.revokeAllSessions(t.alice.id);
      await expect(t.jwtRefresh.verifyAccessToken(session.accessToken)).rejects.toBeInstanceOf(JwtInvalidError);
    });
  });

  describe('revokeToken', () => {
    it('blocks an access token and ends a refresh token session (RFC 7009); an unknown token changes nothing', async () => {
      const t = await start();
      const session = await t.jwtRefresh.issueSession(t.alice);
      await t.jwtRefresh.revokeToken(session.accessToken);
      await expect(t.jwtRefresh.verifyAccessToken(session.accessToken)).rejects.toBeInstanceOf(JwtInvalidError);
      expect((await t.jwtRefresh.refreshSession(session.refreshToken)).sessionId).toBe(session.sessionId);
      const other = await t.jwtRefresh.issueSession(t.alice);
      await t.jwtRefresh.revokeToken('not-a-token');
      await t.jwtRefresh.revokeToken(other.refreshToken, { tokenTypeHint: 'refresh_token' });
      await expect(t.jwtRefresh.refreshSession(other.refreshToken)).rejects.toBeInstanceOf(RefreshTokenInvalidError);
    });
  });

  describe('clearExpiredTokens', () => {
    it('deletes tokens expired before the cutoff in batches and keeps live ones', async () => {
      const t = await start({ ttl: 60 });
      for (let i = 0; i < 5; i += 1) await t.jwtRefresh.issueSession(t.alice);
      t.clock.advance(61);
      const live = await t.jwtRefresh.issueSession(t.alice);
      const batches: number[] = [];
      const cleared = await t.jwtRefresh.clearExpiredTokens({
        before: t.clock(),
        batchSize: 2,
        afterBatch: (total) => batches.push(total),
      });
      expect(cleared).toMatchObject({ deleted: 5, interrupted: false });
      expect(batches).toEqual([2, 4, 5]);
      expect(await t.jwtRefresh.store.count()).toBe(1);
      expect((await t.jwtRefresh.refreshSession(live.refreshToken)).sessionId).toBe(live.sessionId);
    });
  });
});
