import { constants, createHmac, sign as signWithKey, type KeyObject, type SignKeyObjectInput } from 'node:crypto';
import type { SignatureAlgorithm } from '../config/schema.js';
import { KeyError } from '../errors.js';
import type { AccessTokenKeys } from './load-keys.js';

/**
 * Signs `claims` as a compact JWT with the configured algorithm.
 *
 * `header` adds protected header parameters (typically `kid`); it can never
 * change `alg` or `typ`, which are always the keys' algorithm and `JWT`.
 * Throws a {@link KeyError} when the keys are verify-only, and a `TypeError`
 * when `header` sets `crit` or `b64` (extensions no verifier of ours accepts).
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
  // RFC 7515 §4.1.11 / RFC 7797: a token carrying either would be refused by every verifier, ours included.
  if (header !== undefined && ('crit' in header || 'b64' in header)) {
    throw new TypeError('An access token header cannot set "crit" or "b64".');
  }
  // Spread first so a caller's header can never downgrade or swap the algorithm.
  const protectedHeader: Record<string, unknown> = { ...header, alg: keys.algorithm, typ: 'JWT' };
  if (keys.kid !== null) protectedHeader.kid = keys.kid;
  const signingInput = `${encodeJson(protectedHeader)}.${encodeJson(claims)}`;
  const signature = await signatureOf(keys.algorithm, keys.signingKey, Buffer.from(signingInput));
  return `${signingInput}.${signature.toString('base64url')}`;
}

function encodeJson(value: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

const HASH_OF: Record<SignatureAlgorithm, string | null> = {
  HS256: 'sha256',
  HS384: 'sha384',
  HS512: 'sha512',
  RS256: 'sha256',
  RS384: 'sha384',
  RS512: 'sha512',
  PS256: 'sha256',
  PS384: 'sha384',
  PS512: 'sha512',
  ES256: 'sha256',
  ES384: 'sha384',
  ES512: 'sha512',
  // Ed25519 hashes internally: node:crypto takes no digest for it.
  EdDSA: null,
};

/**
 * The JWS signature of `input` (RFC 7518 §3), made by `node:crypto` on the key
 * `loadAccessTokenKeys` already checked against the algorithm.
 *
 * HMAC costs a microsecond or two and runs inline. An asymmetric signature costs
 * 25 µs (ES256) to 2 ms (P-521) of CPU: it runs on libuv's threadpool, where it
 * takes 8 µs of the event loop's time instead of all of it, so the thread that
 * serves every request stays free.
 *
 * Why not jose's `SignJWT`: jose 6 signs through WebCrypto, whose ES256 signature
 * costs the event loop 45 µs where `node:crypto`'s threadpool job costs 8 µs, and
 * twice the CPU in all. Verification, key checks and JWKS stay on jose.
 */
function signatureOf(algorithm: SignatureAlgorithm, key: KeyObject, input: Buffer): Promise<Buffer> {
  const hash = HASH_OF[algorithm];
  if (algorithm.startsWith('HS')) {
    const mac = createHmac(hash as string, key)
      .update(input)
      .digest();
    return Promise.resolve(mac);
  }
  const options: SignKeyObjectInput = { key };
  // RFC 7518 §3.4: an ECDSA signature is R || S, not DER.
  if (algorithm.startsWith('ES')) options.dsaEncoding = 'ieee-p1363';
  // RFC 7518 §3.5: PSS with MGF1 on the same hash and a salt as long as the hash.
  if (algorithm.startsWith('PS')) {
    options.padding = constants.RSA_PKCS1_PSS_PADDING;
    options.saltLength = constants.RSA_PSS_SALTLEN_DIGEST;
  }
  return new Promise((resolve, reject) => {
    signWithKey(hash, input, options, (error, signature) => (error === null ? resolve(signature) : reject(error)));
  });
}
