import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oddTokenSigner } from './support/odd-tokens.js';
import { type RawRequest, type RawResponse, sendRaw } from './support/raw-http.js';
import { type RunningServer, spawnServer, killServer } from './support/spawn-server.js';

/** The server's documented request timeout (docs/server.md). */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The standalone server (its SQLite store, its Fastify logger, its request
 * timeout) under the input of issue 11: no 5xx, nothing logged as an error,
 * no userinfo or fragment in a logged request target, a trickled body cut off
 * at the documented 30 s. The per-adapter cases are in hostile-input.test.ts.
 */
describe('hostile input: the standalone server', () => {
  let cwd: string;
  let server: RunningServer;
  let trickled: Promise<RawResponse>;
  const raw = (request: RawRequest) => sendRaw(server.baseUrl, request);
  const logLines = () =>
    server
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string; req?: { url?: string } });

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'jwt-refresh-hostile-'));
    writeFileSync(join(cwd, 'config.json'), JSON.stringify({ accessTokenRenewal: true }));
    server = await spawnServer({ JWT_REFRESH_CONFIG: join(cwd, 'config.json'), LOG_LEVEL: 'info' }, cwd);
    // Started first, judged last: it takes the whole timeout, while the other cases run.
    trickled = raw({
      requestLine: 'POST /api/token/refresh HTTP/1.1',
      headerLines: ['Content-Type: application/json', 'Content-Length: 1000'],
      body: Array.from({ length: 100 }, () => ' '),
      trickle: { intervalMs: 1_000 },
      timeoutMs: REQUEST_TIMEOUT_MS + 15_000,
    });
  });
  afterAll(async () => {
    await killServer(server);
    rmSync(cwd, { recursive: true, force: true });
  });

  async function loginDemo(): Promise<{ token: string; refresh_token: string }> {
    const response = await fetch(`${server.baseUrl}/api/login_check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'demo', password: 'demo' }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { token: string; refresh_token: string };
  }

  it('answers the framework-level cases with a JSON 4xx', async () => {
    const cases: Array<[RawRequest, number]> = [
      [{ requestLine: 'POST /api/token/refresh HTTP/1.1', headerLines: ['Content-Type: ;', 'Content-Length: 2'], body: '{}' }, 415],
      [
        { requestLine: 'POST /api/login_check HTTP/1.1', headerLines: ['Content-Type: garbage/\xff', 'Content-Length: 2'], body: '{}' },
        415,
      ],
      [{ requestLine: 'TRACE /api/token/refresh HTTP/1.1' }, 405],
      [{ requestLine: 'POST http://a:b@host/api/token/invalidate HTTP/1.1', headerLines: ['Content-Length: 0'] }, 400],
      [{ requestLine: 'POST /api/token/invalidate#fragment HTTP/1.1', headerLines: ['Content-Length: 0'] }, 400],
      [{ requestLine: 'QUERY /api/token/refresh HTTP/1.1', headerLines: ['Content-Length: 2'], body: '{}' }, 400],
      // Refused by Node's parser before any route: the server's clientErrorHandler answers.
      [{ requestLine: 'POST /api/token/refresh HTTP/1.1', headerLines: ['Bad Header: x', 'Content-Length: 0'] }, 400],
    ];
    for (const [request, status] of cases) {
      const response = await raw(request);
      expect([request.requestLine, response.status]).toEqual([request.requestLine, status]);
      expect(JSON.parse(response.body)).toEqual({ code: status, message: expect.any(String) });
    }
  });

  it('answers 401 to odd but validly signed tokens, and a logout with an exp of 1e300 is no 500 on SQLite', async () => {
    const sign = await oddTokenSigner(readFileSync(join(cwd, 'var', 'jwt-es256-private.pem'), 'utf8'));
    const now = Math.floor(Date.now() / 1000);
    const claims = { username: 'demo', sub: 'demo' };
    for (const token of [await sign(now, claims, { typ: 7 }), await sign(now, { ...claims, exp: 1e300, jti: 'far-future' })]) {
      for (const path of ['/api/me', '/api/token/renew']) {
        const response = await fetch(`${server.baseUrl}${path}`, {
          method: path === '/api/me' ? 'GET' : 'POST',
          headers: { authorization: `Bearer ${token}` },
        });
        expect([path, response.status, await response.json()]).toEqual([path, 401, { code: 401, message: 'Invalid JWT Token' }]);
      }
    }
    const { refresh_token } = await loginDemo();
    const farFuture = await sign(now, { ...claims, exp: 1e300, jti: 'far-future-2' });
    const logout = await fetch(`${server.baseUrl}/api/token/invalidate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${farFuture}` },
      body: JSON.stringify({ refresh_token }),
    });
    expect([logout.status, await logout.json()]).toEqual([200, { code: 200, message: 'The supplied refresh_token has been invalidated.' }]);
    const applicationJwt = await sign(now, claims, { typ: 'application/jwt' });
    expect((await fetch(`${server.baseUrl}/api/me`, { headers: { authorization: `Bearer ${applicationJwt}` } })).status).toBe(200);
  });

  it('logs request targets without userinfo, fragment or query', async () => {
    await raw({ requestLine: 'GET http://user:hunter2@host/health?refresh_token=secret#frag HTTP/1.1' });
    const loggedUrls = () => logLines().flatMap((line) => (line.req?.url === undefined ? [] : [line.req.url]));
    // The server writes its log line after the answer: wait for it (bounded) rather than race it.
    await expect.poll(loggedUrls, { timeout: 5_000 }).toContain('http://host/health');
    const urls = loggedUrls();
    expect(urls).toContain('/api/token/invalidate');
    for (const url of urls) expect(url).not.toMatch(/[@#?]|hunter2|secret/);
  });

  it(
    'cuts a trickled body off at the documented 30 s, with a 408, and logs no client error as an error',
    async () => {
      const response = await trickled;
      expect([response.status, JSON.parse(response.body)]).toEqual([408, { code: 408, message: 'Request Timeout' }]);
      expect(response.elapsedMs).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 1_000);
      expect(response.elapsedMs).toBeLessThan(REQUEST_TIMEOUT_MS + 3_000);
      // pino's levels: 30 info, 50 error, 60 fatal.
      expect(logLines().filter((line) => line.level >= 50)).toEqual([]);
      expect(
        logLines()
          .filter((line) => line.msg === 'client error')
          .map((line) => line.level),
      ).toEqual([30, 30]);
    },
    REQUEST_TIMEOUT_MS + 20_000,
  );
});
