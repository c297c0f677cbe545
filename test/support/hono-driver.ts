import type { IncomingMessage } from 'node:http';
import { Hono, type MiddlewareHandler } from 'hono';
import { createFetchHandler } from '../../src/adapters/fetch.js';
import { type AccessRequirements, createJwtRefresh } from '../../src/create-jwt-refresh.js';
import type { AccessTokenClaims } from '../../src/jwt/build-claims.js';
import type { HttpDriver } from './http-driver.js';
import { serveFetch } from './node-fetch-server.js';
import { requestOverHttp } from './test-request.js';

/** `incoming` is what @hono/node-server passes as bindings (its getConnInfo reads the socket from it). */
type Env = { Bindings: { incoming: IncomingMessage }; Variables: { claims: AccessTokenClaims } };

/** A Hono app over createFetchHandler, served through a node:http bridge. */
export const honoDriver: HttpDriver = {
  name: 'hono',
  async start(options) {
    const jwtRefresh = await createJwtRefresh(options);
    const auth = createFetchHandler(jwtRefresh);
    const guard =
      (requirements: AccessRequirements = {}): MiddlewareHandler<Env> =>
      async (c, next) => {
        const result = await auth.requireAuth(c.req.raw, requirements);
        if (result instanceof Response) return result;
        c.set('claims', result.claims);
        await next();
      };
    const app = new Hono<Env>();
    for (const path of new Set(jwtRefresh.routes.map((route) => route.path))) {
      app.all(path, async (c) => (await auth.handle(c.req.raw, { clientIp: c.env.incoming.socket.remoteAddress ?? null })) ?? c.notFound());
    }
    app.get('/api/me', guard(), (c) => c.json(c.get('claims')));
    app.get('/api/admin', guard({ role: 'ROLE_ADMIN' }), (c) => c.json({ ok: true }));
    const server = await serveFetch(async (request, incoming) => app.fetch(request, { incoming }));
    return { jwtRefresh, request: requestOverHttp(server.baseUrl), origin: server.baseUrl, close: server.close };
  },
};
