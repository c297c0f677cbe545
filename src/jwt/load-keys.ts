import { createPrivateKey, createPublicKey, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { CompactSign, compactVerify, errors as joseErrors } from 'jose';
import type { JwtRefreshConfig, SignatureAlgorithm } from '../config/schema.js';
import { KeyError } from '../errors.js';

/**
 * The keys of the access tokens, imported once at start and shared by
 * {@link signAccessToken} and {@link verifyAccessToken}.
 *
 * For HS* both keys are the same shared secret. `signingKey` is null in
 * verify-only mode (a public key was configured without a private key).
 *
 * @example
 * const keys: AccessTokenKeys = await loadAccessTokenKeys(config.jwt);
 * if (keys.signingKey === null) console.log('verify-only instance');
 */
export interface AccessTokenKeys {
  /** The one algorithm tokens are signed with and the only one verification accepts. */
  readonly algorithm: SignatureAlgorithm;
  /** Private key or shared secret; null when this instance only verifies. */
  readonly signingKey: KeyObject | null;
  /** Public key or shared secret. */
  readonly verificationKey: KeyObject;
  /** `kid` put in the header of signed tokens, or null. */
  readonly kid: string | null;
  /** Older keys that still verify, by `kid` (key rotation: newest signs, all verify). */
  readonly previousKeys: ReadonlyMap<string, KeyObject>;
  /** Older keys without a `kid` (lexik's `additional_public_keys`), tried in order when the current key fails. */
  readonly additionalKeys: readonly KeyObject[];
}

type JwtOptions = JwtRefreshConfig['jwt'];
type HmacAlgorithm = 'HS256' | 'HS384' | 'HS512';

// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output.
const HMAC_MIN_SECRET_BYTES: Record<HmacAlgorithm, number> = { HS256: 32, HS384: 48, HS512: 64 };

// RFC 7518 §3.3 / §3.5: RSA keys of 2048 bits or more.
const MIN_RSA_BITS = 2048;

// RFC 7518 §3.4: each ES* algorithm is bound to one curve. Node reports OpenSSL curve names.
const EC_CURVE_OF: Partial<Record<SignatureAlgorithm, string>> = {
  ES256: 'prime256v1',
  ES384: 'secp384r1',
  ES512: 'secp521r1',
};
const JOSE_CURVE_NAME: Record<string, string> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/**
 * Loads and checks the access-token keys described by the `jwt` options.
 *
 * - HS*: `secretKey` is the shared secret (its UTF-8 bytes), at least as long as
 *   the hash (32/48/64 bytes). `publicKey` is ignored.
 * - RS*, PS*, ES*, EdDSA: `secretKey` and `publicKey` are PEM strings or paths to
 *   PEM files. An encrypted private key is opened with `passphrase`. Without
 *   `publicKey` it is derived from the private key; with only `publicKey` the
 *   keys are verify-only.
 *
 * Every key is checked against the algorithm (type, curve, RSA size), a given
 * pair is checked to match, and each key is imported here, once: signing and
 * verifying reuse the same `KeyObject`s. Fails with a {@link KeyError} that names the
 * option, the algorithm and the key type, never the key material.
 *
 * @example
 * const keys = await loadAccessTokenKeys({ ...config.jwt, algorithm: 'ES256', secretKey: '/etc/jwt/private.pem' });
 */
export async function loadAccessTokenKeys(jwt: JwtRefreshConfig['jwt']): Promise<AccessTokenKeys> {
  const { algorithm } = jwt;
  const current = isHmac(algorithm) ? await loadSharedSecret(algorithm, jwt.secretKey) : await loadKeyPair(jwt);
  const previousKeys = new Map<string, KeyObject>();
  const additionalKeys: KeyObject[] = [];
  for (const [index, previous] of jwt.verificationKeys.entries()) {
    const key = await loadVerificationKey(algorithm, previous.key, `jwt.verificationKeys.${index}.key`);
    if (previous.kid === undefined) {
      additionalKeys.push(key);
      continue;
    }
    if (previous.kid === jwt.kid || previousKeys.has(previous.kid)) {
      throw new KeyError(`jwt.verificationKeys.${index}.kid repeats a kid; each key needs its own.`);
    }
    previousKeys.set(previous.kid, key);
  }
  const keys: AccessTokenKeys = { ...current, kid: jwt.kid ?? null, previousKeys, additionalKeys };
  await proveKeysWork(keys);
  return Object.freeze(keys);
}

/** An older key of a rotation: a public key (a private one is reduced to its public half) or, for HS*, the secret. */
async function loadVerificationKey(algorithm: SignatureAlgorithm, value: string, option: string): Promise<KeyObject> {
  if (isHmac(algorithm)) return (await loadSharedSecret(algorithm, value)).verificationKey;
  const pem = await readPem(value, option);
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new KeyError(`${option} is not a public key in PEM.`, { cause: error });
  }
  assertKeyFitsAlgorithm(key, algorithm, option);
  return key;
}

