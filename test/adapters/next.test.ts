import { createFetchHandler, routeHandler } from '../../src/adapters/fetch.js';
import { createJwtRefresh, type JwtRefresh } from '../../src/create-jwt-refresh.js';
import { runHttpFeatureConformance } from '../conformance/http-features.suite.js';
import { runHttpConformance } from '../conformance/http.suite.js';
import type { HttpDriver } from '../support/http-driver.js';
import { requestInProcess } from '../support/test-request.js';

/** What a Next.js `route.ts` exports: a handler per HTTP method. */
type RouteModule = Partial<Record<string, (request: Request) => Promise<Response>>>;

/** The route.ts modules under a Next.js app's app/ folder, keyed by the path each one serves. */
function appRoutes(jwtRefresh: JwtRefresh): Map<string, RouteModule> {
  const auth = createFetchHandler(jwtRefresh);
  // Each jwt-refresh path's route.ts: `export { handler as GET, handler as POST }`. With GET
  // exported too, the core (not Next's bare 405) answers a wrong method, with Allow.
  const handler = routeHandler(jwtRefresh, { clientIp: (request) => request.headers.get('x-real-ip') });
  const modules = new Map<string, RouteModule>(jwtRefresh.routes.map((route) => [route.path, { GET: handler, POST: handler }]));
  // app/api/me/route.ts
  modules.set('/api/me', {
    async GET(request) {
      const result = await auth.requireAuth(request);
      return result instanceof Response ? result : Response.json(result.claims);
    },
  });
  // app/api/admin/route.ts
  modules.set('/api/admin', {
    async GET(request) {
      const result = await auth.requireAuth(request, { role: 'ROLE_ADMIN' });
      return result instanceof Response ? result : Response.json({ ok: true });
    },
  });
  return modules;
}

/**
 * Dispatches as Next.js does: the module for the path, its export for the
 * method, a bare 404 or 405 otherwise. Like Vercel, it sets `x-real-ip` to
 * the caller's address, overwriting what the client sent.
 */
const nextDriver: HttpDriver = {
  name: 'next (route handlers)',
  async start(options) {
    const jwtRefresh = await createJwtRefresh(options);
    const modules = appRoutes(jwtRefresh);
    const dispatch = async (request: Request): Promise<Response> => {
      const module = modules.get(new URL(request.url).pathname);
      if (module === undefined) return new Response(null, { status: 404 });
      const method = module[request.method];
      if (method === undefined) return new Response(null, { status: 405 });
      const platformRequest = new Request(request);
      platformRequest.headers.set('x-real-ip', '127.0.0.1');
      return method(platformRequest);
    };
    return { jwtRefresh, request: requestInProcess(dispatch), origin: 'http://localhost', close: async () => {} };
  },
};

runHttpConformance(nextDriver);
runHttpFeatureConformance(nextDriver);
