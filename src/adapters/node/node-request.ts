import { MethodNotAllowedError } from '../../errors.js';
import type { RequestView } from '../../lib/request-view.js';
import { requestTargetUrl } from './request-target.js';

/** Methods a Fetch `Request` refuses to carry (Fetch Standard, "forbidden method"); Node servers still receive them. */
export const FORBIDDEN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'TRACE', 'TRACK']);

/** Node's request headers: lower-case names, a repeated header as an array (Set-Cookie) or already joined. */
export type NodeHeaders = Record<string, string | string[] | undefined>;

/** Methods the Fetch Standard upper-cases in a `Request` ("normalize a method"); any other keeps its case. */
const NORMALIZED_METHODS: ReadonlySet<string> = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

/**
 * The view a Node adapter hands to `jwtRefresh.handleToParts`: method, path,
 * query and headers read straight from the framework's request, nothing
 * copied. `target` is the request target as {@link requestTargetUrl} parsed
 * it, once; `pathname` replaces its path where the framework matched a
 * configured path under a prefix. The body the framework already buffered
 * travels in `RequestInfo.body`.
 *
 * A Fetch `Request` (with the same URL, method and headers a Fetch host
 * would see) is built only if a listener or a custom extractor asks for one.
 *
 * @example
 * const view = nodeRequestView(req.method, requestTargetUrl(req.url), req.headers);
 * const parts = await jwtRefresh.handleToParts(view, { body, clientIp: req.ip });
 */
export function nodeRequestView(method: string, target: URL, headers: NodeHeaders, pathname: string = target.pathname): RequestView {
  const upper = method.toUpperCase();
  const normalized = NORMALIZED_METHODS.has(upper) ? upper : method;
  const { search } = target;
  let url: string | undefined;
  let parsedUrl: URL | undefined = pathname === target.pathname ? target : undefined;
  let request: Request | undefined;
  const urlOf = (): string => {
    url ??= parsedUrl === target ? target.href : `${target.origin}${pathname}${search}`;
    return url;
  };
  return {
    method: normalized,
    pathname,
    get url() {
      return urlOf();
    },
    get parsedUrl() {
      parsedUrl ??= new URL(urlOf());
      return parsedUrl;
    },
    headers,
    body: null,
    header(name) {
      const value = headers[name.toLowerCase()];
      if (value === undefined) return null;
      return typeof value === 'string' ? value : value.join(', ');
    },
    fetchRequest() {
      request ??= new Request(urlOf(), { method: normalized, headers: joinHeaders(headers) });
      return request;
    },
  };
}

/**
 * A header-only Fetch `Request` for a Node request, as the Node adapters built
 * one per request before they handed the core a {@link nodeRequestView}; kept
 * for callers that measure or need that bridge.
 *
 * @throws BadRequestError for a malformed request target ({@link requestTargetUrl})
 *
 * @example
 * const request = toCoreRequest(req.method, req.url, req.headers);
 */
export function toCoreRequest(method: string, url: string, headers: NodeHeaders): Request {
  return new Request(requestTargetUrl(url), { method, headers: joinHeaders(headers) });
}

/**
 * A standard Fetch `Request` from the pieces a Node server has, body
 * included: for hosting a Fetch app (Hono, ...) on a Node server.
 * Multi-valued headers are joined as HTTP allows; the base URL only matters
 * for path and query.
 *
 * Node accepts requests no Fetch `Request` can carry; they are refused with a
 * catalogue error to answer with `errorResponse` (a 4xx, never logged): a
 * malformed target (userinfo, a fragment) with `BadRequestError`, a method
 * the Fetch Standard forbids (TRACE, CONNECT) with `MethodNotAllowedError`.
 *
 * @throws BadRequestError, MethodNotAllowedError
 *
 * @example
 * let response: Response;
 * try {
 *   response = await app.fetch(toFetchRequest(req.method, req.url, req.headers, body));
 * } catch (error) {
 *   response = errorResponse(error, logger);
 * }
 */
export function toFetchRequest(method: string, url: string, headers: NodeHeaders, body: Uint8Array | string | null | undefined): Request {
  if (FORBIDDEN_METHODS.has(method.toUpperCase())) throw new MethodNotAllowedError();
  const hasBody = body !== null && body !== undefined && method !== 'GET' && method !== 'HEAD';
  return new Request(requestTargetUrl(url), {
    method,
    headers: joinHeaders(headers),
    body: hasBody ? (body as BodyInit) : null,
  });
}

function joinHeaders(headers: NodeHeaders): Headers {
  const joined = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) joined.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return joined;
}
