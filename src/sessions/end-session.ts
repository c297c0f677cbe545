import { claimsNameUser } from '../jwt/user-of-claims.js';
import { blockAccessToken } from '../tokens/access-token-revocation.js';
import { claimsOrNull } from './authenticate-access-token.js';
import { findPresentedToken } from './find-presented-token.js';
import { revokeFamily } from './revoke-family.js';
import type { SessionContext } from './session-context.js';
import type { RequestView } from '../lib/request-view.js';

/** Options of {@link endSession}. */
export interface EndSessionOptions {
  /**
   * The caller's access token, when the logout carried one: a valid one of
   * the token's owner is blocklisted too; a valid one of ANOTHER user leaves
   * the refresh token untouched (SPEC §5).
   */
  accessToken?: string;
  /** The HTTP request, when one carried the logout; handed to event listeners (as a Fetch `Request`). */
  request?: Request | RequestView;
}

/** What a logout did. */
export interface EndedSession {
  /** Whether a live session was ended; false: the token was already invalid (or another user's). */
  ended: boolean;
  /** The session the token belonged to, or null when the token is unknown. */
  sessionId: string | null;
}

/**
 * Logs a refresh token's session out (SPEC §5): revokes its whole family and
 * the family's access tokens. A token that was rotated away still names its
 * session, so it ends it too, inside the grace window or after: a logout that
 * races a silent refresh, or follows a refresh whose answer was lost, must not
 * leave the successor alive. An unknown, expired or revoked token is "already
 * invalid". Fires `logout`.
 *
 * @throws StoreError
 */
export async function endSession(ctx: SessionContext, refreshToken: string, options: EndSessionOptions = {}): Promise<EndedSession> {
  const now = ctx.now();
  const caller = await claimsOrNull(ctx, options.accessToken);
  const record = await findPresentedToken(ctx, refreshToken);
  const callersOwn = record !== null && (caller === null || claimsNameUser(caller, record, ctx.config.jwt));
  const namesLiveSession =
    record !== null && record.revokedAt === null && (record.rotatedAt !== null || record.validUntil.getTime() > now.getTime());
  const ended = callersOwn && namesLiveSession && (await revokeFamily(ctx, record.familyId, record.userId, 'logout', now)) > 0;
  // Logging out also ends the caller's access token, unless the refresh token was someone else's.
  if (caller !== null && (record === null || callersOwn)) await blockAccessToken(ctx.store, caller);
  await ctx.events.emit('logout', { record, revoked: ended, request: options.request });
  return { ended, sessionId: record?.familyId ?? null };
}
