import express from 'express';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { createJwtRefreshRouter, jwtRefreshErrorHandler, requireAuth, requireRole, UnauthorizedError } from '../../src/adapters/express.js';
import { createJwtRefresh, type JwtRefresh } from '../../src/create-jwt-refresh.js';
import { runHttpFeatureConformance } from '../conformance/http-features.suite.js';
import { runHttpConformance } from '../conformance/http.suite.js';
import { testOptions } from '../support/app-options.js';
import { expressDriver } from '../support/express-driver.js';
import { listen } from '../support/node-fetch-server.js';
import { recordingLogger } from '../support/recording-logger.js';
import { requestOverHttp } from '../support/test-request.js';

for (const driver of [expressDriver({ appBodyParsers: false }), expressDriver({ appBodyParsers: true })]) {
  runHttpConformance(driver);
  runHttpFeatureConformance(driver);
}

describe('express: jwtRefreshErrorHandler', () => {
  it("leaves the app's own routes' parser errors to the app", async () => {
    const jwtRefresh = await createJwtRefresh((await testOptions()).options);
    const app = express();
    app.use(express.json());
    app.use(createJwtRefreshRouter(jwtRefresh));
    app.post('/api/things', (_req, res) => {
      res.json({ ok: true });
    });
    app.use(jwtRefreshErrorHandler(jwtRefresh));
    app.use((error: { status: number }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(error.status).json({ handledBy: 'app' });
    });
    const server = await listen(app);
    try {
      const request = requestOverHttp(server.baseUrl);
      const malformed = { body: '{"a":', headers: { 'content-type': 'application/json' } };
      expect(await request('/api/things', malformed)).toMatchObject({ status: 400, body: { handledBy: 'app' } });
      expect(await request('/api/login_check', malformed)).toMatchObject({ status: 400, body: { code: 400, message: 'Invalid JSON.' } });
    } finally {
      await server.close();
    }
  });
});

const credentials = { username: 'bob', password: 'secret-password' };

/** Sends a request through node:http, which (unlike fetch) sends any method, TRACE included. */
function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: unknown }> {
  return new Promise((resolve, reject) => {
    const sent = httpRequest(`${baseUrl}${path}`, { method }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: JSON.parse(text) as unknown }));
    });
    sent.on('error', reject);
    sent.end();
  });
}

/** Starts `build`'s app on a socket, runs `test` with its request function, closes it. */
async function withApp(
  build: (app: express.Express, jwtRefresh: JwtRefresh) => void,
  test: (request: ReturnType<typeof requestOverHttp>, context: { baseUrl: string; jwtRefresh: JwtRefresh }) => Promise<void>,
  overrides = {},
) {
  const jwtRefresh = await createJwtRefresh((await testOptions(overrides)).options);
  const app = express();
  build(app, jwtRefresh);
  const server = await listen(app);
  try {
    await test(requestOverHttp(server.baseUrl), { baseUrl: server.baseUrl, jwtRefresh });
  } finally {
    await server.close();
  }
}

describe('express: mounted under a path', () => {
  it("serves the routes under app.use's path and hands the core that path as basePath", async () => {
    await withApp(
      (app, jwtRefresh) => app.use('/auth', createJwtRefreshRouter(jwtRefresh)),
      async (request, { jwtRefresh }) => {
        const handleToParts = vi.spyOn(jwtRefresh, 'handleToParts');
        const login = await request('/auth/api/login_check', { json: credentials });
        expect(login.status).toBe(200);
        expect(handleToParts.mock.calls.map(([coreRequest, info]) => [new URL(coreRequest.url).pathname, info?.basePath])).toEqual([
          ['/api/login_check', '/auth'],
        ]);
        expect((await request('/api/login_check', { json: credentials })).status).toBe(404);
      },
    );
  });

  it("answers the app's parser errors on the mounted paths when the error handler is mounted at the same path", async () => {
    await withApp(
      (app, jwtRefresh) => {
        app.use(express.json());
        app.use('/auth', createJwtRefreshRouter(jwtRefresh));
        app.use('/auth', jwtRefreshErrorHandler(jwtRefresh));
      },
      async (request, { jwtRefresh }) => {
        const handleToParts = vi.spyOn(jwtRefresh, 'handleToParts');
        const malformed = await request('/auth/api/login_check', { body: '{"a":', headers: { 'content-type': 'application/json' } });
        expect([malformed.status, malformed.body]).toEqual([400, { code: 400, message: 'Invalid JSON.' }]);
        expect(handleToParts.mock.calls.map(([, info]) => info?.basePath)).toEqual(['/auth']);
      },
    );
  });
});

describe('express: methods a Fetch Request cannot carry', () => {
  it('answers TRACE on a token route with 405 and Allow, logging nothing', async () => {
    const { logger, entries } = recordingLogger();
    await withApp(
      (app, jwtRefresh) => app.use(createJwtRefreshRouter(jwtRefresh)),
      async (_request, { baseUrl }) => {
        const response = await rawRequest(baseUrl, 'TRACE', '/api/token/refresh');
        expect([response.status, response.headers.allow, response.body]).toEqual([
          405,
          'POST',
          { code: 405, message: 'Method Not Allowed' },
        ]);
        expect(entries).toEqual([]);
      },
      { logger },
    );
  });
});

