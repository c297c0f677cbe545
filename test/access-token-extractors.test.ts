import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, describe, expect, it } from 'vitest';
import { requireAuth } from '../src/adapters/express.js';
import type { AccessTokenExtractor } from '../src/config/schema.js';
import { createJwtRefresh, type JwtRefresh } from '../src/create-jwt-refresh.js';
import { JwtNotFoundError } from '../src/errors.js';
import { testOptions } from './support/app-options.js';

// Lexik's token_extractors as our accessTokenExtractors: where protected routes
// read the access token (header, query parameter, cookie, split cookie), in order.

const instances: JwtRefresh[] = [];
afterAll(async () => {
  for (const instance of instances) await instance.close();
});

async function start(accessTokenExtractors?: AccessTokenExtractor[]) {
  const fixture = await testOptions(accessTokenExtractors === undefined ? {} : { accessTokenExtractors });
  const jwtRefresh = await createJwtRefresh(fixture.options);
  instances.push(jwtRefresh);
  const { accessToken } = await jwtRefresh.issueSession(fixture.users[0]!);
  return { jwtRefresh, accessToken };
}

/** The library's answer to a request on one of its routes. */
async function handled(jwtRefresh: JwtRefresh, request: Request): Promise<Response> {
  const response = await jwtRefresh.handle(request);
  if (response === null) throw new Error(`no route for ${request.url}`);
  return response;
}

const request = (headers: Record<string, string>, path = '/api/me') => new Request(`http://localhost${path}`, { headers });

