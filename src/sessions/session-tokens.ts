import type { User } from '../auth/user.js';
import { mintAccessToken } from '../jwt/mint-access-token.js';
import { sessionClaims } from '../jwt/session-claims.js';
import { isBrowserRequest } from '../lib/browser-request.js';
import { toUnixSeconds } from '../lib/clock.js';
import type { JwtRefreshConfig } from '../config/schema.js';
import type { RefreshTokenRecord } from '../stores/store.js';
import type { SessionContext } from './session-context.js';
import type { RequestView } from '../lib/request-view.js';

/**
 * The shape of the token response: the bundle's (SPEC §2: `token`,
 * `refresh_token`, the expiration key, names as configured) or OAuth 2.0's
 * (RFC 6749 §5.1: `access_token`, `token_type`, `expires_in`, `refresh_token`).
 */
export type TokenResponseFormat = 'bundle' | 'oauth';

/** What a started or refreshed session hands to its client. */
export interface SessionTokens {
  /** The session (token family) id: the access token's `sid`, what `listSessions` and `revokeSession` name. */
  sessionId: string;
  accessToken: string;
  accessTokenExpiresAt: Date;
  /** The plain refresh token: for the client only, never stored or logged. */
  refreshToken: string;
  refreshTokenExpiresAt: Date;
  /** The user the tokens speak for, as loaded and checked. */
  user: User;
  /**
   * The token response as the HTTP routes send it, after `authenticationSuccess`
   * listeners changed it. In cookie mode with `removeTokenFromBody` it holds no
   * refresh token (the route sets the cookie from `refreshToken`); with `'auto'`,
   * none when a browser sent `request`.
   */
  responseBody: Record<string, unknown>;
}

/**
 * The last step of every use case that hands out a refresh token: signs the
 * access token for the session `record` belongs to (its `sid`, `auth_time`,
 * and an `exp` within the family deadline), builds the response body and
 * lets `authenticationSuccess` listeners change it.
 */
export async function deliverSessionTokens(
  ctx: SessionContext,
  delivery: {
    user: User;
    refreshToken: string;
    record: RefreshTokenRecord;
    now: Date;
    request: Request | RequestView | undefined;
    format: TokenResponseFormat;
  },
): Promise<SessionTokens> {
  const { user, refreshToken, record, now, request, format } = delivery;
  const { config } = ctx;
  const minted = await mintAccessToken(ctx.keys, config.jwt, ctx.events, user, now, sessionClaims(record, config, now));
  const exp = typeof minted.claims.exp === 'number' ? minted.claims.exp : toUnixSeconds(now) + config.jwt.tokenTtl;
  const responseBody: Record<string, unknown> =
    format === 'oauth'
      ? { access_token: minted.token, token_type: 'Bearer', expires_in: exp - toUnixSeconds(now), refresh_token: refreshToken }
      : { token: minted.token };
  if (format === 'bundle') {
    if (refreshTokenInBody(config, request)) responseBody[config.tokenParameterName] = refreshToken;
    if (config.returnExpiration) responseBody[config.returnExpirationParameterName] = toUnixSeconds(record.validUntil);
  }
  await ctx.events.emit('authenticationSuccess', { user, body: responseBody, request });
  return {
    sessionId: record.familyId,
    accessToken: minted.token,
    accessTokenExpiresAt: new Date(exp * 1000),
    refreshToken,
    refreshTokenExpiresAt: record.validUntil,
    user,
    responseBody,
  };
}

/**
 * Whether the bundle-shaped body carries the refresh token: always outside
 * cookie mode; in cookie mode per `cookie.removeTokenFromBody`, and with
 * `'auto'` only for a client that is no browser, so a page script never sees
 * a token its HttpOnly cookie hides (SuperTokens' token transfer method).
 * Without a request (application code) there is no browser to hide it from.
 */
function refreshTokenInBody(config: JwtRefreshConfig, request: Request | RequestView | undefined): boolean {
  const { enabled, removeTokenFromBody } = config.cookie;
  if (!enabled) return true;
  if (removeTokenFromBody === 'auto') return request === undefined || !isBrowserRequest(request);
  return !removeTokenFromBody;
}
