import { RefreshTokenMissingError, UnsupportedMediaTypeError } from '../errors.js';
import type { RequestView } from '../lib/request-view.js';
import { enforceRateLimit } from '../sessions/enforce-rate-limit.js';
import { refreshSession } from '../sessions/refresh-session.js';
import { clientAddress } from './client-address.js';
import { assertCsrfProtected } from './csrf.js';
import { errorParts } from './error-response.js';
import { extractRefreshToken, refreshTokenSource } from './extractors.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';
import { readBody } from './read-body.js';
import { emitRefreshFailure } from './refresh-failure.js';
import { toResponseParts, type ResponseParts } from './response-parts.js';
import { tokenResponse } from './token-response.js';

/**
 * `POST /api/token/refresh` (SPEC §3): a refresh token in, through
 * {@link refreshSession}, a new access token and the refresh token to use
 * next out. Every refusal is one 401 answer; `refreshTokenNotFound` and
 * `refreshFailure` listeners may replace it.
 */
export async function handleRefresh(ctx: HandlerContext, request: RequestView, info: RequestInfo): Promise<ResponseParts> {
  const log = info.log ?? ctx.logger;
  try {
    assertCsrfProtected(request, ctx.config);
    const body = await readBody(request, ctx.config.maxBodyBytes, info.body);
    const extracted = extractRefreshToken(ctx.extractors, refreshTokenSource(request, body), ctx.config);
    if (extracted === null) {
      if (body.kind === 'malformed' && body.reason === 'media-type') throw new UnsupportedMediaTypeError();
      const event = { request, response: null as Response | null };
      await ctx.events.emit('refreshTokenNotFound', event);
      return event.response === null ? errorParts(new RefreshTokenMissingError()) : await toResponseParts(event.response);
    }
    const ip = clientAddress(ctx, request, info);
    await enforceRateLimit(ctx, 'refresh', ip, ctx.now());
    try {
      const session = await refreshSession(ctx, extracted.token, { client: { userAgent: request.header('user-agent'), ip }, request });
      return tokenResponse(ctx, session);
    } catch (error) {
      const replacement = await emitRefreshFailure(ctx, error, request);
      if (replacement === undefined) throw error;
      return replacement === null ? errorParts(error) : await toResponseParts(replacement);
    }
  } catch (error) {
    return errorParts(error, log);
  }
}
