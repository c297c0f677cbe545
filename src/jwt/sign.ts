import { SignJWT, type JWTHeaderParameters } from 'jose';
import { KeyError } from '../errors.js';
import type { AccessTokenKeys } from './load-keys.js';

/**
 * Signs `claims` as a compact JWT with the configured algorithm.
 *
 * `header` adds protected header parameters (typically `kid`); it can never
 * change `alg` or `typ`, which are always the keys' algorithm and `JWT`.
 * Throws a {@link KeyError} when the keys are verify-only.
 *
 * @example
 * const keys = await loadAccessTokenKeys(config.jwt);
 * const token = await signAccessToken(keys, buildAccessTokenClaims(user, config.jwt, now), { kid: 'main' });
 */
export async function signAccessToken(
  keys: AccessTokenKeys,
  claims: Record<string, unknown>,
  header?: Record<string, unknown>,
): Promise<string> {
  if (keys.signingKey === null) {
    throw new KeyError('Cannot sign access tokens: jwt.secretKey is not set, so these keys only verify.');
  }
  // Spread first so a caller's header can never downgrade or swap the algorithm.
  const protectedHeader: JWTHeaderParameters = { ...header, alg: keys.algorithm, typ: 'JWT' };
  if (keys.kid !== null) protectedHeader.kid = keys.kid;
  return new SignJWT(claims).setProtectedHeader(protectedHeader).sign(keys.signingKey);
}
