import { revokeFamily } from './revoke-family.js';
import type { OperatorContext } from './session-context.js';

/**
 * Ends every live session of the user but `currentSessionId` ("sign out my
 * other devices"). Answers how many sessions it ended.
 *
 * @throws StoreError
 */
export async function revokeOtherSessions(ctx: OperatorContext, userId: string, currentSessionId: string | null): Promise<number> {
  const now = ctx.now();
  let ended = 0;
  for (const family of await ctx.store.listFamilies(userId, now)) {
    if (family.familyId === currentSessionId) continue;
    await revokeFamily(ctx, family.familyId, userId, 'logout', now);
    ended += 1;
  }
  return ended;
}
