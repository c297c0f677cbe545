import { NotFoundError } from '../errors.js';
import type { AccessTokenClaims } from '../jwt/build-claims.js';
import { userIdOfClaims } from '../tokens/access-token-revocation.js';
import { revokeFamily } from '../tokens/revoke-family.js';
import { authenticateAccessToken } from './authenticate-access-token.js';
import { errorResponse } from './error-response.js';
import { isPlainObject } from './extractors.js';
import type { HandlerContext } from './handler-context.js';
import { jsonResponse } from './json-response.js';
import { readBody } from './read-body.js';

/**
 * The caller's stable user id: `sub` by default; when the identifier claim is
 * the only link, the user provider maps it to the id.
 */
async function callerUserId(ctx: HandlerContext, claims: AccessTokenClaims): Promise<string | null> {
  const { setSubject, userIdClaim } = ctx.config.jwt;
  const value = userIdOfClaims(claims, ctx.config.jwt);
  if (value === null || (setSubject && userIdClaim !== 'sub')) return value;
  return (await ctx.credentials.userProvider.loadUserByIdentifier(value))?.id ?? null;
}

/** Runs `work` for an authenticated caller, turning every failure into its JSON response. */
async function asCaller(
  ctx: HandlerContext,
  request: Request,
  work: (claims: AccessTokenClaims, userId: string) => Promise<Response>,
): Promise<Response> {
  try {
    const claims = await authenticateAccessToken(ctx, request.headers.get('authorization'));
    const userId = await callerUserId(ctx, claims);
    if (userId === null) throw new NotFoundError();
    return await work(claims, userId);
  } catch (error) {
    return errorResponse(error, ctx.reportError);
  }
}

/** `GET /api/sessions`: the caller's live sessions (token families), the current one marked. */
export function handleListSessions(ctx: HandlerContext, request: Request): Promise<Response> {
  return asCaller(ctx, request, async (claims, userId) => {
    const families = await ctx.store.listFamilies(userId, ctx.now());
    const sessions = families.map((family) => ({
      id: family.familyId,
      created_at: family.createdAt.toISOString(),
      last_used_at: family.lastUsedAt?.toISOString() ?? null,
      expires_at: family.validUntil.toISOString(),
      user_agent: family.userAgent,
      ip: family.ip,
      current: family.familyId === claims.sid,
    }));
    return jsonResponse(200, { sessions });
  });
}

/**
 * `POST /api/sessions/revoke` with `{"session_id": "..."}`: ends one of the
 * caller's sessions. Another user's session and an unknown id get the same
 * 404, so the route is no oracle for other users' ids.
 */
export function handleRevokeSession(ctx: HandlerContext, request: Request): Promise<Response> {
  return asCaller(ctx, request, async (_claims, userId) => {
    const body = await readBody(request, ctx.config.maxBodyBytes);
    const sessionId = body.kind === 'json' && isPlainObject(body.value) ? body.value.session_id : null;
    if (typeof sessionId !== 'string' || sessionId === '') throw new NotFoundError();
    const now = ctx.now();
    const families = await ctx.store.listFamilies(userId, now);
    if (!families.some((family) => family.familyId === sessionId)) throw new NotFoundError();
    await revokeFamily(ctx, sessionId, userId, 'logout', now);
    return jsonResponse(200, { code: 200, message: 'The session has been revoked.' });
  });
}

/** `POST /api/sessions/revoke-others`: ends every session of the caller but the current one. */
export function handleRevokeOtherSessions(ctx: HandlerContext, request: Request): Promise<Response> {
  return asCaller(ctx, request, async (claims, userId) => {
    const now = ctx.now();
    let revoked = 0;
    for (const family of await ctx.store.listFamilies(userId, now)) {
      if (family.familyId === claims.sid) continue;
      await revokeFamily(ctx, family.familyId, userId, 'logout', now);
      revoked += 1;
    }
    return jsonResponse(200, { code: 200, message: `${revoked} other session(s) revoked.` });
  });
}

/**
 * `POST /api/sessions/revoke-all`: "log out everywhere". Revokes every
 * family of the caller and refuses the caller's access tokens issued up to
 * now, on every instance sharing the store.
 */
export function handleRevokeAllSessions(ctx: HandlerContext, request: Request): Promise<Response> {
  return asCaller(ctx, request, async (claims, userId) => {
    const now = ctx.now();
    const count = await ctx.store.revokeUser(userId, now);
    const watermarkKey = userIdOfClaims(claims, ctx.config.jwt) ?? userId;
    await ctx.store.setRevokedBefore(watermarkKey, now);
    await ctx.events.emit('refreshTokenRevoked', { familyId: '*', userId, reason: 'logout', count });
    return jsonResponse(200, { code: 200, message: 'All sessions have been revoked.' });
  });
}