describe('access-token extractors', () => {
  it('read the Authorization: Bearer header only, by default', async () => {
    const { jwtRefresh, accessToken } = await start();
    const viaHeader = await jwtRefresh.authenticate(request({ authorization: `bearer ${accessToken}` }));
    expect('claims' in viaHeader && viaHeader.claims.username).toBe('alice');
    const viaCookie = await jwtRefresh.authenticate(request({ cookie: `BEARER=${accessToken}` }));
    expect('response' in viaCookie && viaCookie.response.status).toBe(401);
    await expect(jwtRefresh.verifyRequest(request({}, `/api/me?bearer=${accessToken}`))).rejects.toBeInstanceOf(JwtNotFoundError);
  });

  it('read a header of another name and prefix, a query parameter, a cookie or a split cookie, as configured', async () => {
    const { jwtRefresh, accessToken } = await start([
      { type: 'header', name: 'X-Token', prefix: 'JWT' },
      { type: 'query', name: 'bearer' },
      { type: 'cookie', name: 'BEARER' },
      { type: 'splitCookie', names: ['jwt_hp', 'jwt_s'] },
    ]);
    const [header, payload, signature] = accessToken.split('.');
    const found = async (req: Request) => (await jwtRefresh.verifyRequest(req)).username;
    expect(await found(request({ 'x-token': `JWT ${accessToken}` }))).toBe('alice');
    expect(await found(request({}, `/api/me?bearer=${accessToken}`))).toBe('alice');
    expect(await found(request({ cookie: `theme=dark; BEARER=${accessToken}` }))).toBe('alice');
    expect(await found(request({ cookie: `jwt_hp=${header}.${payload}; jwt_s=${signature}` }))).toBe('alice');
    // A Node request (Express, Fastify, Nest) will do as well.
    expect((await jwtRefresh.verifyRequest({ headers: { cookie: `BEARER=${accessToken}` }, url: '/api/me' })).username).toBe('alice');
    // Not in this chain: the default header, one part of a split token.
    await expect(jwtRefresh.verifyRequest(request({ authorization: `Bearer ${accessToken}` }))).rejects.toBeInstanceOf(JwtNotFoundError);
    await expect(jwtRefresh.verifyRequest(request({ cookie: `jwt_hp=${header}.${payload}` }))).rejects.toBeInstanceOf(JwtNotFoundError);
  });

  it('take the first place that holds a token: a bad one there is refused, not skipped', async () => {
    const { jwtRefresh, accessToken } = await start([
      { type: 'header', name: 'Authorization', prefix: 'Bearer' },
      { type: 'cookie', name: 'BEARER' },
    ]);
    const refused = await jwtRefresh.authenticate(request({ authorization: 'Bearer not.a.jwt', cookie: `BEARER=${accessToken}` }));
    expect('response' in refused && refused.response.status).toBe(401);
    // Another scheme in the header is no token there: the cookie is read.
    const basic = await jwtRefresh.authenticate(request({ authorization: 'Basic YWxpY2U6cHc=', cookie: `BEARER=${accessToken}` }));
    expect('claims' in basic && basic.claims.username).toBe('alice');
  });

  it('take the whole header value with an empty prefix', async () => {
    const { jwtRefresh, accessToken } = await start([{ type: 'header', name: 'Authorization', prefix: '' }]);
    expect((await jwtRefresh.verifyRequest(request({ authorization: accessToken }))).username).toBe('alice');
  });

  it('are what the Express guard reads, over HTTP', async () => {
    const { jwtRefresh, accessToken } = await start([
      { type: 'header', name: 'Authorization', prefix: 'Bearer' },
      { type: 'cookie', name: 'BEARER' },
    ]);
    const app = express();
    app.get('/api/me', requireAuth(jwtRefresh), (req, res) => {
      res.json({ username: req.auth?.claims.username });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/me`;
      const withCookie = await fetch(url, { headers: { cookie: `BEARER=${accessToken}` } });
      expect(withCookie.status).toBe(200);
      expect(await withCookie.json()).toEqual({ username: 'alice' });
      const without = await fetch(url);
      expect(without.status).toBe(401);
      expect(without.headers.get('www-authenticate')).toMatch(/^Bearer/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
  it('are what the token routes read too: the sessions list and renewal find the access token in a cookie', async () => {
    const fixture = await testOptions({ accessTokenExtractors: [{ type: 'cookie', name: 'BEARER' }], accessTokenRenewal: true });
    const jwtRefresh = await createJwtRefresh(fixture.options);
    instances.push(jwtRefresh);
    const { accessToken } = await jwtRefresh.issueSession(fixture.users[0]!);
    const sessions = await handled(jwtRefresh, request({ cookie: `BEARER=${accessToken}` }, '/api/sessions'));
    expect(sessions.status).toBe(200);
    expect(((await sessions.json()) as { sessions: unknown[] }).sessions).toHaveLength(1);
    const renewed = await handled(
      jwtRefresh,
      new Request('http://localhost/api/token/renew', { method: 'POST', headers: { cookie: `BEARER=${accessToken}` } }),
    );
    expect(renewed.status).toBe(200);
    // The Bearer header is not in this chain.
    const viaHeader = await handled(jwtRefresh, request({ authorization: `Bearer ${accessToken}` }, '/api/sessions'));
    expect(viaHeader.status).toBe(401);
  });
  it('make the sessions routes and renewal refuse a cross-site browser request when the token comes from a cookie', async () => {
    const fixture = await testOptions({ accessTokenExtractors: [{ type: 'cookie', name: 'BEARER' }], accessTokenRenewal: true });
    const jwtRefresh = await createJwtRefresh(fixture.options);
    instances.push(jwtRefresh);
    const user = fixture.users[0]!;
    const { accessToken } = await jwtRefresh.issueSession(user);
    const post = (path: string, headers: Record<string, string>) =>
      handled(
        jwtRefresh,
        new Request(`http://localhost${path}`, { method: 'POST', headers: { cookie: `BEARER=${accessToken}`, ...headers } }),
      );
    // A form on another site: the browser attaches the cookie and marks the request.
    const forged = await post('/api/sessions/revoke-all', { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' });
    expect([forged.status, await forged.json()]).toEqual([403, { code: 403, message: 'Cross-origin request refused.' }]);
    expect((await post('/api/token/renew', { origin: 'https://evil.example' })).status).toBe(403);
    expect(await jwtRefresh.listSessions(user.id)).toHaveLength(1);
    // Reading the list is safe, and the page's own origin passes.
    expect(
      (await handled(jwtRefresh, request({ cookie: `BEARER=${accessToken}`, 'sec-fetch-site': 'cross-site' }, '/api/sessions'))).status,
    ).toBe(200);
    expect((await post('/api/sessions/revoke-all', { 'sec-fetch-site': 'same-origin' })).status).toBe(200);
    expect(await jwtRefresh.listSessions(user.id)).toHaveLength(0);
  });
});
