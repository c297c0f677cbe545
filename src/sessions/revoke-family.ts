import type { RevocationReason } from '../events.js';
import { familyWatermarkKey } from '../tokens/access-token-revocation.js';
import type { OperatorContext } from './session-context.js';

/**
 * Ends one session everywhere; every use case that ends a session goes
 * through here. Revokes every token of the family, then refuses the access
 * tokens minted for it (a per-family watermark that every instance sharing
 * the store checks), and fires `refreshTokenRevoked`. Answers how many
 * tokens changed.
 *
 * The watermark is read from the clock AFTER the revocation: a refresh whose
 * rotation the revocation swept up signed its access token at an earlier
 * instant, so that token is refused too (a logout never loses to a racing refresh).
 * Nothing changed means an earlier revocation already set the watermark.
 */
export async function revokeFamily(
  ctx: OperatorContext,
  familyId: string,
  userId: string | null,
  reason: RevocationReason,
  now: Date,
): Promise<number> {
  const count = await ctx.store.revokeFamily(familyId, now);
  if (count > 0) await ctx.store.setRevokedBefore(familyWatermarkKey(familyId), ctx.now());
  await ctx.events.emit('refreshTokenRevoked', { familyId, userId, reason, count });
  return count;
}
