import { enforceRateLimit } from '../sessions/enforce-rate-limit.js';
import { refreshSession } from '../sessions/refresh-session.js';
import { revokeToken } from '../sessions/revoke-token.js';
import { clientAddress } from './client-address.js';
import { errorParts } from './error-response.js';
import { isPlainObject } from './extractors.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';
import { readBody } from './read-body.js';
import { emitRefreshFailure } from './refresh-failure.js';
import { jsonParts, type ResponseParts } from './response-parts.js';

/** RFC 6749 §5.2 error codes used here. */
type OAuthErrorCode = 'invalid_request' | 'invalid_grant' | 'unsupported_grant_type';

function oauthError(error: OAuthErrorCode, description: string): ResponseParts {
  return jsonParts(400, { error, error_description: description });
}

/** The request's parameters: a form body as RFC 6749 §4.1.3 says, or a JSON object. Null when unreadable. */
async function readParameters(ctx: HandlerContext, request: Request, info: RequestInfo): Promise<Map<string, unknown> | null> {
  const body = await readBody(request, ctx.config.maxBodyBytes, info.body);
  if (body.kind === 'form') return new Map(body.value.entries());
  if (body.kind === 'json' && isPlainObject(body.value)) return new Map(Object.entries(body.value));
  return body.kind === 'empty' ? new Map() : null;
}

function stringParameter(parameters: Map<string, unknown>, name: string, maxLength: number): string | null {
  const value = parameters.get(name);
  return typeof value === 'string' && value !== '' && value.length <= maxLength ? value : null;
}

/**
 * `POST /oauth/token` with `grant_type=refresh_token` (RFC 6749 §6): the same
 * use case as the refresh route ({@link refreshSession}: rotation, grace
 * window, reuse detection), answered in the RFC's shape (§5.1; §5.2: 400
 * with `error`, e.g. `invalid_grant`), never cached.
 */
export async function handleOAuthToken(ctx: HandlerContext, request: Request, info: RequestInfo): Promise<ResponseParts> {
  try {
    const parameters = await readParameters(ctx, request, info);
    if (parameters === null) return oauthError('invalid_request', 'The body must be a form or a JSON object.');
    const grantType = parameters.get('grant_type');
    if (typeof grantType !== 'string' || grantType === '') return oauthError('invalid_request', 'Missing grant_type.');
    if (grantType !== 'refresh_token') return oauthError('unsupported_grant_type', 'Only refresh_token is supported.');
    const presented = stringParameter(parameters, 'refresh_token', ctx.config.maxTokenLength);
    if (presented === null) return oauthError('invalid_request', 'Missing refresh_token.');
    const ip = clientAddress(ctx, request, info);
    await enforceRateLimit(ctx, 'refresh', ip, ctx.now());
    try {
      const client = { userAgent: request.headers.get('user-agent'), ip };
      const session = await refreshSession(ctx, presented, { client, request, format: 'oauth' });
      return jsonParts(200, session.responseBody);
    } catch (error) {
      // RFC 6749 §5.2: an invalid, expired, revoked or reused grant, or a refused user, is
      // invalid_grant, whatever response a listener would set for the refresh route.
      if ((await emitRefreshFailure(ctx, error, request)) === undefined) throw error;
      return oauthError('invalid_grant', 'The refresh token is invalid, expired or revoked.');
    }
  } catch (error) {
    return errorParts(error, info.log ?? ctx.logger);
  }
}

/**
 * `POST /oauth/revoke` (RFC 7009) through {@link revokeToken}: answers 200 for
 * unknown and invalid tokens too (§2.2), so it is no oracle.
 */
export async function handleOAuthRevoke(ctx: HandlerContext, request: Request, info: RequestInfo): Promise<ResponseParts> {
  try {
    await enforceRateLimit(ctx, 'revoke', clientAddress(ctx, request, info), ctx.now());
    const parameters = await readParameters(ctx, request, info);
    if (parameters === null) return oauthError('invalid_request', 'The body must be a form or a JSON object.');
    // Access tokens are longer than refresh tokens; allow up to the verifier's own cap.
    const token = stringParameter(parameters, 'token', 8192);
    if (token === null) return oauthError('invalid_request', 'Missing token.');
    const hint = parameters.get('token_type_hint');
    await revokeToken(ctx, token, { tokenTypeHint: typeof hint === 'string' ? hint : undefined, request });
    return jsonParts(200, {});
  } catch (error) {
    return errorParts(error, info.log ?? ctx.logger);
  }
}
