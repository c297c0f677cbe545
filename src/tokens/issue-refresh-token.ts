import { randomUUID } from 'node:crypto';
import type { User } from '../auth/user.js';
import { addSecondsCapped } from '../lib/clock.js';
import type { RefreshTokenRecord } from '../stores/store.js';
import { revokeFamily } from './revoke-family.js';
import type { ClientMetadata, IssuedRefreshToken, TokenContext } from './token-context.js';

/**
 * Starts a new token family for `user` (every login does: a refresh token
 * carried by a login request is never reused or rotated) and stores the first
 * token's hash. With `maxTokensPerUser`, the user's oldest live families beyond
 * the limit are revoked afterwards.
 *
 * @example
 * const { token } = await issueRefreshToken(ctx, user, { userAgent, ip });
 */
export async function issueRefreshToken(ctx: TokenContext, user: User, client: ClientMetadata): Promise<IssuedRefreshToken> {
  const now = ctx.now();
  const { maxSessionLifetime, ttl, maxTokensPerUser } = ctx.config;
  const familyDeadline = maxSessionLifetime === undefined ? null : new Date(now.getTime() + maxSessionLifetime * 1000);
  const token = ctx.generateToken();
  const record: RefreshTokenRecord = {
    id: randomUUID(),
    tokenHash: ctx.hashToken(token),
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
    userAgent: client.userAgent,
    ip: client.ip,
  };
  await ctx.store.insert(record);
  if (maxTokensPerUser !== undefined) await evictOldFamilies(ctx, user.id, maxTokensPerUser, now);
  return { token, record };
}

async function evictOldFamilies(ctx: TokenContext, userId: string, keep: number, now: Date): Promise<void> {
  const families = await ctx.store.listFamilies(userId, now);
  for (const family of families.slice(keep)) await revokeFamily(ctx, family.familyId, userId, 'evicted', now);
}
