import type { JwtRefreshConfig } from '../config/schema.js';
import { toUnixSeconds } from '../lib/clock.js';
import type { RefreshTokenRecord } from '../stores/store.js';

/**
 * The claims that tie an access token to its session (token family), for a
 * token issued at `now` from `record`: `sid`; OIDC's `auth_time` (when the
 * user last proved who they are) wherever the record tells it; and, when the
 * family has an absolute deadline, an `exp` that does not pass it, so no
 * access token outlives `maxSessionLifetime` (SPEC §9).
 *
 * A login's record is the family's first, so its creation is the login. A
 * rotated successor is created later; its family's start is then read back
 * from the family deadline (deadline − the `maxSessionLifetime` that set it),
 * so renewal of a refreshed access token still stops at that deadline (SPEC
 * §3b). Without a session lifetime a refreshed token has no `auth_time` to tell.
 *
 * @example
 * const claims = sessionClaims(issued.record, config, now); // { sid, auth_time[, exp] }
 */
export function sessionClaims(
  record: RefreshTokenRecord,
  config: Pick<JwtRefreshConfig, 'maxSessionLifetime'> & { jwt: Pick<JwtRefreshConfig['jwt'], 'tokenTtl'> },
  now: Date,
): Record<string, unknown> {
  const claims: Record<string, unknown> = { sid: record.familyId };
  const { maxSessionLifetime } = config;
  if (record.generation === 0) claims.auth_time = toUnixSeconds(record.createdAt);
  else if (record.familyDeadline !== null && maxSessionLifetime !== undefined) {
    claims.auth_time = toUnixSeconds(record.familyDeadline) - maxSessionLifetime;
  }
  if (record.familyDeadline !== null) {
    claims.exp = Math.min(toUnixSeconds(now) + config.jwt.tokenTtl, toUnixSeconds(record.familyDeadline));
  }
  return claims;
}
