import { NotFoundError } from '../errors.js';
import type { AccessTokenClaims } from '../jwt/build-claims.js';
import type { RequestView } from '../lib/request-view.js';
import { claimsCarryUserId, userKeyOfClaims } from '../jwt/user-of-claims.js';
import { authenticateAccessToken } from '../sessions/authenticate-access-token.js';
import { listSessions } from '../sessions/list-sessions.js';
import { revokeAllSessions } from '../sessions/revoke-all-sessions.js';
import { revokeOtherSessions } from '../sessions/revoke-other-sessions.js';
import { revokeSession } from '../sessions/revoke-session.js';
import { requireAccessToken } from './access-token-extractors.js';
import { assertAccessTokenRouteProtected } from './csrf.js';
import { errorParts } from './error-response.js';
import { isPlainObject } from './extractors.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';
import { readBody } from './read-body.js';
import { jsonParts, type ResponseParts } from './response-parts.js';

/** The authenticated caller of a sessions route: their stable user id and current session. */
interface Caller {
  userId: string;
  sessionId: string | null;
}

/**
 * The caller's stable user id: `sub` by default; when the identifier claim is
 * the only link, the user provider maps it to the id.
 */
async function callerOf(ctx: HandlerContext, claims: AccessTokenClaims): Promise<Caller> {
  const key = userKeyOfClaims(claims, ctx.config.jwt);
  const userId = key === null || claimsCarryUserId(ctx.config.jwt) ? key : ((await ctx.userProvider.loadUserByIdentifier(key))?.id ?? null);
  if (userId === null) throw new NotFoundError();
  return { userId, sessionId: typeof claims.sid === 'string' ? claims.sid : null };
}

/** Runs `work` for the request's authenticated caller, turning every failure into its JSON answer. */
async function asCaller(
  ctx: HandlerContext,
  request: RequestView,
  info: RequestInfo,
  work: (caller: Caller) => Promise<ResponseParts>,
): Promise<ResponseParts> {
  try {
    assertAccessTokenRouteProtected(request, ctx.config);
    const claims = await authenticateAccessToken(ctx, requireAccessToken(request, ctx.config.accessTokenExtractors));
    return await work(await callerOf(ctx, claims));
  } catch (error) {
    return errorParts(error, info.log ?? ctx.logger);
  }
}

/** `GET /api/sessions`: the caller's live sessions, the current one marked, through {@link listSessions}. */
export function handleListSessions(ctx: HandlerContext, request: RequestView, info: RequestInfo): Promise<ResponseParts> {
  return asCaller(ctx, request, info, async ({ userId, sessionId }) => {
    const sessions = await listSessions(ctx, userId, sessionId === null ? {} : { currentSessionId: sessionId });
    return jsonParts(200, {
      sessions: sessions.map((session) => ({
        id: session.sessionId,
        created_at: session.createdAt.toISOString(),
        last_used_at: session.lastUsedAt?.toISOString() ?? null,
        expires_at: session.expiresAt.toISOString(),
        user_agent: session.userAgent,
        ip: session.ip,
        metadata: session.metadata,
        current: session.current,
      })),
    });
  });
}

/**
 * `POST /api/sessions/revoke` with `{"session_id": "..."}`: ends one of the
 * caller's sessions. Another user's session and an unknown id get the same
 * 404, so the route is no oracle for other users' ids.
 */
export function handleRevokeSession(ctx: HandlerContext, request: RequestView, info: RequestInfo): Promise<ResponseParts> {
  return asCaller(ctx, request, info, async ({ userId }) => {
    const body = await readBody(request, ctx.config.maxBodyBytes, info.body);
    const sessionId = body.kind === 'json' && isPlainObject(body.value) ? body.value.session_id : null;
    if (typeof sessionId !== 'string' || sessionId === '') throw new NotFoundError();
    if ((await revokeSession(ctx, userId, sessionId)) === 0) throw new NotFoundError();
    return jsonParts(200, { code: 200, message: 'The session has been revoked.' });
  });
}

/** `POST /api/sessions/revoke-others`: ends every session of the caller but the current one. */
export function handleRevokeOtherSessions(ctx: HandlerContext, request: RequestView, info: RequestInfo): Promise<ResponseParts> {
  return asCaller(ctx, request, info, async ({ userId, sessionId }) => {
    const revoked = await revokeOtherSessions(ctx, userId, sessionId);
    return jsonParts(200, { code: 200, message: `${revoked} other session(s) revoked.` });
  });
}

/** `POST /api/sessions/revoke-all`: "log out everywhere", through {@link revokeAllSessions}. */
export function handleRevokeAllSessions(ctx: HandlerContext, request: RequestView, info: RequestInfo): Promise<ResponseParts> {
  return asCaller(ctx, request, info, async ({ userId }) => {
    await revokeAllSessions(ctx, userId);
    return jsonParts(200, { code: 200, message: 'All sessions have been revoked.' });
  });
}
