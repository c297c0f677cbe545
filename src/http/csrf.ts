import type { JwtRefreshConfig } from '../config/schema.js';
import { CrossOriginRequestError, CsrfError } from '../errors.js';
import type { RequestView } from '../lib/request-view.js';

/** RFC 9110 §9.2.1: methods that change nothing, never refused (Go's CrossOriginProtection alike). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Cookie mode's CSRF defence (SPEC §4, docs/csrf.md), for every route that
 * sets, reads or clears the refresh cookie or revokes a token: login, refresh,
 * invalidate, revoke. Call it first, before the body, the rate limiter or the
 * store are touched. Outside cookie mode it checks nothing: a token in the
 * body is no ambient authority a cross-site page could borrow.
 *
 * The algorithm is Go's `net/http.CrossOriginProtection.Check` (Go 1.25,
 * src/net/http/csrf.go):
 * 1. GET, HEAD and OPTIONS pass.
 * 2. `Sec-Fetch-Site: same-origin` or `none` (typed in the address bar) passes;
 *    any other value (`same-site`, `cross-site`) is refused unless `Origin` is
 *    one of `cookie.trustedOrigins`.
 * 3. Without `Sec-Fetch-Site`: no `Origin` either means no browser (curl, a
 *    mobile app, a server) and passes; an `Origin` whose host is the request's
 *    `Host` passes (the scheme is unknown there, so http→https fails open as in
 *    Go; HSTS covers it); a trusted origin passes; anything else is refused.
 *
 * Go's insecure bypass patterns are left out: the checked routes are a fixed
 * set, and letting one through for every origin would undo the check for all
 * the sessions it guards; `trustedOrigins` names the sites that may call them.
 *
 * Checking only cookie-borne tokens would not be enough: a cross-site form can
 * post an attacker's own token or credentials, and the browser stores the
 * cookie the answer sets, or drops the one it clears (OWASP CSRF Prevention
 * Cheat Sheet, "Login CSRF").
 *
 * Then, when `cookie.csrfHeader` is set (an opt-in extra), the request must
 * also carry that header with a non-empty value.
 *
 * @throws CrossOriginRequestError for a cross-site browser request (403)
 * @throws CsrfError when the opt-in header is required and missing or empty (403)
 * @example
 * assertCsrfProtected(request, ctx.config); // first line of a cookie route's handler
 */
export function assertCsrfProtected(request: RequestView, config: JwtRefreshConfig): void {
  if (!config.cookie.enabled) return;
  if (isCrossOrigin(request, config.cookie.trustedOrigins)) throw new CrossOriginRequestError();
  const header = config.cookie.csrfHeader;
  if (header !== null && (request.header(header) ?? '') === '') throw new CsrfError(header);
}

/**
 * The same cross-origin check for the routes that act on the caller's access
 * token (the sessions routes, renewal), when `accessTokenExtractors` reads it
 * from a cookie: then the browser attaches it to a cross-site form as it would
 * a refresh cookie, and a forged `POST /api/sessions/revoke-all` would log the
 * victim out everywhere. A token read from a header or the query string is no
 * ambient authority, and safe methods pass as above.
 *
 * @throws CrossOriginRequestError for a cross-site browser request (403)
 */
export function assertAccessTokenRouteProtected(request: RequestView, config: JwtRefreshConfig): void {
  const ambient = config.accessTokenExtractors.some((extractor) => extractor.type === 'cookie' || extractor.type === 'splitCookie');
  if (ambient && isCrossOrigin(request, config.cookie.trustedOrigins)) throw new CrossOriginRequestError();
}

function isCrossOrigin(request: RequestView, trustedOrigins: readonly string[]): boolean {
  if (SAFE_METHODS.has(request.method)) return false;
  const origin = request.header('origin');
  const trusted = origin !== null && trustedOrigins.includes(origin);
  const site = request.header('sec-fetch-site');
  if (site !== null && site !== '') return site !== 'same-origin' && site !== 'none' && !trusted;
  if (origin === null || origin === '') return false;
  return originHost(origin) !== requestHost(request) && !trusted;
}

/** The host (with port) of an `Origin` value; null for `null` (an opaque origin) or anything unparsable. */
function originHost(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

/**
 * The host the client addressed: the `Host` header, as Go reads `req.Host`
 * (Node adapters build the URL on a placeholder base), else the URL's own.
 */
function requestHost(request: RequestView): string {
  return request.header('host') ?? request.parsedUrl.host;
}
