import { MethodNotAllowedError } from '../../errors.js';
import { requestTargetUrl } from './request-target.js';

/** Methods a Fetch `Request` refuses to carry (Fetch Standard, "forbidden method"); Node servers still receive them. */
export const FORBIDDEN_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'TRACE', 'TRACK']);

/**
 * The `Request` a Node adapter hands to `jwtRefresh.handleToParts`: method,
 * URL and headers only. The body the framework already buffered travels in
 * `RequestInfo.body` instead of as a stream inside it, because building and
 * reading that stream back cost more than the refresh itself (docs/benchmarks.md).
 *
 * @throws BadRequestError for a malformed request target ({@link requestTargetUrl})
 *
 * @example
 * const parts = await jwtRefresh.handleToParts(toCoreRequest(req.method, req.url, req.headers), { body, clientIp: req.ip });
 */
export function toCoreRequest(method: string, url: string, headers: Record<string, string | string[] | undefined>): Request {
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
export function toFetchRequest(
  method: string,
  url: string,
  headers: Record<string, string | string[] | undefined>,
  body: Uint8Array | string | null | undefined,
): Request {
  if (FORBIDDEN_METHODS.has(method.toUpperCase())) throw new MethodNotAllowedError();
  const hasBody = body !== null && body !== undefined && method !== 'GET' && method !== 'HEAD';
  return new Request(requestTargetUrl(url), {
    method,
    headers: joinHeaders(headers),
    body: hasBody ? (body as BodyInit) : null,
  });
}

function joinHeaders(headers: Record<string, string | string[] | undefined>): Headers {
  const joined = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) joined.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return joined;
}
