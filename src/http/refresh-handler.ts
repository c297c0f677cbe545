import { reloadTokenUser } from '../auth/reload-user.js';
import {
  JwtRefreshError,
  RateLimitedError,
  RefreshTokenMissingError,
  UnsupportedMediaTypeError,
} from '../errors.js';
import { refreshWithToken, type RefreshUse } from '../tokens/refresh-with-token.js';
import { errorResponse, STATUS_BY_CODE } from './error-response.js';
import { assertCsrfHeader } from './csrf.js';
import { extractRefreshToken } from './extractors.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';
import { clientAddress, enforceRateLimit } from './rate-limit.js';
import { readBody } from './read-body.js';
import { tokenResponse } from './token-response.js';

/**
 * `POST /api/token/refresh` (SPEC §3): a refresh token in, a new access token
 * and the refresh token to use next out. Every refusal is one 401 answer;
 * `refreshTokenNotFound` and `refreshFailure` listeners may replace it.
 */
export async function handleRefresh(ctx: HandlerContext, request: Request, info: RequestInfo = {}): Promise<Response> {
  try {
    assertCsrfHeader(request, ctx.config);
    const body = await readBody(request, ctx.config.maxBodyBytes);
    const url = new URL(request.url);
    const extracted = extractRefreshToken(ctx.extractors, { request, body, url }, ctx.config);
    if (extracted === null) {
      if (body.kind === 'malformed' && body.reason === 'media-type') throw new UnsupportedMediaTypeError();
      const event = { request, response: null as Response | null };
      await ctx.events.emit('refreshTokenNotFound', event);
      return event.response ?? errorResponse(new RefreshTokenMissingError());
    }
    const ip = clientAddress(ctx, request, info);
    await enforceRateLimit(ctx, 'refresh', ip);
    const client = { userAgent: request.headers.get('user-agent'), ip };
    const use: RefreshUse = {
      reloadUser: (record) => reloadTokenUser(ctx.credentials, record),
      client,
      request,
      beforeUse: (record) => enforceRateLimit(ctx, 'family', record.familyId),
    };
    const result = await refreshWithToken(ctx, extracted.token, use).catch(
      async (error: unknown) => {
        // A 429 is not a refresh failure (the token may be fine, the caller is just too fast),
        // and neither is a store outage: those keep their own answer and reach onError.
        if (!(error instanceof JwtRefreshError) || error instanceof RateLimitedError || STATUS_BY_CODE[error.code] >= 500) throw error;
        const event = { error, request, response: null as Response | null };
        await ctx.events.emit('refreshFailure', event);
        return event.response ?? errorResponse(error);
      },
    );
    if (result instanceof Response) return result;
    return await tokenResponse(ctx, result.user, result.token, result.record, request);
  } catch (error) {
    return errorResponse(error, ctx.reportError);
  }
}

/**
 * SPEC §3: the user is reloaded by the stable id stored with the token and
 * passed through the user checker; a deleted user is an invalid token.
 */