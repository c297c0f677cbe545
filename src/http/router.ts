import { MethodNotAllowedError } from '../errors.js';
import type { RequestView } from '../lib/request-view.js';
import { errorParts } from './error-response.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';
import type { RouteDefinition } from './route-definition.js';
import type { ResponseParts } from './response-parts.js';

/** Answers a request for one of the routes, or null when its path is none of theirs. */
export type Router = (request: RequestView, info: RequestInfo) => Promise<ResponseParts | null>;

/**
 * Matches requests to `routes` by exact path, then method. A known path with
 * another method is 405 with `Allow` (RFC 9110 §15.5.6), so adapters can hand
 * every method on those paths to the router.
 */
export function createRouter(ctx: HandlerContext, routes: readonly RouteDefinition[]): Router {
  const routesByPath = new Map<string, RouteDefinition[]>();
  for (const route of routes) routesByPath.set(route.path, [...(routesByPath.get(route.path) ?? []), route]);
  return async (request, info) => {
    const candidates = routesByPath.get(request.pathname);
    if (candidates === undefined) return null;
    const route = candidates.find((candidate) => candidate.method === request.method);
    if (route !== undefined) return route.handler(ctx, request, info);
    const refused = errorParts(new MethodNotAllowedError());
    refused.headers.push(['allow', candidates.map((candidate) => candidate.method).join(', ')]);
    return refused;
  };
}
