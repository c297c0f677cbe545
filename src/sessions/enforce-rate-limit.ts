import { RateLimitedError } from '../errors.js';
import type { SessionContext } from './session-context.js';

/** The rate-limit buckets, each with its own per-window limit in `rateLimit`. */
export type RateLimitBucket = 'login' | 'refresh' | 'family' | 'revoke';

/**
 * Counts one request against `bucket` for `subject` (a client address or a
 * token family) in the store, so the limit holds across instances; throws a
 * RateLimitedError carrying the seconds until the window ends. A null subject
 * (no client address known) shares one bucket with every other such client
 * rather than going unlimited.
 */
export async function enforceRateLimit(
  ctx: Pick<SessionContext, 'config' | 'store'>,
  bucket: RateLimitBucket,
  subject: string | null,
  now: Date,
): Promise<void> {
  const { rateLimit } = ctx.config;
  if (!rateLimit.enabled) return;
  const hit = await ctx.store.hitRateLimit(`${bucket}:${subject ?? 'unknown'}`, rateLimit.windowSeconds, now);
  if (hit.count > rateLimit[bucket]) {
    throw new RateLimitedError(Math.max(1, Math.ceil((hit.resetAt.getTime() - now.getTime()) / 1000)));
  }
}
