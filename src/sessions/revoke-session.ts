import { revokeFamily } from './revoke-family.js';
import type { OperatorContext } from './session-context.js';

/**
 * Ends one session and its access tokens: from a "sign out that device"
 * button, an admin screen, or an operator. With a `userId`, only a live
 * session of that user is ended, so an id of another user's session ends
 * nothing (no oracle, no cross-user revocation); null is for an operator who
 * names the session alone (`jwt-refresh revoke --family`). Answers how many
 * refresh tokens it revoked: 0 when there was no such live session.
 *
 * @throws StoreError
 */
export async function revokeSession(ctx: OperatorContext, userId: string | null, sessionId: string): Promise<number> {
  const now = ctx.now();
  if (userId !== null) {
    const families = await ctx.store.listFamilies(userId, now);
    if (!families.some((family) => family.familyId === sessionId)) return 0;
  }
  return revokeFamily(ctx, sessionId, userId, 'logout', now);
}
