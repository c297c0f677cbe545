import type { RefreshTokenRecord } from '../stores/store.js';
import { legacySha256Hash } from '../tokens/legacy-sha256-hash.js';
import type { SessionContext } from './session-context.js';

/** What a lookup of a presented token needs: the same for the session and the operator use cases. */
export type PresentedTokenContext = Pick<SessionContext, 'config' | 'store' | 'hashToken'>;

/**
 * The stored record of a refresh token a client (or an operator) presents,
 * whatever its state, or null. Every use case that starts from a plain token
 * looks it up here, so they all find the same rows.
 *
 * First by our own hash. When a pepper is configured and
 * `legacySha256Tokens` is on, a miss costs exactly ONE more lookup: by the
 * marked SHA-256 (`sha256$<hex>`) under which `import-gesdinet` stored the
 * bundle's hashed rows, which cannot be re-peppered without the plain token.
 * The mark keeps the two kinds apart: a peppered row is only ever found by
 * its HMAC, so the fallback cannot weaken it, and a legacy row found this way
 * rotates to a normally peppered successor on its first refresh. Without a
 * pepper our hash already is the bundle's hex SHA-256 (the import strips the
 * mark), so no second lookup is needed.
 *
 * The record's `tokenHash` is the key to use for any write that follows
 * (touch, rotate): for a legacy row it is the marked hash, not `hashToken(token)`.
 *
 * @throws StoreError
 *
 * @example
 * const record = await findPresentedToken(ctx, refreshToken);
 * if (record !== null) await ctx.store.rotate(record.tokenHash, successor, now);
 */
export async function findPresentedToken(ctx: PresentedTokenContext, plainToken: string): Promise<RefreshTokenRecord | null> {
  const record = await ctx.store.findByHash(ctx.hashToken(plainToken));
  if (record !== null || ctx.config.pepper === undefined || !ctx.config.legacySha256Tokens) return record;
  return ctx.store.findByHash(legacySha256Hash(plainToken));
}
