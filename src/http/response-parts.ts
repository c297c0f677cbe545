/**
 * An HTTP answer as the handlers produce it: plain parts, so a Node adapter
 * writes them straight to its framework's reply, and a Fetch `Response` is
 * built once, only where a Fetch host wants one ({@link toFetchResponse}).
 */
export interface ResponseParts {
  status: number;
  /** Every header but Set-Cookie, lower-case names. */
  headers: Array<[string, string]>;
  /** Each Set-Cookie header on its own (they cannot be comma-joined). */
  setCookies: string[];
  body: string;
}

/**
 * A JSON answer. Token-bearing answers must never be cached (RFC 6749 §5.1),
 * and nothing here is worth caching unless a route says so (JWKS, OpenAPI),
 * so every answer says `no-store` by default.
 */
export function jsonParts(status: number, body: unknown, headers: Record<string, string> = {}, setCookies: string[] = []): ResponseParts {
  const cacheControl = headers['cache-control'] ?? 'no-store';
  const parts: Array<[string, string]> = [
    ['content-type', 'application/json; charset=utf-8'],
    ['cache-control', cacheControl],
  ];
  // The HTTP/1.0 no-cache only goes with no-store: a cacheable answer must not carry it.
  if (cacheControl === 'no-store') parts.push(['pragma', 'no-cache']);
  for (const [name, value] of Object.entries(headers)) if (name !== 'cache-control') parts.push([name, value]);
  return { status, headers: parts, setCookies, body: JSON.stringify(body) };
}

/** The parts as a Fetch `Response`, for Fetch hosts (Hono, Next.js, Bun, Deno) and callers that want one. */
export function toFetchResponse(parts: ResponseParts): Response {
  const headers = new Headers(parts.headers);
  for (const cookie of parts.setCookies) headers.append('set-cookie', cookie);
  return new Response(parts.body, { status: parts.status, headers });
}

/**
 * A Fetch `Response` taken apart (e.g. one a `refreshFailure` listener set),
 * for frameworks that write status, headers and body separately.
 *
 * @example
 * const { status, headers, setCookies, body } = await toResponseParts(await app.fetch(request));
 */
export async function toResponseParts(response: Response): Promise<ResponseParts> {
  const headers: Array<[string, string]> = [];
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers.push([name, value]);
  });
  return { status: response.status, headers, setCookies: response.headers.getSetCookie(), body: await response.text() };
}
