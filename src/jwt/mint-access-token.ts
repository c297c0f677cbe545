import type { User } from '../auth/user.js';
import type { JwtRefreshConfig } from '../config/schema.js';
import type { EventDispatcher } from '../events.js';
import { buildAccessTokenClaims } from './build-claims.js';
import { clampExp } from './exp-range.js';
import type { AccessTokenKeys } from './load-keys.js';
import { signAccessToken } from './sign.js';

/** A signed access token with the claims it carries (after `jwtCreated` listeners). */
export interface MintedAccessToken {
  token: string;
  claims: Record<string, unknown>;
}

/**
 * Builds the claims for `user` (plus `sessionClaims` such as `sid`), lets `jwtCreated` listeners add or change
 * claims and header, and signs. The algorithm stays the configured one
 * whatever a listener puts in the header, and `exp` stays within `MAX_EXP`
 * (the end of year 9999) whatever the listener or `tokenTtl` asks for.
 *
 * @example
 * const { token } = await mintAccessToken(keys, config.jwt, events, user, new Date());
 */
export async function mintAccessToken(
  keys: AccessTokenKeys,
  jwt: JwtRefreshConfig['jwt'],
  events: EventDispatcher,
  user: User,
  now: Date,
  sessionClaims: Record<string, unknown> = {},
): Promise<MintedAccessToken> {
  const claims: Record<string, unknown> = { ...buildAccessTokenClaims(user, jwt, now), ...sessionClaims };
  const header: Record<string, unknown> = {};
  if (events.has('jwtCreated')) await events.emit('jwtCreated', { claims, header, user });
  // Verification refuses an `exp` past MAX_EXP: a token we sign must stay verifiable.
  if (typeof claims.exp === 'number') claims.exp = clampExp(claims.exp);
  return { token: await signAccessToken(keys, claims, header), claims };
}
