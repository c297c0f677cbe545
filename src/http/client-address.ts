import type { RequestView } from '../lib/request-view.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';

/**
 * The client address used for rate limits and recorded with sessions: the
 * adapter's socket address, or with `trustProxy` the `X-Forwarded-For` entry
 * the outermost trusted proxy appended: the last with one proxy, the N-th from
 * the right behind N (entries further left are the client's own claims and can
 * be forged). A header too short for the chain falls back to the socket address.
 */
export function clientAddress(ctx: HandlerContext, request: RequestView, info: RequestInfo): string | null {
  const { trustProxy } = ctx.config;
  if (trustProxy !== false) {
    const hops = trustProxy === true ? 1 : trustProxy;
    const entries = (request.header('x-forwarded-for') ?? '').split(',').map((entry) => entry.trim());
    const entry = entries.length >= hops ? entries[entries.length - hops] : undefined;
    if (entry !== undefined && entry !== '') return entry;
  }
  return info.clientIp ?? null;
}