function isHmac(algorithm: SignatureAlgorithm): algorithm is HmacAlgorithm {
  return algorithm === 'HS256' || algorithm === 'HS384' || algorithm === 'HS512';
}

async function loadSharedSecret(algorithm: HmacAlgorithm, secret: string | undefined): Promise<AccessTokenKeys> {
  if (secret === undefined) {
    throw new KeyError(`jwt.secretKey is required: ${algorithm} signs and verifies with a shared secret.`);
  }
  // An asymmetric key handed to HS* would make its PEM text (public, for a public key) the HMAC secret.
  if (isPem(secret)) {
    throw new KeyError(`jwt.algorithm ${algorithm} takes a shared secret, but jwt.secretKey holds a PEM key (${describePem(secret)}).`);
  }
  if (await isFile(secret)) {
    throw new KeyError(`jwt.algorithm ${algorithm} takes the shared secret itself, but jwt.secretKey names a file.`);
  }
  const bytes = Buffer.from(secret, 'utf8');
  const minimum = HMAC_MIN_SECRET_BYTES[algorithm];
  if (bytes.length < minimum) {
    throw new KeyError(`jwt.secretKey is too short for ${algorithm}: at least ${minimum} bytes are required, got ${bytes.length}.`);
  }
  const key = createSecretKey(bytes);
  return { algorithm, signingKey: key, verificationKey: key, kid: null, previousKeys: new Map(), additionalKeys: [] };
}

async function loadKeyPair(jwt: JwtOptions): Promise<AccessTokenKeys> {
  const { algorithm } = jwt;
  if (jwt.secretKey === undefined && jwt.publicKey === undefined) {
    throw new KeyError(`jwt.secretKey or jwt.publicKey is required for ${algorithm}.`);
  }

  let signingKey: KeyObject | null = null;
  if (jwt.secretKey !== undefined) {
    const pem = await readPem(jwt.secretKey, 'jwt.secretKey');
    signingKey = openPrivateKey(pem, jwt.passphrase);
    assertKeyFitsAlgorithm(signingKey, algorithm, 'jwt.secretKey');
  }

  let verificationKey: KeyObject;
  if (jwt.publicKey !== undefined) {
    const pem = await readPem(jwt.publicKey, 'jwt.publicKey');
    // createPublicKey would accept a private key too; a verifier must not hold one.
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
      throw new KeyError('jwt.publicKey holds a private key; give the public key only.');
    }
    verificationKey = openPublicKey(pem);
    assertKeyFitsAlgorithm(verificationKey, algorithm, 'jwt.publicKey');
  } else if (signingKey !== null) {
    verificationKey = createPublicKey(signingKey);
  } else {
    throw new KeyError(`jwt.publicKey is required for ${algorithm}.`);
  }

  return { algorithm, signingKey, verificationKey, kid: null, previousKeys: new Map(), additionalKeys: [] };
}

function isPem(value: string): boolean {
  return value.includes('-----BEGIN');
}

/** node:fs, loaded only when a key is given as a path: `import 'jwt-refresh'` alone touches no file system. */
const fileSystem = () => import('node:fs/promises');

async function isFile(value: string): Promise<boolean> {
  try {
    return (await (await fileSystem()).stat(value)).isFile();
  } catch {
    return false;
  }
}

/** The PEM text of `value`, read from the file it names unless it is PEM itself. */
async function readPem(value: string, option: string): Promise<string> {
  if (isPem(value)) return value;
  let content: string;
  try {
    content = await (await fileSystem()).readFile(value, 'utf8');
  } catch (error) {
    // The value is not echoed: a mistyped option could hold key material (e.g. a bare base64 key).
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new KeyError(`${option} is neither a PEM string nor the path of a readable file (${code}).`, { cause: error });
  }
  if (!isPem(content)) {
    throw new KeyError(`${option} names a file that holds no PEM key.`);
  }
  return content;
}

function openPrivateKey(pem: string, passphrase: string | undefined): KeyObject {
  try {
    return createPrivateKey(passphrase === undefined ? { key: pem, format: 'pem' } : { key: pem, format: 'pem', passphrase });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // With a wrong passphrase, CBC decryption passes its padding check about once in 256 tries and the garbage
    // then fails to parse with another code: for an encrypted key, any failure with a passphrase is that passphrase.
    const encrypted = passphrase !== undefined && pem.includes('ENCRYPTED');
    if (
      encrypted ||
      code === 'ERR_OSSL_BAD_DECRYPT' ||
      code === 'ERR_MISSING_PASSPHRASE' ||
      code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED'
    ) {
      const reason = passphrase === undefined ? 'it is encrypted and jwt.passphrase is not set' : 'jwt.passphrase is wrong';
      throw new KeyError(`jwt.secretKey could not be opened: ${reason}.`, { cause: error });
    }
    throw new KeyError('jwt.secretKey is not a private key in PEM (PKCS#8, PKCS#1 or SEC1).', { cause: error });
  }
}

