import type { JwtRefresh } from '../../create-jwt-refresh.js';
import { errorParts } from '../../http/error-response.js';
import type { RequestInfo } from '../../http/handler-context.js';
import type { ResponseParts } from '../../http/response-parts.js';
import { type NodeHeaders, nodeRequestView } from './node-request.js';
import { requestTargetUrl } from './request-target.js';

/**
 * The core's answer to a request a Node framework received, or null when its
 * path is none of the routes: `jwtRefresh.handleToParts` over a
 * {@link nodeRequestView} of it, so no Fetch `Request` is built unless a
 * listener or a custom extractor asks for one. The target is parsed once
 * (pass the `URL` when the adapter parsed it already); a malformed one
 * (userinfo, a fragment: {@link requestTargetUrl}) gets 400. `routePath`,
 * when the framework matched a configured path under a prefix, is the path
 * the core matches instead of the target's. A method no route has (TRACE
 * included, which no Fetch `Request` could carry) gets, on a route's path,
 * the core's 405 with `Allow` (RFC 9110 §15.5.6).
 *
 * @example
 * const parts = await handleNodeRequest(jwtRefresh, req.method, req.url, req.headers, { clientIp: req.ip, body });
 */
export async function handleNodeRequest(
  jwtRefresh: JwtRefresh,
  method: string,
  target: string | URL,
  headers: NodeHeaders,
  info: RequestInfo,
  routePath?: string,
): Promise<ResponseParts | null> {
  let url: URL;
  try {
    url = typeof target === 'string' ? requestTargetUrl(target) : target;
  } catch (error) {
    return errorParts(error);
  }
  return jwtRefresh.handleToParts(nodeRequestView(method, url, headers, routePath), info);
}
