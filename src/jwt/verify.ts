import { errors as joseErrors, jwtVerify, type JWTVerifyOptions } from 'jose';
import type { JwtRefreshConfig } from '../config/schema.js';
import { JwtExpiredError, JwtInvalidError } from '../errors.js';
import { toUnixSeconds } from '../lib/clock.js';
import type { AccessTokenClaims } from './build-claims.js';
import { MAX_EXP } from './exp-range.js';
import type { AccessTokenKeys } from './load-keys.js';
import type { KeyObject } from 'node:crypto';

// Real access tokens are well under 1 KiB; refusing longer input before parsing
// bounds the base64 and JSON work an attacker can make us do.
const MAX_ACCESS_TOKEN_LENGTH = 8 * 1024;

/**
 * Verifies an access token and returns its claims.
 *
 * Only the keys' algorithm is accepted, whatever the token's `alg` header says
 * (RFC 8725 §3.1; `none` never). `exp` and the `userIdClaim` (a string) are
 * required; `exp`, `nbf` and `iat` are checked at `now` with `clockSkew` leeway;
 * `iss` and `aud` must match when configured; a `typ` header, when present, must be `JWT`
 * (or `application/jwt`, the same type by RFC 7515 §4.1.9); `exp` may not pass the year 9999.
 *
 * @throws JwtExpiredError when `exp` has passed (beyond `clockSkew`).
 * @throws JwtInvalidError for anything else: signature, algorithm, shape, size,
 *   a future `nbf` or `iat`, a wrong `iss` or `aud`, a missing claim. Its `cause`
 *   holds jose's error code and message, for server logs only.
 *
 * @example
 * try {
 *   const claims = await verifyAccessToken(bearer, keys, config.jwt, clock());
 *   console.log(claims[config.jwt.userIdClaim], claims.exp);
 * } catch (error) {
 *   if (error instanceof JwtExpiredError) return reply401('Expired JWT Token');
 *   throw error;
 * }
 */
export async function verifyAccessToken(
  token: string,
  keys: AccessTokenKeys,
  jwt: JwtRefreshConfig['jwt'],
  now: Date,
): Promise<AccessTokenClaims> {
  if (token.length > MAX_ACCESS_TOKEN_LENGTH) throw invalid('token longer than 8 KiB');

  const options: JWTVerifyOptions = {
    algorithms: [keys.algorithm],
    clockTolerance: jwt.clockSkew,
    currentDate: now,
    requiredClaims: ['exp', jwt.userIdClaim],
  };
  if (jwt.issuer !== undefined) options.issuer = jwt.issuer;
  if (jwt.audience !== undefined) options.audience = jwt.audience;

  let payload: Record<string, unknown>;
  // Typed as jose declares it, but a header is whatever JSON the signer wrote: checked below.
  let typ: unknown;
  try {
    ({
      payload,
      protectedHeader: { typ },
    } = await verifyWithKeys(token, keys, options));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new JwtExpiredError();
    if (error instanceof joseErrors.JOSEError) throw invalid(`${error.code}: ${error.message}`);
    // jose raises TypeError for malformed input in a few places (e.g. a non-string token).
    throw invalid(error instanceof Error ? error.message : 'verification failed');
  }

  // RFC 8725 §3.11: another kind of JWT signed with the same key (`secevent+jwt`, `at+jwt`, ...)
  // is not an access token of ours. No `typ` is accepted, for issuers that leave it out.
  if (typ !== undefined && !isJwtType(typ)) throw invalid('"typ" header is not "JWT"');
  // No store could date this token's logout blocklist entry (exp-range.ts); we never issue one.
  if ((payload.exp as number) > MAX_EXP) throw invalid('"exp" claim is past the year 9999');
  // jose checks `iat` only with maxTokenAge; clockSkew is documented as leeway for iat too.
  if (typeof payload.iat === 'number' && payload.iat > toUnixSeconds(now) + jwt.clockSkew) {
    throw invalid('"iat" claim is in the future');
  }
  if (typeof payload[jwt.userIdClaim] !== 'string') {
    throw invalid(`"${jwt.userIdClaim}" claim is not a string`);
  }
  // jose has checked that `exp` is present and a number.
  return payload as AccessTokenClaims;
}

/**
 * RFC 7515 §4.1.9: `typ` is a media type, compared case-insensitively, with
 * `application/` implied when it has no `/`: `JWT` and `application/jwt` are one type.
 */
function isJwtType(typ: unknown): boolean {
  if (typeof typ !== 'string') return false;
  const mediaType = typ.toLowerCase();
  return mediaType === 'jwt' || mediaType === 'application/jwt';
}

/**
 * A JwtInvalidError whose cause tells the server why. The reason is jose's or ours,
 * never the token or its claims (jose's errors carry the payload; they are not kept).
 */
/**
 * The key a token's `kid` names: the current key for no kid or its own kid, an
 * older key of a rotation for theirs. An unknown kid is refused rather than
 * tried against every key.
 */
function keyForKid(keys: AccessTokenKeys, kid: string | undefined): KeyObject {
  // Without rotation configured there is one key, and a kid (e.g. set by another issuer's tooling) names nothing else.
  const rotating = keys.kid !== null || keys.previousKeys.size > 0;
  if (!rotating || kid === undefined || kid === keys.kid) return keys.verificationKey;
  const previous = keys.previousKeys.get(kid);
  if (previous === undefined) throw invalid('unknown "kid"');
  return previous;
}

/**
 * jose's verification with the key the token's `kid` selects; when its signature does not
 * match, with each key without a `kid` in turn (lexik's `additional_public_keys`: tokens of a
 * key rotated out carry no `kid`). These are keys the operator trusts, so trying each is safe.
 */
async function verifyWithKeys(token: string, keys: AccessTokenKeys, options: JWTVerifyOptions) {
  try {
    return await jwtVerify(token, (header) => keyForKid(keys, header.kid), options);
  } catch (error) {
    if (!(error instanceof joseErrors.JWSSignatureVerificationFailed)) throw error;
    for (const key of keys.additionalKeys) {
      try {
        return await jwtVerify(token, key, options);
      } catch (retryError) {
        if (!(retryError instanceof joseErrors.JWSSignatureVerificationFailed)) throw retryError;
      }
    }
    throw error;
  }
}

function invalid(reason: string): JwtInvalidError {
  const error = new JwtInvalidError();
  error.cause = new Error(reason);
  return error;
}
