import { outOfBandBody } from './json-response.js';
import { attachRawBody } from './read-body.js';

/** A Fetch `Response` taken apart for frameworks that write status, headers and body separately. */
export interface ResponseParts {
  status: number;
  /** Every header but Set-Cookie, lower-case names. */
  headers: Array<[string, string]>;
  /** Each Set-Cookie header on its own (they cannot be comma-joined). */
  setCookies: string[];
  body: string;
}

/**
 * Splits a response into the parts a Node framework writes. Shared by every
 * adapter so none of them re-implements the Set-Cookie special case.
 */
export async function toResponseParts(response: Response): Promise<ResponseParts> {
  const headers: Array<[string, string]> = [];
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers.push([name, value]);
  });
  const body = outOfBandBody(response) ?? (await response.text());
  return { status: response.status, headers, setCookies: response.headers.getSetCookie(), body };
}

/**
 * A standard Fetch `Request` from the pieces a Node framework has, body
 * included: for hosting a Fetch app (Hono, ...) on a Node server. Multi-valued
 * headers are joined as HTTP allows; the base URL only matters for path and query.
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

/**
 * The `Request` a Node adapter hands to `jwtRefresh.handleToParts`: like
 * {@link toFetchRequest}, but the body the framework already buffered travels
 * beside the Request (see `readBody`) instead of as a stream inside it,
 * because building and reading that stream back cost more than the refresh
 * itself. Its `request.body` is null; handlers, extractors and listeners get
 * the parsed body instead. Internal to the adapters.
 */
export function toCoreRequest(
  method: string,
  url: string,
  headers: Record<string, string | string[] | undefined>,
  body: Uint8Array | string | null | undefined,
): Request {
  const request = new Request(new URL(url, 'http://localhost'), { method, headers: joinHeaders(headers) });
  if (body !== null && body !== undefined && method !== 'GET' && method !== 'HEAD') attachRawBody(request, body);
  return request;
}

function joinHeaders(headers: Record<string, string | string[] | undefined>): Headers {
  const joined = new Headers();
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) joined.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return joined;
}