describe('express: guards passing errors to next() (passErrors)', () => {
  /** The app's error handler, as an express-jwt user writes it. */
  const appErrorHandler = (error: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    if (!(error instanceof UnauthorizedError)) return next(error);
    res
      .status(error.status)
      .set(error.headers)
      .json({ name: error.name, code: error.code, status: error.status, message: error.message, inner: error.inner.constructor.name });
  };

  it('hands a refusal to next() as an express-jwt UnauthorizedError: status 401 or 403, the catalogue code and message, the challenge header', async () => {
    await withApp(
      (app, jwtRefresh) => {
        app.use(createJwtRefreshRouter(jwtRefresh));
        app.get('/api/me', requireAuth(jwtRefresh, { passErrors: true }), (req, res) => {
          res.json(req.auth?.claims);
        });
        app.get('/api/admin', requireRole(jwtRefresh, 'ROLE_ADMIN', { passErrors: true }), (_req, res) => {
          res.json({ ok: true });
        });
        app.use(appErrorHandler);
      },
      async (request) => {
        const missing = await request('/api/me', { method: 'GET' });
        expect([missing.status, missing.headers.get('www-authenticate'), missing.body]).toEqual([
          401,
          'Bearer',
          { name: 'UnauthorizedError', code: 'ERR_JWT_NOT_FOUND', status: 401, message: 'JWT Token not found', inner: 'JwtNotFoundError' },
        ]);
        const invalid = await request('/api/me', { method: 'GET', headers: { authorization: 'Bearer not.a.jwt' } });
        expect(invalid.body).toMatchObject({ code: 'ERR_JWT_INVALID', status: 401, message: 'Invalid JWT Token' });
        const { token } = (await request('/api/login_check', { json: { username: 'alice', password: 'secret-password' } })).body as {
          token: string;
        };
        const denied = await request('/api/admin', { method: 'GET', headers: { authorization: `Bearer ${token}` } });
        expect([denied.status, denied.body]).toEqual([
          403,
          { name: 'UnauthorizedError', code: 'ERR_ACCESS_DENIED', status: 403, message: 'Access Denied.', inner: 'AccessDeniedError' },
        ]);
        expect((await request('/api/me', { method: 'GET', headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      },
    );
  });

  it("gets the right status and challenge from Express's own final handler when the app has no error handler", async () => {
    await withApp(
      (app, jwtRefresh) => {
        app.get('/api/me', requireAuth(jwtRefresh, { passErrors: true }), (_req, res) => {
          res.json({ ok: true });
        });
      },
      async (request) => {
        const missing = await request('/api/me', { method: 'GET' });
        expect([missing.status, missing.headers.get('www-authenticate')]).toEqual([401, 'Bearer']);
      },
    );
  });

  it('hands a server-side failure to next() as it was, unwrapped and not logged by the guard', async () => {
    const { logger, entries } = recordingLogger();
    const failure = new Error('users database unreachable');
    const seen: unknown[] = [];
    const fixture = await testOptions();
    const users = fixture.options.userProvider;
    await withApp(
      (app, jwtRefresh) => {
        app.use(createJwtRefreshRouter(jwtRefresh));
        app.get('/api/me', requireAuth(jwtRefresh, { passErrors: true }), (_req, res) => {
          res.json({ ok: true });
        });
        app.use((error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
          seen.push(error);
          res.status(503).json({ handledBy: 'app' });
        });
      },
      async (request) => {
        const { token } = (await request('/api/login_check', { json: credentials })).body as { token: string };
        const response = await request('/api/me', { method: 'GET', headers: { authorization: `Bearer ${token}` } });
        expect([response.status, response.body]).toEqual([503, { handledBy: 'app' }]);
        expect(seen).toEqual([failure]);
        expect(entries).toEqual([]);
      },
      {
        logger,
        loadUser: true,
        userProvider: {
          loadUserByIdentifier: (identifier: string) => users.loadUserByIdentifier(identifier),
          loadUserById: async () => {
            throw failure;
          },
        },
      },
    );
  });
});

describe('express: optional authentication (credentialsRequired: false)', () => {
  it('lets a request without a Bearer token through without req.auth, still refuses a bad token, and sets req.auth for a good one', async () => {
    await withApp(
      (app, jwtRefresh) => {
        app.use(createJwtRefreshRouter(jwtRefresh));
        app.get('/api/feed', requireAuth(jwtRefresh, { credentialsRequired: false }), (req, res) => {
          res.json({ auth: req.auth ?? null });
        });
      },
      async (request) => {
        expect(await request('/api/feed', { method: 'GET' })).toMatchObject({ status: 200, body: { auth: null } });
        expect(await request('/api/feed', { method: 'GET', headers: { authorization: 'Basic Ym9iOnNlY3JldA==' } })).toMatchObject({
          status: 200,
          body: { auth: null },
        });
        const bad = await request('/api/feed', { method: 'GET', headers: { authorization: 'Bearer not.a.jwt' } });
        expect([bad.status, bad.headers.get('www-authenticate'), bad.body]).toEqual([
          401,
          'Bearer',
          { code: 401, message: 'Invalid JWT Token' },
        ]);
        const { token } = (await request('/api/login_check', { json: credentials })).body as { token: string };
        const good = await request('/api/feed', { method: 'GET', headers: { authorization: `Bearer ${token}` } });
        expect(good.body).toMatchObject({ auth: { claims: { username: 'bob' } } });
      },
    );
  });

  it('with passErrors, hands a bad token to next() and still lets an anonymous request through', async () => {
    await withApp(
      (app, jwtRefresh) => {
        app.get('/api/feed', requireAuth(jwtRefresh, { credentialsRequired: false, passErrors: true }), (req, res) => {
          res.json({ auth: req.auth ?? null });
        });
        app.use((error: UnauthorizedError, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
          res.status(error.status).json({ code: error.code });
        });
      },
      async (request) => {
        expect(await request('/api/feed', { method: 'GET' })).toMatchObject({ status: 200, body: { auth: null } });
        expect(await request('/api/feed', { method: 'GET', headers: { authorization: 'Bearer not.a.jwt' } })).toMatchObject({
          status: 401,
          body: { code: 'ERR_JWT_INVALID' },
        });
      },
    );
  });
});
