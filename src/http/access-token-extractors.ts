import type { AccessTokenExtractor } from '../config/schema.js';
import { JwtNotFoundError } from '../errors.js';
import { readCookie } from './cookies.js';

/**
 * What protected routes need of a request to find its access token: its headers
 * and its URL. A Fetch `Request` is one, and so are the Node requests of Express,
 * Fastify and Nest (`req.headers`, `req.url`).
 *
 * @example
 * const claims = await jwtRefresh.verifyRequest({ headers: req.headers, url: req.url });
 */
export interface AccessTokenRequest {
  /** Fetch `Headers`, or Node's header object (lower-case names). */
  readonly headers: Headers | Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The request URL, absolute or path and query; only its query string is read. */
  readonly url: string;
}

/**
 * The access token of a request: the first that `extractors` find, in their
 * order (lexik's `ChainTokenExtractor`), or null. An extractor whose place holds
 * something else (`Authorization: Basic ...`, one cookie of a split token
 * missing) finds nothing and the next is tried.
 *
 * @example
 * accessTokenOf(request, [{ type: 'header', name: 'Authorization', prefix: 'Bearer' }, { type: 'cookie', name: 'BEARER' }]);
 */
export function accessTokenOf(request: AccessTokenRequest, extractors: readonly AccessTokenExtractor[]): string | null {
  for (const extractor of extractors) {
    const token = extract(request, extractor);
    // An empty value is no token: the next place may hold one.
    if (token !== null && token !== '') return token;
  }
  return null;
}

/**
 * Like {@link accessTokenOf}, for protected routes: no token is an error.
 *
 * @throws JwtNotFoundError
 */
export function requireAccessToken(request: AccessTokenRequest, extractors: readonly AccessTokenExtractor[]): string {
  const token = accessTokenOf(request, extractors);
  if (token === null) throw new JwtNotFoundError();
  return token;
}

function extract(request: AccessTokenRequest, extractor: AccessTokenExtractor): string | null {
  switch (extractor.type) {
    case 'header':
      return tokenOfHeader(headerOf(request, extractor.name), extractor.prefix);
    case 'query':
      return queryParameterOf(request.url, extractor.name);
    case 'cookie':
      return readCookie(headerOf(request, 'cookie'), extractor.name);
    case 'splitCookie': {
      // Lexik's SplitCookieExtractor: every part or no token.
      const cookies = headerOf(request, 'cookie');
      const parts = extractor.names.map((name) => readCookie(cookies, name));
      return parts.every((part) => part !== null && part !== '') ? parts.join('.') : null;
    }
  }
}

/**
 * `<prefix> <token>` with the prefix compared without case (SPEC §1), or the whole
 * value when the prefix is empty (lexik's `prefix: ~`).
 */
function tokenOfHeader(value: string | null, prefix: string): string | null {
  if (value === null) return null;
  if (prefix === '') return value.trim();
  const separator = /[ \t]+/.exec(value);
  if (separator === null || value.slice(0, separator.index).toLowerCase() !== prefix.toLowerCase()) return null;
  const token = value.slice(separator.index + separator[0].length).trim();
  // One token, nothing after it: "Bearer a b" is not a bearer token.
  return token === '' || /[ \t]/.test(token) ? null : token;
}

function headerOf(request: AccessTokenRequest, name: string): string | null {
  const { headers } = request;
  if (isFetchHeaders(headers)) return headers.get(name);
  const value = headers[name.toLowerCase()];
  if (value === undefined) return null;
  // Node joins repeated headers except a few; a repeated one we read arrives as its first value.
  return typeof value === 'string' ? value : (value[0] ?? null);
}

function isFetchHeaders(headers: AccessTokenRequest['headers']): headers is Headers {
  return typeof (headers as Headers).get === 'function';
}

function queryParameterOf(url: string, name: string): string | null {
  const query = url.indexOf('?');
  if (query < 0) return null;
  const hash = url.indexOf('#', query);
  return new URLSearchParams(url.slice(query + 1, hash < 0 ? undefined : hash)).get(name);
}
