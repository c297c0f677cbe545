import { claimsCarryUserId } from '../jwt/user-of-claims.js';
import type { FamilySummary } from '../stores/store.js';
import { familyWatermarkKey } from '../tokens/access-token-revocation.js';
import type { OperatorContext } from './session-context.js';

/**
 * "Log out everywhere" (SPEC §5, beyond the bundle; what a password change
 * calls): revokes every token family of the user and refuses every access
 * token of the user signed up to now, on every instance sharing the store.
 * Answers how many refresh tokens it revoked.
 *
 * Access tokens name their user by the stable id in `sub` by default; when the
 * configuration leaves only the identifier, the watermark goes on every
 * identifier the user's live sessions were issued to and on the one the user
 * provider knows now. As with a single session, the watermark is read after
 * the revocation so a racing refresh's access token is refused too.
 *
 * @throws StoreError
 */
export async function revokeAllSessions(ctx: OperatorContext, userId: string): Promise<number> {
  const now = ctx.now();
  const sessions = await ctx.store.listFamilies(userId, now);
  const userKeys = await accessTokenUserKeys(ctx, userId, sessions);
  const count = await ctx.store.revokeUser(userId, now);
  const watermark = ctx.now();
  for (const key of userKeys) await ctx.store.setRevokedBefore(key, watermark);
  // Each ended session's own watermark: it refuses that session's tokens signed in the
  // watermark's second, which the user's watermark lets pass for sessions started right after.
  for (const session of sessions) await ctx.store.setRevokedBefore(familyWatermarkKey(session.familyId), watermark);
  await ctx.events.emit('refreshTokenRevoked', { familyId: '*', userId, reason: 'logout', count });
  return count;
}

/** The values the user's access tokens carry to name their user. */
async function accessTokenUserKeys(ctx: OperatorContext, userId: string, sessions: FamilySummary[]): Promise<Set<string>> {
  if (claimsCarryUserId(ctx.config.jwt)) return new Set([userId]);
  const keys = new Set(sessions.map((session) => session.userIdentifier));
  const user = await ctx.userProvider?.loadUserById(userId);
  if (user !== null && user !== undefined) keys.add(user.identifier);
  return keys;
}
