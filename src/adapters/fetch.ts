import type { AccessRequirements, JwtRefresh } from '../create-jwt-refresh.js';
import { NotFoundError } from '../errors.js';
import { errorResponse } from '../http/error-response.js';
import type { RequestInfo } from '../http/handler-context.js';
import type { AccessTokenClaims } from '../jwt/build-claims.js';

/** jwt-refresh for runtimes and frameworks that speak the Web Fetch API (Hono, Next.js, Bun, Deno). */
export interface FetchHandler {
  /**
   * The answer of a jwt-refresh route, or null when the path is not one of
   * them. `info.clientIp` feeds the rate limits; the Fetch `Request` carries no
   * address, so pass the runtime's (or configure `trustProxy` behind a proxy).
   */
  handle(request: Request, info?: RequestInfo): Promise<Response | null>;
  /**
   * The claims of the request's Bearer token, or the response to send instead:
   * 401 with `WWW-Authenticate: Bearer`, or 403 when `requirements.role` is missing.
   */
  requireAuth(request: Request, requirements?: AccessRequirements): Promise<{ claims: AccessTokenClaims } | Response>;
}

/**
 * The Fetch adapter: the core already speaks `Request` -> `Response`, so this
 * only settles the shapes a route handler wants.
 *
 * @example
 * const auth = createFetchHandler(jwtRefresh);
 * app.all('/api/token/*', async (c) => (await auth.handle(c.req.raw)) ?? c.notFound());
 * app.get('/api/me', async (c) => {
 *   const result = await auth.requireAuth(c.req.raw);
 *   return result instanceof Response ? result : c.json(result.claims);
 * });
 */
export function createFetchHandler(jwtRefresh: JwtRefresh): FetchHandler {
  return {
    handle: (request, info) => jwtRefresh.handle(request, info),
    async requireAuth(request, requirements) {
      const result = await jwtRefresh.authenticate(request, requirements);
      return 'response' in result ? result.response : result;
    },
  };
}

/** Options of {@link routeHandler}. */
export interface RouteHandlerOptions {
  /**
   * The client's address, for the rate limits. A route handler sees no socket:
   * read what the platform sets and the client cannot forge (Vercel's
   * `x-real-ip`, a header your own proxy overwrites). Default: none, so only
   * `trustProxy` (X-Forwarded-For) gives the per-address limits an address.
   */
  clientIp?: (request: Request) => string | null | undefined;
}

/**
 * A route handler for the jwt-refresh routes, answering 404 JSON for any other
 * path. Next.js answers an unexported method with a bare 405; export the
 * handler under GET too and the core answers 405 with `Allow` (RFC 9110 §15.5.6).
 *
 * @example
 * // app/api/token/refresh/route.ts (likewise the login and invalidate paths)
 * const handler = routeHandler(jwtRefresh, { clientIp: (request) => request.headers.get('x-real-ip') });
 * export { handler as GET, handler as POST };
 */
export function routeHandler(jwtRefresh: JwtRefresh, options: RouteHandlerOptions = {}): (request: Request) => Promise<Response> {
  const { clientIp } = options;
  return async (request) =>
    (await jwtRefresh.handle(request, { clientIp: clientIp?.(request) ?? null })) ?? errorResponse(new NotFoundError());
}
