import type { OperatorContext } from './session-context.js';
import { parseSessionMetadata, type SessionMetadata } from './session-metadata.js';

/** One live session (token family) of a user. */
export interface SessionSummary {
  sessionId: string;
  userId: string;
  userIdentifier: string;
  /** The login that started it. */
  createdAt: Date;
  /** The last refresh, or null. */
  lastUsedAt: Date | null;
  /** When its current refresh token expires unless refreshed. */
  expiresAt: Date;
  /** Its absolute deadline (`maxSessionLifetime`), or null. */
  familyDeadline: Date | null;
  userAgent: string | null;
  ip: string | null;
  metadata: SessionMetadata | null;
  /** Whether it is `currentSessionId` (the caller's own session). */
  current: boolean;
}

/**
 * The user's live sessions, newest login first: for a "where you're signed
 * in" page, an admin screen or `jwt-refresh sessions`.
 *
 * @throws StoreError
 */
export async function listSessions(
  ctx: OperatorContext,
  userId: string,
  options: { currentSessionId?: string } = {},
): Promise<SessionSummary[]> {
  const families = await ctx.store.listFamilies(userId, ctx.now());
  return families.map((family) => ({
    sessionId: family.familyId,
    userId: family.userId,
    userIdentifier: family.userIdentifier,
    createdAt: family.createdAt,
    lastUsedAt: family.lastUsedAt,
    expiresAt: family.validUntil,
    familyDeadline: family.familyDeadline,
    userAgent: family.userAgent,
    ip: family.ip,
    metadata: parseSessionMetadata(family.metadata),
    current: family.familyId === options.currentSessionId,
  }));
}
