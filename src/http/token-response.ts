import type { SessionTokens } from '../sessions/session-tokens.js';
import { sessionCookie } from './cookies.js';
import type { HandlerContext } from './handler-context.js';
import { jsonParts, type ResponseParts } from './response-parts.js';

/**
 * The 200 answer of login and refresh (SPEC §2, §3, §4): the session's
 * response body (`token`, `refresh_token`, the expiration, names as
 * configured, as `authenticationSuccess` listeners left it) and, in cookie
 * mode, the refresh token as a cookie.
 */
export function tokenResponse(ctx: HandlerContext, session: SessionTokens): ResponseParts {
  const cookie = sessionCookie(ctx.config, session, ctx.now());
  return jsonParts(200, session.responseBody, {}, cookie === null ? [] : [cookie]);
}
