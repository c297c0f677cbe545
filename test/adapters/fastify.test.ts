import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import { jwtRefreshPlugin } from '../../src/adapters/fastify.js';
import { createJwtRefresh, type JwtRefresh } from '../../src/create-jwt-refresh.js';
import { runHttpFeatureConformance } from '../conformance/http-features.suite.js';
import { runHttpConformance } from '../conformance/http.suite.js';
import { testOptions } from '../support/app-options.js';
import { fastifyDriver } from '../support/fastify-driver.js';

runHttpConformance(fastifyDriver);
runHttpFeatureConformance(fastifyDriver);

describe('Fastify logging', () => {
  it("logs a request's unexpected error through that request's logger: the user provider's own message and cause, no token", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const app = Fastify({
      logger: { level: 'info', stream: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) } },
    });
    const fixture = await testOptions({
      userProvider: {
        loadUserByIdentifier: async () => {
          throw new Error('users database unreachable', {
            cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
          });
        },
        loadUserById: async () => null,
      },
    });
    await app.register(jwtRefreshPlugin, { jwtRefresh: await createJwtRefresh(fixture.options) });
    try {
      const response = await app.inject({
        method: 'POST',
        url: '/api/login_check',
        payload: { username: 'alice', password: 'secret-password' },
      });
      expect([response.statusCode, response.json()]).toEqual([500, { code: 500, message: 'Internal Server Error' }]);
      const failure = lines.find((line) => line.msg === 'jwt-refresh request failed');
      expect(failure).toMatchObject({
        level: 50,
        // Fastify's child logger of this request: its id ties the line to the request.
        reqId: expect.any(String),
        error: {
          name: 'Error',
          message: 'users database unreachable',
          cause: { name: 'Error', message: 'connect ECONNREFUSED', code: 'ECONNREFUSED' },
        },
      });
      expect(JSON.stringify(lines)).not.toContain('secret-password');
    } finally {
      await app.close();
    }
  });
});

/** A Fastify app with a logger whose lines the test reads, and the routes of the conformance suite's app. */
async function appWithLog(register: (app: FastifyInstance, jwtRefresh: JwtRefresh) => Promise<void>) {
  const lines: Array<Record<string, unknown>> = [];
  const app = Fastify({
    logger: { level: 'info', stream: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) } },
  });
  const jwtRefresh = await createJwtRefresh((await testOptions()).options);
  await register(app, jwtRefresh);
  return { app, jwtRefresh, lines };
}

const credentials = { username: 'bob', password: 'secret-password' };

