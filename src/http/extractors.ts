import type { JwtRefreshConfig } from '../config/schema.js';
import type { RequestView } from '../lib/request-view.js';
import { readCookie, refreshCookieName } from './cookies.js';
import type { ParsedBody } from './read-body.js';

/** What an extractor may look at: the request, its parsed body and URL. */
export interface RefreshTokenSource {
  /**
   * The request as a Fetch `Request`. Behind a Node adapter it is built on
   * first read (then kept): read {@link RefreshTokenSource.header} for a header.
   */
  readonly request: Request;
  readonly body: ParsedBody;
  readonly url: URL;
  /** A request header (name in any case), as `request.headers.get(name)` answers, without building a `Request`. */
  header(name: string): string | null;
}

/**
 * The source the refresh and logout routes hand the extractor chain: the URL
 * parsed and the Fetch `Request` built only when an extractor reads them.
 */
export function refreshTokenSource(view: RequestView, body: ParsedBody): RefreshTokenSource {
  return {
    get request() {
      return view.fetchRequest();
    },
    body,
    get url() {
      return view.parsedUrl;
    },
    header: (name) => view.header(name),
  };
}

/**
 * Finds a refresh token in a request (SPEC §6). Return null, or anything that
 * is not a non-empty string, for "not here".
 *
 * @example
 * const fromHeader: RefreshTokenExtractor = ({ header }) => header('x-refresh-token');
 */
export type RefreshTokenExtractor = (source: RefreshTokenSource, parameterName: string) => unknown;

/** An extractor with its place in the chain: higher priority is asked first. */
export interface PrioritizedExtractor {
  name: string;
  priority: number;
  extract: RefreshTokenExtractor;
}

// The bundle's RequestBodyExtractor trims the JSON string (`trim($params[$parameter])`).
const fromJsonBody: RefreshTokenExtractor = ({ body }, name) => {
  const value = body.kind === 'json' && isPlainObject(body.value) ? body.value[name] : null;
  return typeof value === 'string' ? value.trim() : value;
};

const fromFormBody: RefreshTokenExtractor = ({ body }, name) => (body.kind === 'form' ? body.value.get(name) : null);

const fromQuery: RefreshTokenExtractor = ({ url }, name) => url.searchParams.get(name);

/**
 * The built-in chain for a configuration: JSON body (40), form body (30),
 * cookie in cookie mode (20). The query string only in bundle-compat mode,
 * since tokens in URLs end up in logs and Referer headers; there it takes the
 * bundle's place (35): its chain asks RequestBodyExtractor (JSON), then
 * RequestParameterExtractor (`$request->get()`: the query string before the
 * form body), then RequestCookieExtractor, in the order its services.php
 * registers them. A request has one body, JSON or form, so only the query
 * string against a form body and everything against the cookie are ordered.
 */
export function builtInExtractors(config: JwtRefreshConfig): PrioritizedExtractor[] {
  const chain: PrioritizedExtractor[] = [
    { name: 'json', priority: 40, extract: fromJsonBody },
    { name: 'form', priority: 30, extract: fromFormBody },
  ];
  if (config.cookie.enabled) {
    const cookieName = refreshCookieName(config);
    chain.push({ name: 'cookie', priority: 20, extract: (source) => readCookie(source.header('cookie'), cookieName) });
  }
  if (config.bundleCompat) chain.push({ name: 'query', priority: 35, extract: fromQuery });
  return chain;
}

/** Sorts a chain by descending priority (stable for equal priorities). */
export function orderExtractors(extractors: PrioritizedExtractor[]): PrioritizedExtractor[] {
  return [...extractors].sort((a, b) => b.priority - a.priority);
}

/** A token found by the chain, with the name of the extractor that found it. */
export interface ExtractedToken {
  token: string;
  extractor: string;
}

/**
 * Asks the chain in order and returns the first usable token: a non-empty
 * string no longer than `maxTokenLength`. Anything else is "no token here",
 * never an error, and the next extractor is asked.
 */
export function extractRefreshToken(
  chain: PrioritizedExtractor[],
  source: RefreshTokenSource,
  config: JwtRefreshConfig,
): ExtractedToken | null {
  for (const extractor of chain) {
    const value = extractor.extract(source, config.tokenParameterName);
    if (typeof value === 'string' && value.length > 0 && value.length <= config.maxTokenLength) {
      return { token: value, extractor: extractor.name };
    }
  }
  return null;
}

/** A JSON object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
