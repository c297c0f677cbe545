import { randomUUID } from 'node:crypto';
import type { User } from '../auth/user.js';
import { addSecondsCapped } from '../lib/clock.js';
import type { FamilySummary, RefreshTokenRecord } from '../stores/store.js';
import { revokeFamily } from './revoke-family.js';
import type { SessionClient, SessionContext } from './session-context.js';
import { serializeSessionMetadata, type SessionMetadata } from './session-metadata.js';
import { deliverSessionTokens, type SessionTokens, type TokenResponseFormat } from './session-tokens.js';
import type { RequestView } from '../lib/request-view.js';

/** Options of {@link issueSession}. */
export interface IssueSessionOptions {
  /** The client the session starts from (user agent, address), listed with the session. */
  client?: SessionClient;
  /** A small JSON object kept with the session (device name, login method, tenant). */
  metadata?: SessionMetadata | null;
  /** The HTTP request that started it, when one did; handed to event listeners (as a Fetch `Request`). */
  request?: Request | RequestView;
  /** Shape of `responseBody`. Default `'bundle'`. */
  format?: TokenResponseFormat;
}

/**
 * Starts a session for a user authenticated by any means (OAuth or social
 * login, SSO, a passkey, a magic link, an existing user system), as the
 * bundle attaches a refresh token to any successful authentication: runs the
 * user checker, then starts a new token family (SPEC §2, §13).
 *
 * @throws the user checker's error (e.g. AccountDisabledError), SessionMetadataError, StoreError
 */
export async function issueSession(ctx: SessionContext, user: User, options: IssueSessionOptions = {}): Promise<SessionTokens> {
  await ctx.userChecker.checkPreAuth(user);
  await ctx.userChecker.checkPostAuth(user);
  return startSession(ctx, user, options);
}

/**
 * Starts a new token family for a user whose checks already passed: stores the
 * first token's hash, keeps only the `maxTokensPerUser` most recently used families, and
 * hands out the token pair. Every login does this; a refresh token carried by
 * a login request is never reused or rotated (SPEC §2).
 */
export async function startSession(ctx: SessionContext, user: User, options: IssueSessionOptions): Promise<SessionTokens> {
  const now = ctx.now();
  const { maxSessionLifetime, ttl, maxTokensPerUser, maxSessionMetadataBytes } = ctx.config;
  // Checked before anything is written, so bad metadata changes nothing.
  const metadata = serializeSessionMetadata(options.metadata, maxSessionMetadataBytes);
  const familyDeadline = maxSessionLifetime === undefined ? null : new Date(now.getTime() + maxSessionLifetime * 1000);
  const refreshToken = ctx.generateToken();
  const record: RefreshTokenRecord = {
    id: randomUUID(),
    tokenHash: ctx.hashToken(refreshToken),
    userId: user.id,
    userIdentifier: user.identifier,
    familyId: randomUUID(),
    generation: 0,
    validUntil: addSecondsCapped(now, ttl, familyDeadline),
    familyDeadline,
    createdAt: now,
    lastUsedAt: null,
    rotatedAt: null,
    successorHash: null,
    revokedAt: null,
    userAgent: options.client?.userAgent ?? null,
    ip: options.client?.ip ?? null,
    metadata,
  };
  await ctx.store.insert(record);
  if (maxTokensPerUser !== undefined) {
    // The bundle's max_tokens_per_user (2.2+): the sessions that went longest without a refresh
    // go first, so a device in daily use outlives one signed in later and left unused. The new
    // family was created now, so it always stays. A stable sort keeps the store's order on ties.
    const families = (await ctx.store.listFamilies(user.id, now)).sort((a, b) => lastActivity(b) - lastActivity(a));
    for (const family of families.slice(maxTokensPerUser)) await revokeFamily(ctx, family.familyId, user.id, 'evicted', now);
  }
  return deliverSessionTokens(ctx, { user, refreshToken, record, now, request: options.request, format: options.format ?? 'bundle' });
}

/** When a family was last logged into or refreshed. */
function lastActivity(family: FamilySummary): number {
  return (family.lastUsedAt ?? family.createdAt).getTime();
}
