import { reloadTokenUser } from '../auth/reload-user.js';
import { JwtRefreshError, PayloadTooLargeError, RateLimitedError } from '../errors.js';
import { mintAccessToken } from '../jwt/mint-access-token.js';
import { sessionClaims } from '../jwt/session-claims.js';
import { toUnixSeconds } from '../lib/clock.js';
import { verifyAccessToken } from '../jwt/verify.js';
import { blockAccessToken } from '../tokens/access-token-revocation.js';
import { invalidateRefreshToken } from '../tokens/invalidate-refresh-token.js';
import { refreshWithToken } from '../tokens/refresh-with-token.js';
import { errorResponse, STATUS_BY_CODE } from './error-response.js';
import { isPlainObject } from './extractors.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';
import { jsonResponse } from './json-response.js';
import { clientAddress, enforceRateLimit } from './rate-limit.js';
import { readBody } from './read-body.js';

/** RFC 6749 §5.2 error codes used here. */
type OAuthErrorCode = 'invalid_request' | 'invalid_grant' | 'unsupported_grant_type';

function oauthError(error: OAuthErrorCode, description: string): Response {
  return jsonResponse(400, { error, error_description: description });
}

/** The request's parameters: a form body as RFC 6749 §4.1.3 says, or a JSON object. Null when unreadable. */
async function readParameters(ctx: HandlerContext, request: Request): Promise<Map<string, unknown> | null> {
  const body = await readBody(request, ctx.config.maxBodyBytes);
  if (body.kind === 'form') return new Map(body.value.entries());
  if (body.kind === 'json' && isPlainObject(body.value)) return new Map(Object.entries(body.value));
  return body.kind === 'empty' ? new Map() : null;
}

function stringParameter(parameters: Map<string, unknown>, name: string, maxLength: number): string | null {
  const value = parameters.get(name);
  return typeof value === 'string' && value !== '' && value.length <= maxLength ? value : null;
}

/** Non-catalogue answers (429, 413, 5xx) keep the library's JSON shape. */
function passThrough(error: unknown, ctx: HandlerContext): Response {
  return errorResponse(error, ctx.reportError);
}

/**
 * `POST /oauth/token` with `grant_type=refresh_token` (RFC 6749 §6): the same
 * rotation, grace window and reuse detection as the refresh route, answered
 * in the RFC's shape (§5.1: `access_token`, `token_type`, `expires_in`,
 * `refresh_token`; §5.2: 400 with `error`, e.g. `invalid_grant`), never cached.
 */
export async function handleOAuthToken(ctx: HandlerContext, request: Request, info: RequestInfo = {}): Promise<Response> {
  try {
    const parameters = await readParameters(ctx, request);
    if (parameters === null) return oauthError('invalid_request', 'The body must be a form or a JSON object.');
    const grantType = parameters.get('grant_type');
    if (typeof grantType !== 'string' || grantType === '') return oauthError('invalid_request', 'Missing grant_type.');
    if (grantType !== 'refresh_token') return oauthError('unsupported_grant_type', 'Only refresh_token is supported.');
    const presented = stringParameter(parameters, 'refresh_token', ctx.config.maxTokenLength);
    if (presented === null) return oauthError('invalid_request', 'Missing refresh_token.');
    const ip = clientAddress(ctx, request, info);
    await enforceRateLimit(ctx, 'refresh', ip);
    const result = await refreshWithToken(ctx, presented, {
      reloadUser: (record) => reloadTokenUser(ctx.credentials, record),
      client: { userAgent: request.headers.get('user-agent'), ip },
      request,
      beforeUse: (record) => enforceRateLimit(ctx, 'family', record.familyId),
    });
    const now = ctx.now();
    const claims = sessionClaims(result.record, ctx.config, now);
    const accessToken = await mintAccessToken(ctx.keys, ctx.config.jwt, ctx.events, result.user, now, claims);
    const body: Record<string, unknown> = {
      access_token: accessToken,
      token_type: 'Bearer',
      // RFC 6749 §5.1: the lifetime of this token, which the family deadline may shorten.
      expires_in: typeof claims.exp === 'number' ? claims.exp - toUnixSeconds(now) : ctx.config.jwt.tokenTtl,
      refresh_token: result.token,
    };
    await ctx.events.emit('authenticationSuccess', { user: result.user, body, request });
    return jsonResponse(200, body);
  } catch (error) {
    if (!(error instanceof JwtRefreshError) || error instanceof RateLimitedError || error instanceof PayloadTooLargeError || STATUS_BY_CODE[error.code] >= 500) {
      return passThrough(error, ctx);
    }
    // RFC 6749 §5.2: an invalid, expired, revoked or reused grant, or a refused user, is invalid_grant.
    await ctx.events.emit('refreshFailure', { error, request, response: null });
    return oauthError('invalid_grant', 'The refresh token is invalid, expired or revoked.');
  }
}

/**
 * `POST /oauth/revoke` (RFC 7009): revokes a refresh token (its whole family,
 * and with it the family's access tokens) or blocks an access token. Answers
 * 200 for unknown and invalid tokens too (§2.2), so it is no oracle.
 */
export async function handleOAuthRevoke(ctx: HandlerContext, request: Request, info: RequestInfo = {}): Promise<Response> {
  try {
    await enforceRateLimit(ctx, 'revoke', clientAddress(ctx, request, info));
    const parameters = await readParameters(ctx, request);
    if (parameters === null) return oauthError('invalid_request', 'The body must be a form or a JSON object.');
    // Access tokens are longer than refresh tokens; allow up to the verifier's own cap.
    const token = stringParameter(parameters, 'token', 8192);
    if (token === null) return oauthError('invalid_request', 'Missing token.');
    const hint = parameters.get('token_type_hint');
    const asAccessToken = hint === 'access_token' || token.split('.').length === 3;
    if (!asAccessToken || !(await revokeAccessToken(ctx, token))) {
      if (token.length <= ctx.config.maxTokenLength) await invalidateRefreshToken(ctx, token, () => true);
    }
    return jsonResponse(200, {});
  } catch (error) {
    return passThrough(error, ctx);
  }
}

async function revokeAccessToken(ctx: HandlerContext, token: string): Promise<boolean> {
  try {
    const claims = await verifyAccessToken(token, ctx.keys, ctx.config.jwt, ctx.now());
    return await blockAccessToken(ctx.store, claims);
  } catch (error) {
    if (error instanceof JwtRefreshError) return false;
    throw error;
  }
}