function openPublicKey(pem: string): KeyObject {
  try {
    return createPublicKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new KeyError('jwt.publicKey is not a public key or certificate in PEM.', { cause: error });
  }
}

/** "RSA-2048", "EC P-256", "Ed25519": the key's type and size, never its material. */
function describeKey(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return `RSA-${details.modulusLength ?? '?'}`;
    case 'rsa-pss':
      return `RSA-PSS-${details.modulusLength ?? '?'}`;
    case 'ec': {
      const curve = details.namedCurve ?? 'unknown curve';
      return `EC ${JOSE_CURVE_NAME[curve] ?? curve}`;
    }
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    case undefined:
      return 'secret';
    default:
      return key.asymmetricKeyType;
  }
}

function describePem(pem: string): string {
  try {
    return describeKey(createPublicKey({ key: pem, format: 'pem' }));
  } catch {
    // Encrypted private keys cannot be opened here; the label is enough to refuse them.
    return 'type not readable';
  }
}

/** Refuses a key whose type, curve or size does not fit the algorithm (RFC 7518 §3, RFC 8037). */
function assertKeyFitsAlgorithm(key: KeyObject, algorithm: SignatureAlgorithm, option: string): void {
  const mismatch = (needed: string): KeyError =>
    new KeyError(`${option} does not fit jwt.algorithm ${algorithm}: it needs ${needed}, got ${describeKey(key)}.`);
  const type = key.asymmetricKeyType;
  const family = algorithm.slice(0, 2);

  if (family === 'RS' || family === 'PS') {
    if (type === 'rsa-pss') {
      // jose cannot use id-RSASSA-PSS keys on Node 20 (no JWK export, no KeyObject.toCryptoKey);
      // the same RSA key as a plain rsaEncryption key works for PS*.
      throw new KeyError(
        `${option} is an RSA-PSS-restricted key (id-RSASSA-PSS), which jose cannot use; give ${algorithm} a plain RSA key.`,
      );
    }
    if (type !== 'rsa') throw mismatch('an RSA key');
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw mismatch(`an RSA key of at least ${MIN_RSA_BITS} bits`);
    return;
  }

  if (family === 'ES') {
    const curve = EC_CURVE_OF[algorithm] ?? '';
    if (type !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== curve) {
      throw mismatch(`an EC ${JOSE_CURVE_NAME[curve] ?? curve} key`);
    }
    return;
  }

  // EdDSA. jose 6 implements it with Ed25519 only (RFC 8037 also allows Ed448).
  if (type !== 'ed25519') throw mismatch('an Ed25519 key');
}

/**
 * Makes jose import every key now, so a key jose cannot use fails at start and
 * not on the first request; jose caches the import per KeyObject, so later
 * calls reuse it. With both keys, a signed probe proves they are a pair.
 */
async function proveKeysWork(keys: AccessTokenKeys): Promise<void> {
  const { algorithm, signingKey, verificationKey } = keys;
  const probe = new TextEncoder().encode('jwt-refresh key probe');

  if (signingKey === null) {
    // No private key to sign with: verify a junk signature. Reaching the signature check means the key was imported.
    const junk = `${encodeJson({ alg: algorithm })}.${Buffer.from(probe).toString('base64url')}.${randomBytes(64).toString('base64url')}`;
    try {
      await compactVerify(junk, verificationKey, { algorithms: [algorithm] });
    } catch (error) {
      if (error instanceof joseErrors.JWSSignatureVerificationFailed) return;
      throw new KeyError(`jwt.publicKey (${describeKey(verificationKey)} key) cannot be used for ${algorithm}.`, { cause: error });
    }
    return;
  }

  let jws: string;
  try {
    jws = await new CompactSign(probe).setProtectedHeader({ alg: algorithm }).sign(signingKey);
  } catch (error) {
    throw new KeyError(`jwt.secretKey (${describeKey(signingKey)} key) cannot sign ${algorithm}.`, { cause: error });
  }
  try {
    await compactVerify(jws, verificationKey, { algorithms: [algorithm] });
  } catch (error) {
    if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
      throw new KeyError('jwt.secretKey and jwt.publicKey are not a key pair.');
    }
    throw new KeyError(`jwt.publicKey (${describeKey(verificationKey)} key) cannot be used for ${algorithm}.`, { cause: error });
  }
}

function encodeJson(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
