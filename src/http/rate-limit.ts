import { RateLimitedError } from '../errors.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';

/** The rate-limit buckets, each with its own per-window limit in `rateLimit`. */
export type RateLimitBucket = 'login' | 'refresh' | 'family' | 'revoke';

/**
 * The client address used for rate limits and recorded with sessions: the
 * adapter's socket address, or with `trustProxy` the `X-Forwarded-For` entry
 * the outermost trusted proxy appended: the last with one proxy, the N-th from
 * the right behind N (entries further left are the client's own claims and can
 * be forged). A header too short for the chain falls back to the socket address.
 */
export function clientAddress(ctx: HandlerContext, request: Request, info: RequestInfo): string | null {
  const { trustProxy } = ctx.config;
  if (trustProxy !== false) {
    const hops = trustProxy === true ? 1 : trustProxy;
    const entries = (request.headers.get('x-forwarded-for') ?? '').split(',').map((entry) => entry.trim());
    const entry = entries.length >= hops ? entries[entries.length - hops] : undefined;
    if (entry !== undefined && entry !== '') return entry;
  }
  return info.clientIp ?? null;
}

/**
 * Counts one request against `bucket` for `subject` (an IP or a family id)
 * in the store, so the limit holds across instances; throws a
 * RateLimitedError carrying the seconds until the window ends.
 */
export async function enforceRateLimit(ctx: HandlerContext, bucket: RateLimitBucket, subject: string | null): Promise<void> {
  const { rateLimit } = ctx.config;
  if (!rateLimit.enabled) return;
  const now = ctx.now();
  // No client address (a Fetch host without `clientIp`): every such client shares one bucket,
  // as docs/adapters.md says, rather than going unlimited.
  const hit = await ctx.store.hitRateLimit(`${bucket}:${subject ?? 'unknown'}`, rateLimit.windowSeconds, now);
  if (hit.count > rateLimit[bucket]) {
    throw new RateLimitedError(Math.max(1, Math.ceil((hit.resetAt.getTime() - now.getTime()) / 1000)));
  }
}
