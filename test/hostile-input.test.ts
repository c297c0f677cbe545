import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFetchHandler } from '../src/adapters/fetch.js';
import { createJwtRefresh } from '../src/create-jwt-refresh.js';
import { createSqliteStore } from '../src/stores/sqlite.js';
import { testOptions, testSigningKey } from './support/app-options.js';
import type { MovableClock } from './support/clock.js';
import { EVERY_ADAPTER, FETCH_HOSTED, nextOverHttpDriver } from './support/every-adapter.js';
import type { TestApp } from './support/http-driver.js';
import { oddTokenSigner } from './support/odd-tokens.js';
import { type RawRequest, type RawResponse, sendRaw } from './support/raw-http.js';
import { type LogEntry, recordingLogger } from './support/recording-logger.js';

/**
 * Input no client should send, on every adapter over a real socket (issue 11,
 * item 3): each case was a 500 with an error-level log line before its fix.
 * The standalone server's share (its logs, its request timeout) is in
 * hostile-server.test.ts.
 */
describe.each(EVERY_ADAPTER)('hostile input: $name', (driver) => {
  let app: TestApp;
  let clock: MovableClock;
  let entries: LogEntry[];
  let sign: Awaited<ReturnType<typeof oddTokenSigner>>;
  const store = createSqliteStore({ filename: ':memory:' });
  const nowSeconds = () => Math.floor(clock().getTime() / 1000);
  const raw = (request: RawRequest) => sendRaw(app.origin, request);
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  beforeAll(async () => {
    const recording = recordingLogger();
    entries = recording.entries;
    const fixture = await testOptions({ store, logger: recording.logger, accessTokenRenewal: true });
    clock = fixture.clock;
    app = await driver.start(fixture.options);
    sign = await oddTokenSigner(await testSigningKey());
  });
  afterAll(async () => {
    await app.close();
    await store.close();
  });

  /** A 4xx in the core's JSON shape: `{"code": <status>, "message": ...}`. */
  function expectClientError(response: RawResponse, status: number | number[]): void {
    expect([status].flat(), `status ${response.status}: ${response.body}`).toContain(response.status);
    expect(response.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(response.body)).toEqual({ code: response.status, message: expect.any(String) });
  }

  it('answers 415 to a Content-Type that is no media type, with a body', async () => {
    for (const path of ['/api/token/refresh', '/api/login_check', '/api/token/invalidate']) {
      for (const contentType of [';', 'garbage/\xff']) {
        const body = '{"refresh_token":"x"}';
        const response = await raw({
          requestLine: `POST ${path} HTTP/1.1`,
          headerLines: [`Content-Type: ${contentType}`, `Content-Length: ${body.length}`],
          body,
        });
        expectClientError(response, 415);
      }
    }
  });

  it('answers 405 to TRACE on a route, with Allow where the adapter sees the method', async () => {
    const response = await raw({ requestLine: 'TRACE /api/token/refresh HTTP/1.1' });
    expectClientError(response, 405);
    // A Fetch host cannot build a TRACE Request (toFetchRequest refuses it), so no route is asked.
    if (!FETCH_HOSTED.has(driver.name)) expect(response.headers.allow).toBe('POST');
  });

  it('answers 400 to a request target with userinfo or a fragment', async () => {
    for (const target of ['http://a:b@host/api/token/invalidate', 'http://a@host/api/token/refresh', '/api/token/invalidate#x']) {
      const response = await raw({ requestLine: `POST ${target} HTTP/1.1`, headerLines: ['Content-Length: 0'] });
      expectClientError(response, 400);
    }
  });

  it('answers a 4xx to QUERY without a content type', async () => {
    const response = await raw({ requestLine: 'QUERY /api/token/refresh HTTP/1.1', headerLines: ['Content-Length: 2'], body: '{}' });
    // Next.js answers a method a route.ts does not export (QUERY cannot be) with its own bare 405.
    if (driver === nextOverHttpDriver) return void expect(response.status).toBe(405);
    // 400 where the framework enforces RFC 10008's Content-Type rule (Fastify), else the core's 405.
    expectClientError(response, [400, 405]);
  });

  it("keeps the 4xx of a body parser's refusal the core has no name for (too many form fields)", async () => {
    // body-parser's urlencoded() refuses more than 1,000 fields with 413 `parameters.too.many`.
    const body = Array.from({ length: 1_100 }, (_, index) => `f${index}=1`).join('&');
    const response = await raw({
      requestLine: 'POST /api/token/refresh HTTP/1.1',
      headerLines: ['Content-Type: application/x-www-form-urlencoded', `Content-Length: ${body.length}`],
      body,
    });
    // 413 where an app-wide body parser refused it, else the core's answer to a form without a token.
    expectClientError(response, [401, 413]);
  });

  it('takes a client that goes away mid-body for what it is, not a server error', async () => {
    const response = await raw({
      requestLine: 'POST /api/token/refresh HTTP/1.1',
      headerLines: ['Content-Type: application/json', 'Content-Length: 100'],
      body: '{"refresh_token":',
      // The client gives up (closes its socket) after 200 ms of silence.
      timeoutMs: 200,
    });
    expect(response.status).toBe(0);
    // The server notices the abort asynchronously; the last case checks what it logged.
    await new Promise((resolve) => setTimeout(resolve, 100));
  });

  it('answers 401 to a validly signed token whose typ is no string, on a protected route and on renewal', async () => {
    for (const typ of [5, { a: 1 }, ['JWT'], null]) {
      const token = await sign(nowSeconds(), {}, { typ });
      const me = await app.request('/api/me', { method: 'GET', headers: bearer(token) });
      expect([me.status, me.body]).toEqual([401, { code: 401, message: 'Invalid JWT Token' }]);
      const renew = await app.request('/api/token/renew', { headers: bearer(token) });
      expect([renew.status, renew.body]).toEqual([401, { code: 401, message: 'Invalid JWT Token' }]);
    }
  });

  it('refuses an access token whose exp no store can date, and a logout presenting it is no 500', async () => {
    const login = await app.request('/api/login_check', { json: { username: 'alice', password: 'secret-password' } });
    const { refresh_token: refreshToken } = login.body as { refresh_token: string };
    const token = await sign(nowSeconds(), { exp: 1e300, jti: 'far-future' });
    const logout = await app.request('/api/token/invalidate', { json: { refresh_token: refreshToken }, headers: bearer(token) });
    expect([logout.status, logout.body]).toEqual([200, { code: 200, message: 'The supplied refresh_token has been invalidated.' }]);
    const me = await app.request('/api/me', { method: 'GET', headers: bearer(token) });
    expect([me.status, me.body]).toEqual([401, { code: 401, message: 'Invalid JWT Token' }]);
  });

  it('accepts typ "application/jwt" as "JWT" (RFC 7515 §4.1.9)', async () => {
    for (const typ of ['application/jwt', 'Application/JWT', 'jwt']) {
      const me = await app.request('/api/me', { method: 'GET', headers: bearer(await sign(nowSeconds(), {}, { typ })) });
      expect([me.status, (me.body as { username?: unknown }).username]).toEqual([200, 'alice']);
    }
    const other = await app.request('/api/me', { method: 'GET', headers: bearer(await sign(nowSeconds(), {}, { typ: 'at+jwt' })) });
    expect(other.status).toBe(401);
  });

  it('logged none of the above as an error', () => {
    expect(entries.filter((entry) => entry.level === 'error')).toEqual([]);
  });
});

describe('hostile input: a Fetch host', () => {
  it('answers 400 to a body stream that fails mid-way (the client went away), and logs no error', async () => {
    const { logger, entries } = recordingLogger();
    const fixture = await testOptions({ logger });
    const auth = createFetchHandler(await createJwtRefresh(fixture.options));
    // What Deno or Bun hand the handler when the connection drops mid-body: a stream that errors.
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"refresh_token":'));
        controller.error(new Error('connection reset'));
      },
    });
    const request = new Request('http://localhost/api/token/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      duplex: 'half',
    } as RequestInit);
    const response = await auth.handle(request);
    expect([response?.status, await response?.json()]).toEqual([400, { code: 400, message: 'Request body was not received in full.' }]);
    expect(entries.filter((entry) => entry.level === 'error')).toEqual([]);
  });
});
