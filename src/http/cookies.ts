import type { JwtRefreshConfig } from '../config/schema.js';
import type { SessionTokens } from '../sessions/session-tokens.js';

/** Longest lifetime a browser honours (RFC 6265bis §5.5: Max-Age and Expires are capped at 400 days). */
const MAX_COOKIE_SECONDS = 400 * 24 * 3600;

/**
 * The value of cookie `name` in a Cookie header, or null. A malformed
 * percent-encoding yields null rather than an exception.
 *
 * A name sent more than once with different values yields null too: the
 * ambiguity is refused, never settled by order. Browsers send the cookie with
 * the longest path first, so "the first one wins" would let a cookie planted
 * from a sibling subdomain (`Domain=` the parent, a narrower `Path=`) decide
 * the session; trying each would let a planted live token of the attacker's
 * own account win just as well. Under the `__Host-` prefix no other host can
 * plant the name at all (RFC 6265bis §4.1.3.2), which is why the standalone
 * server uses it (docs/cookies.md).
 */
export function readCookie(cookieHeader: string | null, name: string): string | null {
  if (cookieHeader === null) return null;
  const values = new Set<string>();
  for (const pair of cookieHeader.split(';')) {
    const separator = pair.indexOf('=');
    if (separator >= 0 && pair.slice(0, separator).trim() === name) values.add(pair.slice(separator + 1).trim());
  }
  if (values.size !== 1) return null;
  try {
    return decodeURIComponent([...values][0]!);
  } catch {
    return null;
  }
}

/** In cookie mode, the Set-Cookie header that hands a session's refresh token over; null outside it. */
export function sessionCookie(config: JwtRefreshConfig, session: SessionTokens, now: Date): string | null {
  return config.cookie.enabled ? refreshTokenCookie(config, session.refreshToken, session.refreshTokenExpiresAt, now) : null;
}

/**
 * The Set-Cookie header carrying a refresh token (SPEC §4): the attributes of
 * `cookie` mode, expiring with the token itself.
 */
export function refreshTokenCookie(config: JwtRefreshConfig, token: string, validUntil: Date, now: Date): string {
  const maxAge = Math.min(MAX_COOKIE_SECONDS, Math.max(0, Math.floor((validUntil.getTime() - now.getTime()) / 1000)));
  const expires = new Date(now.getTime() + maxAge * 1000);
  return serialize(config, encodeURIComponent(token), maxAge, expires);
}

/** The Set-Cookie header that removes the refresh-token cookie: same name, path, domain and flags, expiry in the past. */
export function clearedRefreshTokenCookie(config: JwtRefreshConfig): string {
  return serialize(config, '', 0, new Date(0));
}

/** The refresh-token cookie's name: the optional prefix, then `tokenParameterName`. */
export function refreshCookieName(config: JwtRefreshConfig): string {
  return `${config.cookie.prefix}${config.tokenParameterName}`;
}

function serialize(config: JwtRefreshConfig, value: string, maxAge: number, expires: Date): string {
  const { cookie } = config;
  const parts = [`${refreshCookieName(config)}=${value}`, `Max-Age=${maxAge}`, `Expires=${expires.toUTCString()}`, `Path=${cookie.path}`];
  if (cookie.domain !== null) parts.push(`Domain=${cookie.domain}`);
  if (cookie.secure) parts.push('Secure');
  if (cookie.httpOnly) parts.push('HttpOnly');
  parts.push(`SameSite=${cookie.sameSite[0]!.toUpperCase()}${cookie.sameSite.slice(1)}`);
  if (cookie.partitioned) parts.push('Partitioned');
  return parts.join('; ');
}