describe('Fastify: mounted under a prefix', () => {
  it("serves the routes under register's prefix, and only there", async () => {
    const { app, jwtRefresh } = await appWithLog(async (app, jwtRefresh) => {
      await app.register(jwtRefreshPlugin, { jwtRefresh, prefix: '/auth' });
    });
    const handleToParts = vi.spyOn(jwtRefresh, 'handleToParts');
    try {
      const login = await app.inject({ method: 'POST', url: '/auth/api/login_check', payload: credentials });
      expect(login.statusCode).toBe(200);
      const { refresh_token } = login.json<{ refresh_token: string }>();
      const refreshed = await app.inject({ method: 'POST', url: '/auth/api/token/refresh?x=1', payload: { refresh_token } });
      expect(refreshed.statusCode).toBe(200);
      expect(handleToParts.mock.calls.map(([request, info]) => [new URL(request.url).pathname, info?.basePath])).toEqual([
        ['/api/login_check', '/auth'],
        ['/api/token/refresh', '/auth'],
      ]);
      expect((await app.inject({ method: 'POST', url: '/api/login_check', payload: credentials })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });

  it('serves the routes under the prefix of the context it is registered in', async () => {
    const { app } = await appWithLog(async (app, jwtRefresh) => {
      await app.register(async (v1) => v1.register(jwtRefreshPlugin, { jwtRefresh }), { prefix: '/v1' });
    });
    try {
      expect((await app.inject({ method: 'POST', url: '/v1/api/login_check', payload: credentials })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('Fastify: request.user', () => {
  it('holds the verified claims after requireAuth / requireRole, as @fastify/jwt sets it, and null elsewhere', async () => {
    const { app } = await appWithLog(async (app, jwtRefresh) => {
      await app.register(jwtRefreshPlugin, { jwtRefresh });
      app.get('/api/me', { preHandler: app.requireAuth }, async (request) => ({ user: request.user, auth: request.auth }));
      app.get('/api/admin', { preHandler: app.requireRole('ROLE_ADMIN') }, async (request) => ({ user: request.user }));
      app.get('/api/open', async (request) => ({ user: request.user }));
    });
    try {
      const { token } = (await app.inject({ method: 'POST', url: '/api/login_check', payload: credentials })).json<{ token: string }>();
      const headers = { authorization: `Bearer ${token}` };
      const me = (await app.inject({ method: 'GET', url: '/api/me', headers })).json<{
        user: { username: string };
        auth: { claims: unknown };
      }>();
      expect(me.user).toMatchObject({ username: 'bob', roles: ['ROLE_USER', 'ROLE_ADMIN'] });
      expect(me.auth.claims).toEqual(me.user);
      expect((await app.inject({ method: 'GET', url: '/api/admin', headers })).json()).toEqual({ user: me.user });
      expect((await app.inject({ method: 'GET', url: '/api/open', headers })).json()).toEqual({ user: null });
    } finally {
      await app.close();
    }
  });
  it('sets request.user through the decoration another plugin (@fastify/jwt, @fastify/passport) made first', async () => {
    const { app } = await appWithLog(async (app, jwtRefresh) => {
      app.decorateRequest('user', null);
      await app.register(jwtRefreshPlugin, { jwtRefresh });
      app.get('/api/me', { preHandler: app.requireAuth }, async (request) => ({ user: request.user }));
    });
    try {
      const { token } = (await app.inject({ method: 'POST', url: '/api/login_check', payload: credentials })).json<{ token: string }>();
      const me = await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } });
      expect(me.json()).toMatchObject({ user: { username: 'bob' } });
    } finally {
      await app.close();
    }
  });
});

describe("Fastify: Fastify's own refusals on the token routes", () => {
  const unsupportedMediaType = {
    code: 415,
    message: 'Unsupported media type: send application/json or application/x-www-form-urlencoded.',
  };
  it.each([
    ['an unparseable Content-Type (";")', { method: 'POST', headers: { 'content-type': ';' }, payload: '{}' }, 415, unsupportedMediaType],
    [
      'a Content-Type out of the token grammar ("garbage/\\xff")',
      { method: 'POST', headers: { 'content-type': 'garbage/\xff' }, payload: '{}' },
      415,
      unsupportedMediaType,
    ],
    [
      'a body shorter than its Content-Length',
      { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '5' }, payload: '{}' },
      400,
      { code: 400, message: 'Request body size did not match Content-Length.' },
    ],
    [
      'QUERY without a Content-Type (RFC 10008 §2)',
      { method: 'QUERY', headers: {} },
      400,
      { code: 400, message: 'Missing Content-Type header.' },
    ],
  ] as const)('answers %s as JSON, logging nothing at error level', async (_name, request, status, expected) => {
    const { app, lines } = await appWithLog(async (app, jwtRefresh) => app.register(jwtRefreshPlugin, { jwtRefresh }));
    try {
      const response = await app.inject({ url: '/api/token/refresh', ...request });
      expect([response.statusCode, response.json()]).toEqual([status, expected]);
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(lines.filter((line) => (line.level as number) >= 40)).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it.each([
    ['TRACE, which a Fetch Request cannot carry', 'TRACE'],
    ['QUERY with a body', 'QUERY'],
    ['a method the app enabled with addHttpMethod', 'PROPFIND'],
  ])('answers %s with 405 and Allow', async (_name, method) => {
    const { app, lines } = await appWithLog(async (app, jwtRefresh) => {
      app.addHttpMethod('PROPFIND', { hasBody: true });
      await app.register(jwtRefreshPlugin, { jwtRefresh });
    });
    try {
      const body = method === 'TRACE' ? {} : { headers: { 'content-type': 'application/json' }, payload: '{}' };
      const response = await app.inject({ method, url: '/api/token/refresh', ...body });
      expect([response.statusCode, response.headers.allow, response.json()]).toEqual([
        405,
        'POST',
        { code: 405, message: 'Method Not Allowed' },
      ]);
      expect(lines.filter((line) => (line.level as number) >= 40)).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('still answers a generic 500, logged at error level, for an unexpected error', async () => {
    const { app, lines } = await appWithLog(async (app, jwtRefresh) => {
      app.addHook('onRequest', async () => {
        throw new Error('hook failed');
      });
      await app.register(jwtRefreshPlugin, { jwtRefresh });
    });
    try {
      const response = await app.inject({ method: 'POST', url: '/api/token/refresh', payload: {} });
      expect([response.statusCode, response.json()]).toEqual([500, { code: 500, message: 'Internal Server Error' }]);
      expect(lines.find((line) => line.msg === 'jwt-refresh request failed')).toMatchObject({
        level: 50,
        error: { message: 'hook failed' },
      });
    } finally {
      await app.close();
    }
  });

  it("answers another client error an app hook raises with its status and the status's reason phrase", async () => {
    const { app, lines } = await appWithLog(async (app, jwtRefresh) => {
      app.addHook('onRequest', async () => {
        throw Object.assign(new Error('slow down, 203.0.113.7'), { statusCode: 429, headers: { 'retry-after': '7' } });
      });
      await app.register(jwtRefreshPlugin, { jwtRefresh });
    });
    try {
      const response = await app.inject({ method: 'POST', url: '/api/token/refresh', payload: {} });
      expect([response.statusCode, response.headers['retry-after'], response.json()]).toEqual([
        429,
        '7',
        { code: 429, message: 'Too Many Requests' },
      ]);
      expect(lines.filter((line) => (line.level as number) >= 40)).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
