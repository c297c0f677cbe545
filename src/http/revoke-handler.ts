import type { RequestView } from '../lib/request-view.js';
import { enforceRateLimit } from '../sessions/enforce-rate-limit.js';
import { revokeToken } from '../sessions/revoke-token.js';
import { clientAddress } from './client-address.js';
import { assertCsrfProtected } from './csrf.js';
import { errorParts } from './error-response.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';
import { oauthError, readParameters, stringParameter } from './oauth-parameters.js';
import { jsonParts, type ResponseParts } from './response-parts.js';

/** Access tokens are longer than refresh tokens: up to the verifier's own cap. */
const MAX_TOKEN_LENGTH = 8192;

/**
 * `POST /api/token/revoke` (SPEC §5): RFC 7009 revocation beside the bundle's
 * routes, through {@link revokeToken}. `token` (form or JSON) is a refresh
 * token, which ends its session, or an access token, which is blocklisted
 * until it expires; `token_type_hint` is optional and only a hint. Unknown and
 * invalid tokens get the same 200 (§2.2), so the route is no oracle. No client
 * authentication (§2.1 asks it of confidential clients; these clients are
 * public, and holding the token is the authority to revoke it, as at logout).
 * In cookie mode it is guarded like the other state-changing routes.
 */
export async function handleTokenRevoke(ctx: HandlerContext, request: RequestView, info: RequestInfo): Promise<ResponseParts> {
  try {
    assertCsrfProtected(request, ctx.config);
    return await revokeFromParameters(ctx, request, info);
  } catch (error) {
    return errorParts(error, info.log ?? ctx.logger);
  }
}

/**
 * `POST /oauth/revoke` (RFC 7009), served with `oauthEndpoints`: the same
 * revocation, for OAuth clients, which never use the cookie.
 */
export async function handleOAuthRevoke(ctx: HandlerContext, request: RequestView, info: RequestInfo): Promise<ResponseParts> {
  try {
    return await revokeFromParameters(ctx, request, info);
  } catch (error) {
    return errorParts(error, info.log ?? ctx.logger);
  }
}

async function revokeFromParameters(ctx: HandlerContext, request: RequestView, info: RequestInfo): Promise<ResponseParts> {
  await enforceRateLimit(ctx, 'revoke', clientAddress(ctx, request, info), ctx.now());
  const parameters = await readParameters(ctx, request, info);
  if (parameters === null) return oauthError('invalid_request', 'The body must be a form or a JSON object.');
  const token = stringParameter(parameters, 'token', MAX_TOKEN_LENGTH);
  if (token === null) return oauthError('invalid_request', 'Missing token.');
  const hint = parameters.get('token_type_hint');
  await revokeToken(ctx, token, { tokenTypeHint: typeof hint === 'string' ? hint : undefined, request });
  return jsonParts(200, {});
}
