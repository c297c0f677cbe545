import type { JwtRefresh } from '../../create-jwt-refresh.js';
import { MethodNotAllowedError } from '../../errors.js';
import { errorParts } from '../../http/error-response.js';
import type { RequestInfo } from '../../http/handler-context.js';
import type { ResponseParts } from '../../http/response-parts.js';
import { toCoreRequest } from './node-request.js';

/** Methods a Fetch `Request` refuses to carry (Fetch Standard, "forbidden method"); Node servers still receive TRACE. */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

/**
 * The core's answer to a request a Node framework received, or null when its
 * path is none of the routes: `jwtRefresh.handleToParts` over
 * {@link toCoreRequest}. A method no Fetch `Request` can carry (TRACE) gets,
 * on a route's path, the 405 with `Allow` the core gives any method its
 * routes lack (RFC 9110 §15.5.6).
 *
 * @example
 * const parts = await handleNodeRequest(jwtRefresh, req.method, req.url, req.headers, { clientIp: req.ip, body });
 */
export async function handleNodeRequest(
  jwtRefresh: JwtRefresh,
  method: string,
  url: string,
  headers: Record<string, string | string[] | undefined>,
  info: RequestInfo,
): Promise<ResponseParts | null> {
  if (!FORBIDDEN_METHODS.has(method.toUpperCase())) return jwtRefresh.handleToParts(toCoreRequest(method, url, headers), info);
  const { pathname } = new URL(url, 'http://localhost');
  const allowed = jwtRefresh.routes.filter((route) => route.path === pathname).map((route) => route.method);
  if (allowed.length === 0) return null;
  const refused = errorParts(new MethodNotAllowedError());
  refused.headers.push(['allow', allowed.join(', ')]);
  return refused;
}
