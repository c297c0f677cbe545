/**
 * The `Request` a Node adapter hands to `jwtRefresh.handleToParts`: method,
 * URL and headers only. The body the framework already buffered travels in
 * `RequestInfo.body` instead of as a stream inside it, because building and
 * reading that stream back cost more than the refresh itself (docs/benchmarks.md).
 *
 * @example
 * const parts = await jwtRefresh.handleToParts(toCoreRequest(req.method, req.url, req.headers), { body, clientIp: req.ip });
 */
export function toCoreRequest(method: string, url: string, headers: Record<string, string | string[] | undefined>): Request {
  return new Request(new URL(url, 'http://localhost'), { method, headers: joinHeaders(headers) });
}

/**
 * A standard Fetch `Request` from the pieces a Node server has, body
 * included: for hosting a Fetch app (Hono, ...) on a Node server.
 * Multi-valued headers are joined as HTTP allows; the base URL only matters
 * for path and query.
 *
 * @example
 * const response = await app.fetch(toFetchRequest(req.method, req.url, req.headers, body));
 */
export function toFetchRequest(
  method: string,
  url: string,
  headers: Record<string, string | string[] | undefined>,
  body: Uint8Array | string | null | undefined,
): Request {
  const hasBody = body !== null && body !== undefined && method !== 'GET' && method !== 'HEAD';
  return new Request(new URL(url, 'http://localhost'), {
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
