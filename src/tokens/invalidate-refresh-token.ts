import type { RefreshTokenRecord } from '../stores/store.js';
import { revokeFamily } from './revoke-family.js';
import type { TokenContext } from './token-context.js';

/** What a logout did. */
export interface InvalidationResult {
  /** The presented token's record, or null when unknown. */
  record: RefreshTokenRecord | null;
  /** Whether a live token was revoked (false: it was already invalid). */
  revoked: boolean;
}

/**
 * Logs a token's session out (SPEC §5): revokes the presented token's whole
 * family, so no successor derived in a grace window survives it. A token that
 * is unknown, expired, rotated away or revoked is "already invalid", and so is
 * one that `isCallers` rejects (another user's token, SPEC §5).
 *
 * @example
 * const { revoked } = await invalidateRefreshToken(ctx, token, () => true);
 */
export async function invalidateRefreshToken(
  ctx: TokenContext,
  presentedToken: string,
  isCallers: (record: RefreshTokenRecord) => boolean,
): Promise<InvalidationResult> {
  const record = await ctx.store.findByHash(ctx.hashToken(presentedToken));
  if (record === null) return { record: null, revoked: false };
  const now = ctx.now();
  const live =
    record.revokedAt === null &&
    record.rotatedAt === null &&
    record.validUntil.getTime() > now.getTime() &&
    isCallers(record);
  if (!live) return { record, revoked: false };
  const count = await revokeFamily(ctx, record.familyId, record.userId, 'logout', now);
  return { record, revoked: count > 0 };
}
