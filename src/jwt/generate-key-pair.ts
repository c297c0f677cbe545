import { generateKeyPair as generateNodeKeyPair, randomBytes, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { SignatureAlgorithm } from '../config/schema.js';

const generateNodeKeyPairAsync = promisify(generateNodeKeyPair);

/**
 * New key material for an algorithm, ready for the `jwt.secretKey` and
 * `jwt.publicKey` options. Exactly one of the two shapes:
 * a PEM pair (`secret` null) for RS*, PS*, ES*, EdDSA, or a shared secret
 * (`privateKeyPem` and `publicKeyPem` null) for HS*.
 *
 * @example
 * const generated: GeneratedKeys = await generateKeyPair('ES256');
 * if (generated.secret === null) await writeFile('private.pem', generated.privateKeyPem, { mode: 0o600 });
 */
export type GeneratedKeys =
  | { privateKeyPem: string; publicKeyPem: string; secret: null }
  | { privateKeyPem: null; publicKeyPem: null; secret: string };

// RFC 7518 §3.2: the HMAC key is at least the hash size. The secret is used by its
// UTF-8 bytes (see loadAccessTokenKeys), and base64url of n random bytes is longer than n.
const HMAC_SECRET_BYTES = { HS256: 32, HS384: 48, HS512: 64 } as const;

// RFC 7518 §3.4: one curve per ES* algorithm.
const EC_CURVES = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' } as const;

// RFC 7518 §3.3 and NIST SP 800-57: 2048 bits is the floor and still fine for tokens that live an hour.
const RSA_BITS = 2048;

/** The pair in the PEM formats every tool reads: PKCS#8 private, SPKI public. */
function toPem(pair: { publicKey: KeyObject; privateKey: KeyObject }): GeneratedKeys {
  return {
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    secret: null,
  };
}

/**
 * Generates fresh keys for `algorithm`: a random base64url secret of the hash
 * size for HS*, otherwise a PKCS#8 private key and SPKI public key in PEM
 * (RSA 2048 bits for RS* and PS*, the algorithm's curve for ES*, Ed25519 for EdDSA).
 *
 * @example
 * const { privateKeyPem, publicKeyPem } = await generateKeyPair('RS256');
 * const keys = await loadAccessTokenKeys({ ...config.jwt, algorithm: 'RS256', secretKey: privateKeyPem! });
 */
export async function generateKeyPair(algorithm: SignatureAlgorithm): Promise<GeneratedKeys> {
  switch (algorithm) {
    case 'HS256':
    case 'HS384':
    case 'HS512':
      return { privateKeyPem: null, publicKeyPem: null, secret: randomBytes(HMAC_SECRET_BYTES[algorithm]).toString('base64url') };
    case 'RS256':
    case 'RS384':
    case 'RS512':
    case 'PS256':
    case 'PS384':
    case 'PS512': {
      // A plain rsaEncryption key, not an id-RSASSA-PSS one: jose cannot use the latter on Node 20.
      return toPem(await generateNodeKeyPairAsync('rsa', { modulusLength: RSA_BITS }));
    }
    case 'ES256':
    case 'ES384':
    case 'ES512': {
      return toPem(await generateNodeKeyPairAsync('ec', { namedCurve: EC_CURVES[algorithm] }));
    }
    case 'EdDSA': {
      return toPem(await generateNodeKeyPairAsync('ed25519'));
    }
  }
}
