import type { RequestView } from '../lib/request-view.js';
import { enforceRateLimit } from '../sessions/enforce-rate-limit.js';
import { refreshSession } from '../sessions/refresh-session.js';
import { clientAddress } from './client-address.js';
import { errorParts } from './error-response.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';
import { oauthError, readParameters, stringParameter } from './oauth-parameters.js';
import { emitRefreshFailure } from './refresh-failure.js';
import { jsonParts, type ResponseParts } from './response-parts.js';

/**
 * `POST /oauth/token` with `grant_type=refresh_token` (RFC 6749 §6): the same
 * use case as the refresh route ({@link refreshSession}: rotation, grace
 * window, reuse detection), answered in the RFC's shape (§5.1; §5.2: 400
 * with `error`, e.g. `invalid_grant`), never cached.
 */
export async function handleOAuthToken(ctx: HandlerContext, request: RequestView, info: RequestInfo): Promise<ResponseParts> {
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
      const client = { userAgent: request.header('user-agent'), ip };
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
