import type { IncomingMessage } from 'node:http';
import { createFetchHandler } from '../../src/adapters/fetch.js';
import { createJwtRefresh } from '../../src/create-jwt-refresh.js';
import type { HttpDriver } from './http-driver.js';
import { serveFetch } from './node-fetch-server.js';
import { requestOverHttp } from './test-request.js';

/** A plain Fetch app (what a Bun or Deno server runs) over createFetchHandler, served through a node:http bridge. */
export const fetchDriver: HttpDriver = {
  name: 'fetch',
  async start(options) {
    const jwtRefresh = await createJwtRefresh(options);
    const auth = createFetchHandler(jwtRefresh);
    const app = async (request: Request, incoming: IncomingMessage): Promise<Response> => {
      const answered = await auth.handle(request, { clientIp: incoming.socket.remoteAddress ?? null });
      if (answered !== null) return answered;
      const { pathname } = new URL(request.url);
      if (request.method === 'GET' && (pathname === '/api/me' || pathname === '/api/admin')) {
        const result = await auth.requireAuth(request, pathname === '/api/admin' ? { role: 'ROLE_ADMIN' } : {});
        if (result instanceof Response) return result;
        return Response.json(pathname === '/api/admin' ? { ok: true } : result.claims);
      }
      return new Response('Not Found', { status: 404 });
    };
    const server = await serveFetch(app);
    return { jwtRefresh, request: requestOverHttp(server.baseUrl), origin: server.baseUrl, close: server.close };
  },
};
