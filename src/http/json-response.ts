/**
 * Bodies of responses built here, kept beside the Response instead of in it.
 *
 * Why: on Node 20 a Response with a body builds a ReadableStream, and reading
 * it back costs more than the whole refresh logic (see docs/benchmarks.md).
 * Node adapters take the text from here through `toResponseParts`; every
 * exit towards a Fetch host goes through {@link finalizeResponse}, which puts
 * the body into a real Response.
 */
const outOfBandBodies = new WeakMap<Response, string>();

/** The body of a response built by {@link jsonResponse} and not finalized, or undefined. */
export function outOfBandBody(response: Response): string | undefined {
  return outOfBandBodies.get(response);
}

/**
 * A Response that carries its body itself, for a Fetch host (Hono, Next.js,
 * Bun, Deno) or a caller that reads it. Responses from elsewhere (e.g. set by
 * a `refreshFailure` listener) come back unchanged.
 */
export function finalizeResponse(response: Response): Response {
  const body = outOfBandBodies.get(response);
  if (body === undefined) return response;
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/**
 * A JSON response. Token-bearing answers must never be cached (RFC 6749 §5.1),
 * and nothing here is worth caching, so every answer says `no-store`.
 * Internal: its body travels out of band until {@link finalizeResponse}.
 */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}, setCookies: string[] = []): Response {
  const responseHeaders = new Headers({
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    pragma: 'no-cache',
    ...headers,
  });
  // A cacheable answer (JWKS, OpenAPI) must not carry the HTTP/1.0 no-cache.
  if (headers['cache-control'] !== undefined && headers['cache-control'] !== 'no-store') responseHeaders.delete('pragma');
  for (const cookie of setCookies) responseHeaders.append('set-cookie', cookie);
  const response = new Response(null, { status, headers: responseHeaders });
  outOfBandBodies.set(response, JSON.stringify(body));
  return response;
}
