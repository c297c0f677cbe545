import type { TokenContext } from './token-context.js';

/** Why a family was revoked, as reported by `refreshTokenRevoked`. */
export type RevocationReason = 'logout' | 'reuse' | 'evicted';

/** Prefix of the watermark key that ends a family's access tokens (their `sid` claim names the family). */
export const FAMILY_WATERMARK_PREFIX = 'family:';

/**
 * Ends a session everywhere: revokes every token of the family, refuses the
 * access tokens minted for it (a per-family watermark checked on verify, so it
 * holds on every instance sharing the store), and fires `refreshTokenRevoked`.
 * Answers how many tokens changed.
 */
export async function revokeFamily(
  ctx: TokenContext,
  familyId: string,
  userId: string,
  reason: RevocationReason,
  now: Date,
): Promise<number> {
  const count = await ctx.store.revokeFamily(familyId, now);
  await ctx.store.setRevokedBefore(`${FAMILY_WATERMARK_PREFIX}${familyId}`, now);
  await ctx.events.emit('refreshTokenRevoked', { familyId, userId, reason, count });
  return count;
}
