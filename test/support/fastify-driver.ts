import Fastify from 'fastify';
import { jwtRefreshPlugin } from '../../src/adapters/fastify.js';
import { createJwtRefresh } from '../../src/create-jwt-refresh.js';
import { fromFetchResponse, type HttpDriver } from './http-driver.js';

/** Runs the Fastify plugin on a real listening socket, requests go through fetch. */
export const fastifyDriver: HttpDriver = {
  name: 'fastify',
  async start(options) {
    const jwtRefresh = await createJwtRefresh(options);
    const app = Fastify();
    await app.register(jwtRefreshPlugin, { jwtRefresh });
    app.get('/api/me', { preHandler: app.requireAuth }, async (request) => request.auth?.claims);
    app.get('/api/admin', { preHandler: app.requireRole('ROLE_ADMIN') }, async () => ({ ok: true }));
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    return {
      jwtRefresh,
      origin: address,
      async request(path, request = {}) {
        const headers: Record<string, string> = { ...request.headers };
        let body = request.body;
        if (request.json !== undefined) {
          body = JSON.stringify(request.json);
          headers['content-type'] ??= 'application/json';
        }
        const response = await fetch(`${address}${path}`, { method: request.method ?? 'POST', headers, body: body ?? null });
        return fromFetchResponse(response);
      },
      async close() {
        await app.close();
      },
    };
  },
};
