import { LogoutTokenMissingError, UnsupportedMediaTypeError } from '../errors.js';
import type { RequestView } from '../lib/request-view.js';
import { endSession } from '../sessions/end-session.js';
import { enforceRateLimit } from '../sessions/enforce-rate-limit.js';
import { accessTokenOf } from './access-token-extractors.js';
import { clientAddress } from './client-address.js';
import { clearedRefreshTokenCookie } from './cookies.js';
import { assertCsrfProtected } from './csrf.js';
import { errorParts } from './error-response.js';
import { extractRefreshToken, refreshTokenSource } from './extractors.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';
import { readBody } from './read-body.js';
import { jsonParts, type ResponseParts } from './response-parts.js';

/**
 * `POST /api/token/invalidate` (SPEC §5): logs the presented refresh token's
 * session out through {@link endSession}, with the request's Bearer token as
 * the caller's. Without a token: 400 and the cookie stays. Otherwise 200
 * and, in cookie mode, the cookie is cleared, whether the token was live or not.
 */
export async function handleInvalidate(ctx: HandlerContext, request: RequestView, info: RequestInfo): Promise<ResponseParts> {
  try {
    const { config } = ctx;
    assertCsrfProtected(request, config);
    await enforceRateLimit(ctx, 'revoke', clientAddress(ctx, request, info), ctx.now());
    const body = await readBody(request, config.maxBodyBytes, info.body);
    const extracted = extractRefreshToken(ctx.extractors, refreshTokenSource(request, body), config);
    if (extracted === null) {
      if (body.kind === 'malformed' && body.reason === 'media-type') throw new UnsupportedMediaTypeError();
      throw new LogoutTokenMissingError(config.tokenParameterName);
    }
    const accessToken = accessTokenOf(request, ctx.config.accessTokenExtractors) ?? undefined;
    const { ended } = await endSession(ctx, extracted.token, { accessToken, request });
    const message = ended
      ? `The supplied ${config.tokenParameterName} has been invalidated.`
      : `The supplied ${config.tokenParameterName} is already invalid.`;
    const cookies = config.cookie.enabled ? [clearedRefreshTokenCookie(config)] : [];
    return jsonParts(200, { code: 200, message }, {}, cookies);
  } catch (error) {
    return errorParts(error, info.log ?? ctx.logger);
  }
}
