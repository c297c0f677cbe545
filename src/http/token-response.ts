import type { User } from '../auth/user.js';
import { mintAccessToken } from '../jwt/mint-access-token.js';
import { sessionClaims } from '../jwt/session-claims.js';
import { toUnixSeconds } from '../lib/clock.js';
import type { RefreshTokenRecord } from '../stores/store.js';
import { refreshTokenCookie } from './cookies.js';
import type { HandlerContext } from './handler-context.js';
import { jsonResponse } from './json-response.js';

/**
 * The 200 answer of login and refresh (SPEC §2, §3, §4):
 * `{"token", "refresh_token", ["refresh_token_expiration"]}`, key names as
 * configured; in cookie mode the refresh token goes in a cookie and, with
 * `removeTokenFromBody`, out of the body, while the expiration stays.
 * `authenticationSuccess` listeners see and may change the body.
 */
export async function tokenResponse(
  ctx: HandlerContext,
  user: User,
  refreshToken: string,
  record: RefreshTokenRecord,
  request: Request,
): Promise<Response> {
  const now = ctx.now();
  const { config } = ctx;
  // `sid` names the session (the token family), so session routes know which one is "current".
  const claims = sessionClaims(record, config, now);
  const body: Record<string, unknown> = { token: await mintAccessToken(ctx.keys, config.jwt, ctx.events, user, now, claims) };
  if (!(config.cookie.enabled && config.cookie.removeTokenFromBody)) body[config.tokenParameterName] = refreshToken;
  if (config.returnExpiration) body[config.returnExpirationParameterName] = toUnixSeconds(record.validUntil);
  await ctx.events.emit('authenticationSuccess', { user, body, request });
  const cookies = config.cookie.enabled ? [refreshTokenCookie(config, refreshToken, record.validUntil, now)] : [];
  return jsonResponse(200, body, {}, cookies);
}
