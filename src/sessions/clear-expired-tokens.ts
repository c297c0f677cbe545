import type { OperatorContext } from './session-context.js';

/** Options of {@link clearExpiredTokens}. */
export interface ClearExpiredOptions {
  /** Tokens whose validity ended before this instant are deleted. */
  before: Date;
  /** Rows per delete statement. */
  batchSize: number;
  /** Stops after the current batch when aborted (the CLI's SIGINT). */
  signal?: AbortSignal;
  /** Runs after each batch with the total so far: progress, or a store's own housekeeping. */
  afterBatch?: (deletedSoFar: number) => void;
}

/** What a clear did. */
export interface ClearedTokens {
  deleted: number;
  /** Blocklist entries, rate-limit windows and watermarks removed. */
  purged: number;
  /** Whether `signal` stopped it before the end. */
  interrupted: boolean;
}

/**
 * Deletes expired refresh tokens (SPEC §10, the bundle's `gesdinet:jwt:clear`)
 * `batchSize` rows at a time until a batch deletes nothing: each batch is one
 * short statement through the validity index, so live refreshes get the
 * store between batches and no row is ever loaded into memory. Then removes
 * expired blocklist entries and rate-limit windows, and the "revoked before"
 * watermarks no valid access token can still be refused by.
 *
 * @throws StoreError
 */
export async function clearExpiredTokens(ctx: OperatorContext, options: ClearExpiredOptions): Promise<ClearedTokens> {
  const { before, batchSize, signal, afterBatch } = options;
  let deleted = 0;
  while (signal?.aborted !== true) {
    const batch = await ctx.store.deleteExpired(before, batchSize);
    if (batch === 0) break;
    deleted += batch;
    afterBatch?.(deleted);
  }
  if (signal?.aborted === true) return { deleted, purged: 0, interrupted: true };
  const now = ctx.now();
  // Never past now: a blocklist entry that expires later still refuses a live access token.
  const stateBefore = new Date(Math.min(before.getTime(), now.getTime()));
  // A watermark at `at` only refuses access tokens issued before `at`; every one of them is
  // refused by its own `exp` (+ clockSkew) once `at + tokenTtl + clockSkew` is past.
  const { tokenTtl, clockSkew } = ctx.config.jwt;
  const purged = await ctx.store.purgeExpiredState(stateBefore, new Date(stateBefore.getTime() - (tokenTtl + clockSkew) * 1000));
  return { deleted, purged, interrupted: false };
}
