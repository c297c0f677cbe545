/**
 * 9999-12-31T23:59:59Z in unix seconds: the latest `exp` an access token may
 * carry. Logout blocklists a token until its `exp`, and no store can date an
 * entry much later (MySQL's DATETIME ends here; a JavaScript Date cannot hold
 * 1e300 s at all), so verification refuses a later one and issue clamps to it.
 */
export const MAX_EXP = 253_402_300_799;

/**
 * `exp` as an issued token may carry it: at most {@link MAX_EXP}, whatever
 * `tokenTtl` or a `jwtCreated` listener asked for.
 *
 * @example
 * claims.exp = clampExp(iat + jwt.tokenTtl);
 */
export function clampExp(exp: number): number {
  return Math.min(exp, MAX_EXP);
}
