import { toUnixSeconds } from '../lib/clock.js';
import type { RefreshTokenRecord } from '../stores/store.js';

/**
 * The claims that tie an access token to its session (token family): `sid`,
 * and OIDC's `auth_time` (when the user last proved who they are) wherever
 * the record tells it. A login's record is the family's first, so its
 * creation is the login. A rotated successor is created later; its family's
 * start is then read back from the family deadline (deadline − the
 * `maxSessionLifetime` that set it), so renewal of a refreshed access token
 * still stops at that deadline (SPEC §3b, §9). Without a session lifetime a
 * refreshed token has no `auth_time` to tell.
 *
 * @example
 * const claims = sessionClaims(issued.record, config.maxSessionLifetime); // { sid, auth_time }
 */
export function sessionClaims(record: RefreshTokenRecord, maxSessionLifetime: number | undefined): Record<string, unknown> {
  const claims: Record<string, unknown> = { sid: record.familyId };
  if (record.generation === 0) claims.auth_time = toUnixSeconds(record.createdAt);
  else if (record.familyDeadline !== null && maxSessionLifetime !== undefined) {
    claims.auth_time = toUnixSeconds(record.familyDeadline) - maxSessionLifetime;
  }
  return claims;
}
