import { routeHandler, createFetchHandler } from '../../src/adapters/fetch.js';
import { createJwtRefresh } from '../../src/create-jwt-refresh.js';
import { expressDriver } from './express-driver.js';
import { fastifyDriver } from './fastify-driver.js';
import { fetchDriver } from './fetch-driver.js';
import { honoDriver } from './hono-driver.js';
import type { HttpDriver } from './http-driver.js';
import { nestDriver } from './nest-driver.js';
import { serveFetch } from './node-fetch-server.js';
import { requestOverHttp } from './test-request.js';

/**
 * A Next.js app's route handlers (`export { handler as GET, handler as POST }`
 * per jwt-refresh path, `/api/me` and `/api/admin` on `auth.requireAuth`),
 * dispatched as Next does and served over a real socket through the
 * node:http bridge, so that hostile bytes reach them as they would a host.
 */
export const nextOverHttpDriver: HttpDriver = {
  name: 'next (route handlers over http)',
  async start(options) {
    const jwtRefresh = await createJwtRefresh(options);
    const auth = createFetchHandler(jwtRefresh);
    const handler = routeHandler(jwtRefresh, { clientIp: (request) => request.headers.get('x-real-ip') });
    const me = async (request: Request) => {
      const result = await auth.requireAuth(request);
      return result instanceof Response ? result : Response.json(result.claims);
    };
    const admin = async (request: Request) => {
      const result = await auth.requireAuth(request, { role: 'ROLE_ADMIN' });
      return result instanceof Response ? result : Response.json({ ok: true });
    };
    const modules = new Map<string, Partial<Record<string, (request: Request) => Promise<Response>>>>(
      jwtRefresh.routes.map((route) => [route.path, { GET: handler, POST: handler }]),
    );
    modules.set('/api/me', { GET: me });
    modules.set('/api/admin', { GET: admin });
    const server = await serveFetch(async (request) => {
      const module = modules.get(new URL(request.url).pathname);
      if (module === undefined) return new Response(null, { status: 404 });
      const method = module[request.method];
      return method === undefined ? new Response(null, { status: 405 }) : method(request);
    });
    return { jwtRefresh, request: requestOverHttp(server.baseUrl), origin: server.baseUrl, close: server.close };
  },
};

/** Every adapter and mounting the conformance suites run, each on a real socket. */
export const EVERY_ADAPTER: readonly HttpDriver[] = [
  fastifyDriver,
  expressDriver({ appBodyParsers: false }),
  expressDriver({ appBodyParsers: true }),
  fetchDriver,
  honoDriver,
  nextOverHttpDriver,
  nestDriver({ routes: 'module' }),
  nestDriver({ routes: 'controller' }),
  nestDriver({ routes: 'module', platform: 'fastify' }),
];

/** The adapters whose HTTP front is a Fetch host (here the node:http bridge over toFetchRequest), not a Node framework. */
export const FETCH_HOSTED: ReadonlySet<string> = new Set([fetchDriver.name, honoDriver.name, nextOverHttpDriver.name]);
