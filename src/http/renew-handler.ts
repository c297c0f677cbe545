import type { RequestView } from '../lib/request-view.js';
import { renewAccessToken } from '../sessions/renew-access-token.js';
import { requireAccessToken } from './access-token-extractors.js';
import { assertAccessTokenRouteProtected } from './csrf.js';
import { errorParts } from './error-response.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';
import { jsonParts, type ResponseParts } from './response-parts.js';

/** `POST /api/token/renew` (SPEC §3b): the Bearer access token in, a fresh one out, through {@link renewAccessToken}. */
export async function handleRenew(ctx: HandlerContext, request: RequestView, info: RequestInfo): Promise<ResponseParts> {
  try {
    assertAccessTokenRouteProtected(request, ctx.config);
    const renewed = await renewAccessToken(ctx, requireAccessToken(request, ctx.config.accessTokenExtractors), { request });
    return jsonParts(200, renewed.responseBody);
  } catch (error) {
    return errorParts(error, info.log ?? ctx.logger);
  }
}
