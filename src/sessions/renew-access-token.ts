import { reloadClaimsUser } from '../auth/reload-user.js';
import type { User } from '../auth/user.js';
import { JwtInvalidError } from '../errors.js';
import { mintAccessToken } from '../jwt/mint-access-token.js';
import { toUnixSeconds } from '../lib/clock.js';
import { verifyUnrevoked } from './authenticate-access-token.js';
import type { SessionContext } from './session-context.js';
import type { RequestView } from '../lib/request-view.js';

/** A renewed access token. */
export interface RenewedAccessToken {
  accessToken: string;
  accessTokenExpiresAt: Date;
  user: User;
  /** `{"token": ...}` as the renewal route sends it, after `authenticationSuccess` listeners. */
  responseBody: Record<string, unknown>;
}

/**
 * Trades a still-valid, unrevoked access token for a fresh one (SPEC §3b, the
 * seeds' blog post), for clients that keep no refresh token. The new token
 * keeps the original `auth_time` and `sid`; renewal ends `maxSessionLifetime`
 * after `auth_time` (the new `exp` never passes that deadline). The user is
 * reloaded and checked as on refresh, so a deleted or disabled user cannot
 * renew, and the new token carries the user's current roles.
 *
 * Renewal is bounded by the session: the token must name one (`sid`) that is
 * still live in the store (a current refresh token that is neither revoked nor
 * expired), and the new `exp` never passes that token's validity. So logging
 * out, revoking the session, or simply letting its refresh token expire ends
 * renewal too; a token stolen from a session cannot be renewed past it, and
 * the victim sees and can revoke that session in `listSessions`. A token
 * without `sid` (`jwt-refresh token generate`, `createAccessToken`) cannot be renewed.
 *
 * @throws JwtExpiredError, JwtInvalidError (also past the session deadline or without a live session), the user checker's error
 */
export async function renewAccessToken(
  ctx: SessionContext,
  accessToken: string,
  options: { request?: Request | RequestView } = {},
): Promise<RenewedAccessToken> {
  const claims = await verifyUnrevoked(ctx, accessToken);
  const now = ctx.now();
  const { jwt, maxSessionLifetime } = ctx.config;
  const authTime = typeof claims.auth_time === 'number' ? claims.auth_time : (claims.iat ?? toUnixSeconds(now));
  const deadline = maxSessionLifetime === undefined ? null : authTime + maxSessionLifetime;
  if (deadline !== null && toUnixSeconds(now) >= deadline) throw new JwtInvalidError();
  if (typeof claims.sid !== 'string') throw new JwtInvalidError();
  const user = await reloadClaimsUser(ctx, claims, jwt);
  const session = (await ctx.store.listFamilies(user.id, now)).find((family) => family.familyId === claims.sid);
  if (session === undefined) throw new JwtInvalidError();
  const sessionEnd = toUnixSeconds(session.validUntil);
  const sessionClaims: Record<string, unknown> = {
    auth_time: authTime,
    sid: claims.sid,
    exp: Math.min(toUnixSeconds(now) + jwt.tokenTtl, sessionEnd, deadline ?? Number.POSITIVE_INFINITY),
  };
  const minted = await mintAccessToken(ctx.keys, jwt, ctx.events, user, now, sessionClaims);
  const responseBody: Record<string, unknown> = { token: minted.token };
  await ctx.events.emit('authenticationSuccess', { user, body: responseBody, request: options.request });
  const exp = typeof minted.claims.exp === 'number' ? minted.claims.exp : toUnixSeconds(now) + jwt.tokenTtl;
  return { accessToken: minted.token, accessTokenExpiresAt: new Date(exp * 1000), user, responseBody };
}
