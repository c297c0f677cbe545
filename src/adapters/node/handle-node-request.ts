import type { JwtRefresh } from '../../create-jwt-refresh.js';
import { MethodNotAllowedError } from '../../errors.js';
import { errorParts } from '../../http/error-response.js';
import type { RequestInfo } from '../../http/handler-context.js';
import type { ResponseParts } from '../../http/response-parts.js';
import { FORBIDDEN_METHODS, toCoreRequest } from './node-request.js';
import { requestTargetUrl } from './request-target.js';

/**
 * The core's answer to a request a Node framework received, or null when its
 * path is none of the routes: `jwtRefresh.handleToParts` over
 * {@link toCoreRequest}. A method no Fetch `Request` can carry (TRACE) gets,
 * on a route's path, the 405 with `Allow` the core gives any method its
 * routes lack (RFC 9110 §15.5.6); a malformed request target (userinfo, a
 * fragment: {@link requestTargetUrl}) gets 400. The adapters call it only for
 * their routes' paths, as their framework matched them.
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
  let pathname: string;
  try {
    ({ pathname } = requestTargetUrl(url));
  } catch (error) {
    return errorParts(error);
  }
  if (!FORBIDDEN_METHODS.has(method.toUpperCase())) return jwtRefresh.handleToParts(toCoreRequest(method, url, headers), info);
  const allowed = jwtRefresh.routes.filter((route) => route.path === pathname).map((route) => route.method);
  if (allowed.length === 0) return null;
  const refused = errorParts(new MethodNotAllowedError());
  refused.headers.push(['allow', allowed.join(', ')]);
  return refused;
}
