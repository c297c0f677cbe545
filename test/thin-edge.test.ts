import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createJwtRefresh } from '../src/create-jwt-refresh.js';
import type { PrioritizedExtractor } from '../src/http/extractors.js';
import { testOptions } from './support/app-options.js';
import { expressDriver } from './support/express-driver.js';
import { fastifyDriver } from './support/fastify-driver.js';
import type { HttpDriver, TestApp } from './support/http-driver.js';
import { nestDriver } from './support/nest-driver.js';

// Every `new Request(...)` our code makes goes through the global: count them. Node's own fetch (the
// test client) builds its Requests from undici's class directly, so only the server side is counted.
const OriginalRequest = globalThis.Request;
let built = 0;
class CountingRequest extends OriginalRequest {
  constructor(input: RequestInfo | URL, init?: RequestInit) {
    super(input, init);
    built++;
  }
}
beforeAll(() => {
  globalThis.Request = CountingRequest;
});
afterAll(() => {
  globalThis.Request = OriginalRequest;
});

const NODE_ADAPTERS: readonly HttpDriver[] = [
  fastifyDriver,
  expressDriver({ appBodyParsers: false }),
  nestDriver({ routes: 'module' }),
  nestDriver({ routes: 'module', platform: 'fastify' }),
];

async function logIn(app: TestApp): Promise<{ token: string; refresh_token: string }> {
  const response = await app.request('/api/login_check', { json: { username: 'alice', password: 'secret-password' } });
  expect(response.status).toBe(200);
  return response.body as { token: string; refresh_token: string };
}

describe.each(NODE_ADAPTERS)('the hot path of $name', (driver) => {
  let app: TestApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('builds no Fetch Request for login, refresh, a protected route and logout when nobody asks for one', async () => {
    app = await driver.start((await testOptions()).options);
    built = 0;
    const { token, refresh_token } = await logIn(app);
    const refreshed = await app.request('/api/token/refresh', { json: { refresh_token }, headers: { 'user-agent': 'thin-edge' } });
    expect(refreshed.status).toBe(200);
    const me = await app.request('/api/me', { method: 'GET', headers: { authorization: `Bearer ${token}` } });
    expect([me.status, (me.body as { username: string }).username]).toEqual([200, 'alice']);
    const rotated = (refreshed.body as { refresh_token: string }).refresh_token;
    expect((await app.request('/api/token/invalidate', { json: { refresh_token: rotated } })).status).toBe(200);
    expect((await app.request('/api/token/refresh', { method: 'PUT' })).status).toBe(405);
    expect(built).toBe(0);
  });

  it('hands listeners a real Request with the method, URL and headers sent, built once per request', async () => {
    app = await driver.start((await testOptions()).options);
    const { refresh_token } = await logIn(app);
    const seen: Array<{ event: string; request: Request | undefined }> = [];
    app.jwtRefresh.events.on('refresh', ({ request }) => void seen.push({ event: 'refresh', request }));
    app.jwtRefresh.events.on('authenticationSuccess', ({ request }) => void seen.push({ event: 'authenticationSuccess', request }));
    built = 0;
    const refreshed = await app.request('/api/token/refresh?trace=1', {
      json: { refresh_token },
      headers: { 'user-agent': 'thin-edge', 'x-request-id': 'r-42', cookie: 'a=1; b=2' },
    });
    expect(refreshed.status).toBe(200);
    expect(seen.map(({ event }) => event)).toEqual(['refresh', 'authenticationSuccess']);
    const [first, second] = seen.map(({ request }) => request);
    expect(first).toBeInstanceOf(OriginalRequest);
    expect(second).toBe(first);
    const url = new URL(first!.url);
    expect([first!.method, url.pathname, url.search]).toEqual(['POST', '/api/token/refresh', '?trace=1']);
    expect([first!.headers.get('user-agent'), first!.headers.get('X-Request-Id'), first!.headers.get('cookie')]).toEqual([
      'thin-edge',
      'r-42',
      'a=1; b=2',
    ]);
    expect(built).toBe(1);
  });
});

describe('refresh-token extractors', () => {
  it('build the Request only for an extractor that reads it; header() reads without one', async () => {
    const fromHeader: PrioritizedExtractor = { name: 'header', priority: 100, extract: ({ header }) => header('x-refresh-token') };
    const fromRequest: PrioritizedExtractor = {
      name: 'request',
      priority: 90,
      extract: ({ request }) => request.headers.get('x-refresh-token-2'),
    };
    const app = await fastifyDriver.start((await testOptions({ extractors: [fromHeader, fromRequest] })).options);
    try {
      const first = await logIn(app);
      built = 0;
      const viaHeader = await app.request('/api/token/refresh', { headers: { 'x-refresh-token': first.refresh_token } });
      expect([viaHeader.status, built]).toEqual([200, 0]);
      const second = await logIn(app);
      const viaRequest = await app.request('/api/token/refresh', { headers: { 'x-refresh-token-2': second.refresh_token } });
      expect([viaRequest.status, built]).toEqual([200, 1]);
    } finally {
      await app.close();
    }
  });
});

describe('the Fetch adapter', () => {
  it('hands listeners the very Request it was given, and builds none of its own', async () => {
    const jwtRefresh = await createJwtRefresh((await testOptions()).options);
    try {
      const login = await jwtRefresh.handle(
        new Request('http://localhost/api/login_check', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'alice', password: 'secret-password' }),
        }),
      );
      const { refresh_token } = (await login!.json()) as { refresh_token: string };
      const seen: Array<Request | undefined> = [];
      jwtRefresh.events.on('refresh', ({ request }) => void seen.push(request));
      const request = new Request('http://localhost/api/token/refresh', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh_token }),
      });
      built = 0;
      expect((await jwtRefresh.handle(request))?.status).toBe(200);
      expect(seen).toEqual([request]);
      expect(seen[0]).toBe(request);
      expect(built).toBe(0);
    } finally {
      await jwtRefresh.close();
    }
  });
});
