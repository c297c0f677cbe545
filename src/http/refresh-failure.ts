import { RateLimitedError, type JwtRefreshError } from '../errors.js';
import type { RequestView } from '../lib/request-view.js';
import { isClientError } from './error-response.js';
import type { HandlerContext } from './handler-context.js';

/**
 * Fires `refreshFailure` when a refresh route's token was refused, and
 * answers the Response a listener set in its place, if any. A 429 is not a
 * refusal of the token (the caller is too fast), and a 5xx is the server's
 * fault: neither fires it, and both keep their own answer. Answers undefined
 * when the event does not apply.
 */
export async function emitRefreshFailure(ctx: HandlerContext, error: unknown, request: RequestView): Promise<Response | null | undefined> {
  if (!isRefreshRefusal(error)) return undefined;
  const event = { error, request, response: null as Response | null };
  await ctx.events.emit('refreshFailure', event);
  return event.response;
}

function isRefreshRefusal(error: unknown): error is JwtRefreshError {
  return isClientError(error) && !(error instanceof RateLimitedError);
}
