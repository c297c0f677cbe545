import type { JwtRefreshConfig } from '../config/schema.js';
import { CsrfError } from '../errors.js';

/**
 * Cookie mode's CSRF defence (SPEC §4), for every route that sets or clears
 * the refresh cookie: login, refresh and invalidate. With `cookie.enabled`
 * and `cookie.csrfHeader` not null, the request must carry that header with
 * a non-empty value, whatever carries the token or the credentials; else
 * {@link CsrfError} (403). Call it first, before the body, the rate limiter
 * or the store are touched.
 *
 * Checking only cookie-borne tokens is not enough: a cross-site form can post
 * an attacker's own token or credentials, and the browser stores the cookie
 * the answer sets, or drops the one it clears (RFC 6265bis §8.8: a top-level
 * navigation may set a cookie of any SameSite value; OWASP CSRF Prevention
 * Cheat Sheet, "Login CSRF"). A form cannot send a custom header, and a
 * cross-origin `fetch` that does needs a CORS preflight.
 *
 * @throws CsrfError when the header is required and missing or empty
 * @example
 * assertCsrfHeader(request, ctx.config); // first line of a cookie route's handler
 */
export function assertCsrfHeader(request: Request, config: JwtRefreshConfig): void {
  const header = config.cookie.csrfHeader;
  if (!config.cookie.enabled || header === null) return;
  if ((request.headers.get(header) ?? '') === '') throw new CsrfError(header);
}
