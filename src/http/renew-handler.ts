import { reloadClaimsUser } from '../auth/reload-user.js';
import { JwtInvalidError } from '../errors.js';
import { mintAccessToken } from '../jwt/mint-access-token.js';
import { toUnixSeconds } from '../lib/clock.js';
import { authenticateAccessToken } from './authenticate-access-token.js';
import { errorResponse } from './error-response.js';
import type { HandlerContext } from './handler-context.js';
import { jsonResponse } from './json-response.js';

/**
 * `POST /api/token/renew` (SPEC §3b, the seeds' blog post): a still-valid,
 * unrevoked access token in, a fresh one out, for clients that keep no
 * refresh token. Beyond the post: the new token keeps the original
 * `auth_time` and `sid`, and renewal ends `maxSessionLifetime` after
 * `auth_time` (the new `exp` never passes that deadline). The user is
 * reloaded and checked as on refresh (SPEC §3), so a deleted or disabled user
 * cannot renew, and the new token carries the user's current roles.
 */
export async function handleRenew(ctx: HandlerContext, request: Request): Promise<Response> {
  try {
    const claims = await authenticateAccessToken(ctx, request.headers.get('authorization'));
    const now = ctx.now();
    const { jwt, maxSessionLifetime } = ctx.config;
    const authTime = typeof claims.auth_time === 'number' ? claims.auth_time : (claims.iat ?? toUnixSeconds(now));
    const deadline = maxSessionLifetime === undefined ? null : authTime + maxSessionLifetime;
    if (deadline !== null && toUnixSeconds(now) >= deadline) throw new JwtInvalidError();
    const user = await reloadClaimsUser(ctx.credentials, claims, jwt);
    const sessionClaims: Record<string, unknown> = { auth_time: authTime };
    if (typeof claims.sid === 'string') sessionClaims.sid = claims.sid;
    if (deadline !== null) sessionClaims.exp = Math.min(toUnixSeconds(now) + jwt.tokenTtl, deadline);
    const body: Record<string, unknown> = { token: await mintAccessToken(ctx.keys, jwt, ctx.events, user, now, sessionClaims) };
    await ctx.events.emit('authenticationSuccess', { user, body, request });
    return jsonResponse(200, body);
  } catch (error) {
    return errorResponse(error, ctx.reportError);
  }
}
