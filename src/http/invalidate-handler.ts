import type { AccessTokenClaims } from '../jwt/build-claims.js';
import { LogoutTokenMissingError, UnsupportedMediaTypeError } from '../errors.js';
import type { RefreshTokenRecord } from '../stores/store.js';
import { blockAccessToken, userIdOfClaims } from '../tokens/access-token-revocation.js';
import { invalidateRefreshToken } from '../tokens/invalidate-refresh-token.js';
import { authenticateAccessToken } from './authenticate-access-token.js';
import { clearedRefreshTokenCookie } from './cookies.js';
import { errorResponse } from './error-response.js';
import { assertCsrfHeader } from './csrf.js';
import { extractRefreshToken } from './extractors.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';
import { jsonResponse } from './json-response.js';
import { clientAddress, enforceRateLimit } from './rate-limit.js';
import { readBody } from './read-body.js';

/**
 * `POST /api/token/invalidate` (SPEC §5): logs the presented refresh token's
 * session out. Without a token: 400 and the cookie stays. Otherwise 200 and,
 * in cookie mode, the cookie is cleared, whether the token was live or not.
 */
export async function handleInvalidate(ctx: HandlerContext, request: Request, info: RequestInfo = {}): Promise<Response> {
  try {
    const { config } = ctx;
    assertCsrfHeader(request, config);
    await enforceRateLimit(ctx, 'revoke', clientAddress(ctx, request, info));
    const body = await readBody(request, config.maxBodyBytes);
    const extracted = extractRefreshToken(ctx.extractors, { request, body, url: new URL(request.url) }, config);
    if (extracted === null) {
      if (body.kind === 'malformed' && body.reason === 'media-type') throw new UnsupportedMediaTypeError();
      throw new LogoutTokenMissingError(config.tokenParameterName);
    }
    const presented = extracted.token;
    const caller = await callerClaims(ctx, request);
    const result = await invalidateRefreshToken(ctx, presented, (record) => caller === null || isOwnedBy(record, caller, ctx));
    // Logging out also ends the caller's access token, unless the refresh token was someone else's.
    if (caller !== null && (result.record === null || isOwnedBy(result.record, caller, ctx))) await blockAccessToken(ctx.store, caller);
    await ctx.events.emit('logout', { record: result.record, revoked: result.revoked, request });
    const message = result.revoked
      ? `The supplied ${config.tokenParameterName} has been invalidated.`
      : `The supplied ${config.tokenParameterName} is already invalid.`;
    const cookies = config.cookie.enabled ? [clearedRefreshTokenCookie(config)] : [];
    return jsonResponse(200, { code: 200, message }, {}, cookies);
  } catch (error) {
    return errorResponse(error, ctx.reportError);
  }
}

/** The claims of a VALID access token on the request, or null: logout must work with an expired one. */
async function callerClaims(ctx: HandlerContext, request: Request): Promise<AccessTokenClaims | null> {
  const authorization = request.headers.get('authorization');
  if (authorization === null) return null;
  return authenticateAccessToken(ctx, authorization).catch(() => null);
}

function isOwnedBy(record: RefreshTokenRecord, claims: AccessTokenClaims, ctx: HandlerContext): boolean {
  const { setSubject, userIdClaim } = ctx.config.jwt;
  const caller = userIdOfClaims(claims, ctx.config.jwt);
  // `sub` holds the stable id unless the identifier was configured to live there.
  return setSubject && userIdClaim !== 'sub' ? caller === record.userId : caller === record.userIdentifier;
}
