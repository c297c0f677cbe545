import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { User } from '../src/auth/user.js';
import { SIGNATURE_ALGORITHMS, jwtSchema, type SignatureAlgorithm } from '../src/config/schema.js';
import { JwtExpiredError, JwtInvalidError, KeyError } from '../src/errors.js';
import { EventDispatcher } from '../src/events.js';
import { buildAccessTokenClaims } from '../src/jwt/build-claims.js';
import { generateKeyPair } from '../src/jwt/generate-key-pair.js';
import { loadAccessTokenKeys, type AccessTokenKeys } from '../src/jwt/load-keys.js';
import { mintAccessToken } from '../src/jwt/mint-access-token.js';
import { signAccessToken } from '../src/jwt/sign.js';
import { verifyAccessToken } from '../src/jwt/verify.js';

type JwtInput = Parameters<typeof jwtSchema.parse>[0];
type JwtOptions = ReturnType<typeof jwtSchema.parse>;

const jwtOptions = (input: JwtInput): JwtOptions => jwtSchema.parse(input);
const alice: User = { id: 'user-1', identifier: 'alice', roles: ['ROLE_USER', 'ROLE_ADMIN'] };
const NOW = new Date('2030-01-01T00:00:00Z');
const NOW_S = Math.floor(NOW.getTime() / 1000);
const later = (seconds: number): Date => new Date(NOW.getTime() + seconds * 1000);
const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
const HS256_SECRET = 'a-shared-secret-of-at-least-32-bytes!';

function pemPair(type: 'ec', namedCurve: string): { privatePem: string; publicPem: string };
function pemPair(type: 'rsa' | 'rsa-pss', modulusLength: number): { privatePem: string; publicPem: string };
function pemPair(type: 'ed25519' | 'ed448'): { privatePem: string; publicPem: string };
function pemPair(
  type: 'ec' | 'rsa' | 'rsa-pss' | 'ed25519' | 'ed448',
  option?: string | number,
): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } =
    type === 'ec'
      ? generateKeyPairSync('ec', { namedCurve: String(option) })
      : type === 'rsa' || type === 'rsa-pss'
        ? generateKeyPairSync(type as 'rsa', { modulusLength: Number(option) })
        : generateKeyPairSync(type as 'ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

async function expectKeyError(promise: Promise<unknown>, ...mentions: string[]): Promise<KeyError> {
  const error = await promise.then(
    () => expect.fail('expected a KeyError'),
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(KeyError);
  const message = (error as KeyError).message;
  for (const mention of mentions) expect(message).toContain(mention);
  // Never key material: no PEM armour nor base64 DER in the message.
  expect(message).not.toMatch(/-----BEGIN|MII[A-Za-z0-9+/]{8}/);
  return error as KeyError;
}

async function expectInvalid(promise: Promise<unknown>): Promise<void> {
  await expect(promise).rejects.toBeInstanceOf(JwtInvalidError);
}

let es256: { privatePem: string; publicPem: string };
let rs256: { privatePem: string; publicPem: string };
let es256Keys: AccessTokenKeys;
let tmp: string;

beforeAll(async () => {
  es256 = pemPair('ec', 'P-256');
  rs256 = pemPair('rsa', 2048);
  es256Keys = await loadAccessTokenKeys(jwtOptions({ algorithm: 'ES256', secretKey: es256.privatePem }));
  tmp = await mkdtemp(join(tmpdir(), 'jwt-refresh-keys-'));
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('every signature algorithm', () => {
  it.each(SIGNATURE_ALGORITHMS)('%s: generated keys load, sign and verify', async (algorithm: SignatureAlgorithm) => {
    const generated = await generateKeyPair(algorithm);
    const jwt =
      generated.secret !== null
        ? jwtOptions({ algorithm, secretKey: generated.secret })
        : jwtOptions({ algorithm, secretKey: generated.privateKeyPem, publicKey: generated.publicKeyPem });
    const keys = await loadAccessTokenKeys(jwt);
    expect(keys.algorithm).toBe(algorithm);

    const token = await signAccessToken(keys, buildAccessTokenClaims(alice, jwt, NOW));
    expect(decodeProtectedHeader(token)).toEqual({ alg: algorithm, typ: 'JWT' });

    const claims = await verifyAccessToken(token, keys, jwt, NOW);
    expect(claims).toMatchObject({ username: 'alice', sub: 'user-1', roles: ['ROLE_USER', 'ROLE_ADMIN'], iat: NOW_S, exp: NOW_S + 3600 });

    if (generated.secret === null) {
      // Another instance holding only the public key verifies the same token.
      const verifier = await loadAccessTokenKeys(jwtOptions({ algorithm, publicKey: generated.publicKeyPem }));
      expect(verifier.signingKey).toBeNull();
      await expect(verifyAccessToken(token, verifier, jwt, NOW)).resolves.toMatchObject({ username: 'alice' });
    }
  });
});

describe('generateKeyPair', () => {
  it.each([
    ['HS256', 32],
    ['HS384', 48],
    ['HS512', 64],
  ] as const)('%s: a base64url secret of %i random bytes and no PEM', async (algorithm, bytes) => {
    const generated = await generateKeyPair(algorithm);
    expect(generated.privateKeyPem).toBeNull();
    expect(generated.publicKeyPem).toBeNull();
    expect(Buffer.from(generated.secret ?? '', 'base64url')).toHaveLength(bytes);
    expect(generated.secret).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('asymmetric: PKCS#8 private and SPKI public PEM of the right key type', async () => {
    const generated = await generateKeyPair('ES384');
    expect(generated.secret).toBeNull();
    expect(generated.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(generated.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    const publicKey = createPublicKey(generated.publicKeyPem ?? '');
    expect(publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    const rsa = await generateKeyPair('PS256');
    expect(createPublicKey(rsa.publicKeyPem ?? '').asymmetricKeyType).toBe('rsa');
  });
});

describe('buildAccessTokenClaims', () => {
  it('sets roles, the user id claim, iat, exp, sub and a fresh jti by default', () => {
    const jwt = jwtOptions({ tokenTtl: 900 });
    const first = buildAccessTokenClaims(alice, jwt, NOW);
    const second = buildAccessTokenClaims(alice, jwt, NOW);
    expect(first).toMatchObject({ roles: ['ROLE_USER', 'ROLE_ADMIN'], username: 'alice', sub: 'user-1', iat: NOW_S, exp: NOW_S + 900 });
    expect(first.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.jti).not.toBe(second.jti);
    expect(first).not.toHaveProperty('nbf');
    expect(first).not.toHaveProperty('iss');
    expect(first).not.toHaveProperty('aud');
  });

  it('never sets an exp past the year 9999, whatever tokenTtl says', () => {
    expect(buildAccessTokenClaims(alice, jwtOptions({ tokenTtl: 1e15 }), NOW).exp).toBe(253_402_300_799);
  });

  it('clamps an exp a jwtCreated listener set past the year 9999, so the token it signs still verifies', async () => {
    const events = new EventDispatcher();
    events.on('jwtCreated', ({ claims }) => {
      claims.exp = 1e300;
    });
    const jwt = jwtOptions({ algorithm: 'ES256' });
    const { token } = await mintAccessToken(es256Keys, jwt, events, alice, NOW);
    expect((await verifyAccessToken(token, es256Keys, jwt, NOW)).exp).toBe(253_402_300_799);
  });

  it('follows setSubject, setJti, setNotBefore, issuer, audience and userIdClaim', () => {
    const jwt = jwtOptions({
      setSubject: false,
      setJti: false,
      setNotBefore: true,
      issuer: 'https://auth.example',
      audience: ['api', 'admin'],
      userIdClaim: 'email',
    });
    const claims = buildAccessTokenClaims({ ...alice, identifier: 'alice@example.com' }, jwt, NOW);
    expect(claims).toEqual({
      roles: ['ROLE_USER', 'ROLE_ADMIN'],
      email: 'alice@example.com',
      nbf: NOW_S,
      iss: 'https://auth.example',
      aud: ['api', 'admin'],
      iat: NOW_S,
      exp: NOW_S + 3600,
    });
  });

  it('puts the identifier in sub when userIdClaim is sub', () => {
    const claims = buildAccessTokenClaims(alice, jwtOptions({ userIdClaim: 'sub' }), NOW);
    expect(claims.sub).toBe('alice');
  });
});

describe('signAccessToken', () => {
  it('keeps extra header parameters but never lets them change alg or typ', async () => {
    const jwt = jwtOptions({ algorithm: 'ES256' });
    const token = await signAccessToken(es256Keys, buildAccessTokenClaims(alice, jwt, NOW), { alg: 'none', typ: 'at+jwt', kid: 'k1' });
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', typ: 'JWT', kid: 'k1' });
    await expect(verifyAccessToken(token, es256Keys, jwt, NOW)).resolves.toMatchObject({ username: 'alice' });
  });

  it('refuses a crit or b64 header parameter, which would make the token unverifiable', async () => {
    const claims = { username: 'alice', exp: NOW_S + 60 };
    await expect(signAccessToken(es256Keys, claims, { crit: ['exp'] })).rejects.toThrow(/"crit" or "b64"/);
    await expect(signAccessToken(es256Keys, claims, { b64: false })).rejects.toThrow(/"crit" or "b64"/);
  });

  it('refuses to sign with verify-only keys', async () => {
    const keys = await loadAccessTokenKeys(jwtOptions({ algorithm: 'ES256', publicKey: es256.publicPem }));
    await expectKeyError(signAccessToken(keys, { username: 'alice', exp: NOW_S + 60 }), 'verify');
  });
});

describe('loadAccessTokenKeys', () => {
  it('reads PEM files when secretKey and publicKey are paths', async () => {
    const privatePath = join(tmp, 'private.pem');
    const publicPath = join(tmp, 'public.pem');
    await writeFile(privatePath, rs256.privatePem);
    await writeFile(publicPath, rs256.publicPem);
    const jwt = jwtOptions({ algorithm: 'RS256', secretKey: privatePath, publicKey: publicPath });
    const keys = await loadAccessTokenKeys(jwt);
    const token = await signAccessToken(keys, buildAccessTokenClaims(alice, jwt, NOW));
    await expect(verifyAccessToken(token, keys, jwt, NOW)).resolves.toMatchObject({ username: 'alice' });
  });

  it('refuses a path it cannot read, or a file that holds no PEM, without echoing the value', async () => {
    const missing = join(tmp, 'does-not-exist.pem');
    const error = await expectKeyError(
      loadAccessTokenKeys(jwtOptions({ algorithm: 'ES256', secretKey: missing })),
      'jwt.secretKey',
      'ENOENT',
    );
    expect(error.message).not.toContain(missing);
    const notPem = join(tmp, 'not-pem.txt');
    await writeFile(notPem, 'hello');
    await expectKeyError(loadAccessTokenKeys(jwtOptions({ algorithm: 'ES256', publicKey: notPem })), 'jwt.publicKey', 'no PEM');
  });

  it('opens an encrypted PKCS#8 key with the passphrase, and refuses a wrong or missing one', async () => {
    const { privateKey } = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'correct horse' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    expect(privateKey).toContain('-----BEGIN ENCRYPTED PRIVATE KEY-----');
    const jwt = jwtOptions({ algorithm: 'ES256', secretKey: privateKey, passphrase: 'correct horse' });
    const keys = await loadAccessTokenKeys(jwt);
    const token = await signAccessToken(keys, buildAccessTokenClaims(alice, jwt, NOW));
    await expect(verifyAccessToken(token, keys, jwt, NOW)).resolves.toMatchObject({ username: 'alice' });

    await expectKeyError(loadAccessTokenKeys({ ...jwt, passphrase: 'battery staple' }), 'jwt.passphrase is wrong');
    await expectKeyError(loadAccessTokenKeys({ ...jwt, passphrase: undefined }), 'jwt.passphrase is not set');
  });

  it('derives the public key from the private key when publicKey is absent', async () => {
    expect(es256Keys.signingKey?.type).toBe('private');
    expect(es256Keys.verificationKey.type).toBe('public');
    expect(es256Keys.verificationKey.export({ type: 'spki', format: 'pem' })).toBe(es256.publicPem);
  });

  it('verify-only: a public key alone verifies tokens signed elsewhere', async () => {
    const jwt = jwtOptions({ algorithm: 'ES256', publicKey: es256.publicPem });
    const verifier = await loadAccessTokenKeys(jwt);
    expect(verifier.signingKey).toBeNull();
    const token = await signAccessToken(es256Keys, buildAccessTokenClaims(alice, jwt, NOW));
    await expect(verifyAccessToken(token, verifier, jwt, NOW)).resolves.toMatchObject({ username: 'alice' });
  });

  it('needs a key', async () => {
    await expectKeyError(loadAccessTokenKeys(jwtOptions({ algorithm: 'ES256' })), 'jwt.secretKey or jwt.publicKey');
    await expectKeyError(loadAccessTokenKeys(jwtOptions({ algorithm: 'HS256' })), 'jwt.secretKey', 'HS256');
  });

  it('refuses HMAC secrets shorter than the hash', async () => {
    await expectKeyError(loadAccessTokenKeys(jwtOptions({ algorithm: 'HS256', secretKey: 'x'.repeat(31) })), 'HS256', '32 bytes');
    await expectKeyError(loadAccessTokenKeys(jwtOptions({ algorithm: 'HS384', secretKey: 'x'.repeat(47) })), 'HS384', '48 bytes');
    await expectKeyError(loadAccessTokenKeys(jwtOptions({ algorithm: 'HS512', secretKey: 'x'.repeat(63) })), 'HS512', '64 bytes');
    await expect(loadAccessTokenKeys(jwtOptions({ algorithm: 'HS512', secretKey: 'x'.repeat(64) }))).resolves.toMatchObject({
      algorithm: 'HS512',
    });
    // Bytes, not characters: 11 three-byte characters are 33 bytes.
    await expect(loadAccessTokenKeys(jwtOptions({ algorithm: 'HS256', secretKey: '€'.repeat(11) }))).resolves.toMatchObject({
      algorithm: 'HS256',
    });
  });

  it('refuses an asymmetric key, or a file path, given as an HMAC secret', async () => {
    await expectKeyError(loadAccessTokenKeys(jwtOptions({ algorithm: 'HS256', secretKey: es256.privatePem })), 'HS256', 'EC P-256');
    await expectKeyError(loadAccessTokenKeys(jwtOptions({ algorithm: 'HS256', secretKey: rs256.publicPem })), 'HS256', 'RSA-2048');
    const path = join(tmp, 'hs-secret-path.pem');
    await writeFile(path, es256.privatePem);
    await expectKeyError(loadAccessTokenKeys(jwtOptions({ algorithm: 'HS256', secretKey: path })), 'HS256', 'names a file');
  });

  it.each([
    ['an RSA key for ES256', 'ES256', () => pemPair('rsa', 2048), ['ES256', 'EC P-256', 'RSA-2048']],
    ['a P-384 key for ES256', 'ES256', () => pemPair('ec', 'P-384'), ['ES256', 'EC P-256', 'EC P-384']],
    ['a P-256 key for ES512', 'ES512', () => pemPair('ec', 'P-256'), ['ES512', 'EC P-521', 'EC P-256']],
    ['a secp256k1 key for ES256', 'ES256', () => pemPair('ec', 'secp256k1'), ['ES256', 'secp256k1']],
    ['an EC key for RS256', 'RS256', () => pemPair('ec', 'P-256'), ['RS256', 'an RSA key', 'EC P-256']],
    ['an Ed25519 key for PS256', 'PS256', () => pemPair('ed25519'), ['PS256', 'Ed25519']],
    ['an RSA key for EdDSA', 'EdDSA', () => pemPair('rsa', 2048), ['EdDSA', 'Ed25519', 'RSA-2048']],
    ['an Ed448 key for EdDSA (jose implements Ed25519 only)', 'EdDSA', () => pemPair('ed448'), ['EdDSA', 'Ed448']],
    ['a 1024-bit RSA key for RS256', 'RS256', () => pemPair('rsa', 1024), ['RS256', '2048 bits', 'RSA-1024']],
    ['an RSA-PSS-restricted key for PS256', 'PS256', () => pemPair('rsa-pss', 2048), ['PS256', 'RSA-PSS']],
  ] as const)('refuses %s, naming the algorithm and key type', async (_label, algorithm, makePair, mentions) => {
    const pair = makePair();
    await expectKeyError(loadAccessTokenKeys(jwtOptions({ algorithm, secretKey: pair.privatePem })), 'jwt.secretKey', ...mentions);
    await expectKeyError(loadAccessTokenKeys(jwtOptions({ algorithm, publicKey: pair.publicPem })), 'jwt.publicKey', ...mentions);
  });

  it('refuses a public key of the wrong type next to a fitting private key', async () => {
    await expectKeyError(
      loadAccessTokenKeys(jwtOptions({ algorithm: 'ES256', secretKey: es256.privatePem, publicKey: rs256.publicPem })),
      'jwt.publicKey',
      'RSA-2048',
    );
  });

  it('refuses a private and public key that are not a pair', async () => {
    const other = pemPair('ec', 'P-256');
    await expectKeyError(
      loadAccessTokenKeys(jwtOptions({ algorithm: 'ES256', secretKey: es256.privatePem, publicKey: other.publicPem })),
      'not a key pair',
    );
  });

  it('refuses a private key in publicKey', async () => {
    await expectKeyError(
      loadAccessTokenKeys(jwtOptions({ algorithm: 'ES256', publicKey: es256.privatePem })),
      'jwt.publicKey',
      'private key',
    );
  });

  it('refuses a public key in secretKey', async () => {
    await expectKeyError(
      loadAccessTokenKeys(jwtOptions({ algorithm: 'ES256', secretKey: es256.publicPem })),
      'jwt.secretKey',
      'not a private key',
    );
  });
});

describe('verifyAccessToken', () => {
  const jwt = jwtOptions({ algorithm: 'ES256' });
  const sign = (claims: Record<string, unknown>): Promise<string> => signAccessToken(es256Keys, claims);
  const claimsAt = (now: Date, overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
    ...buildAccessTokenClaims(alice, jwt, now),
    ...overrides,
  });

  it('refuses an unsigned token with alg none', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claimsAt(NOW))}.`;
    await expectInvalid(verifyAccessToken(token, es256Keys, jwt, NOW));
  });

  it('refuses an HS256 token whose HMAC secret is the RSA public key PEM (algorithm confusion)', async () => {
    const rsJwt = jwtOptions({ algorithm: 'RS256' });
    const rsKeys = await loadAccessTokenKeys(jwtOptions({ algorithm: 'RS256', publicKey: rs256.publicPem }));
    const forged = await new SignJWT(buildAccessTokenClaims(alice, rsJwt, NOW))
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .sign(new TextEncoder().encode(rs256.publicPem));
    await expectInvalid(verifyAccessToken(forged, rsKeys, rsJwt, NOW));
  });

  it('refuses a token in another algorithm than the configured one, even with a fitting key type', async () => {
    const es384Jwt = jwtOptions({ algorithm: 'ES384' });
    const es384Keys = await loadAccessTokenKeys(jwtOptions({ algorithm: 'ES384', secretKey: pemPair('ec', 'P-384').privatePem }));
    const token = await signAccessToken(es384Keys, buildAccessTokenClaims(alice, es384Jwt, NOW));
    await expectInvalid(verifyAccessToken(token, es256Keys, jwt, NOW));
  });

  it('refuses another kind of JWT signed with the same key (RFC 8725 §3.11), and accepts one without typ', async () => {
    const signWithHeader = (header: Record<string, unknown>) =>
      new SignJWT(claimsAt(NOW)).setProtectedHeader({ alg: 'ES256', ...header }).sign(es256Keys.signingKey!);
    await expectInvalid(verifyAccessToken(await signWithHeader({ typ: 'secevent+jwt' }), es256Keys, jwt, NOW));
    await expectInvalid(verifyAccessToken(await signWithHeader({ typ: 'at+jwt' }), es256Keys, jwt, NOW));
    expect((await verifyAccessToken(await signWithHeader({}), es256Keys, jwt, NOW)).username).toBe('alice');
    expect((await verifyAccessToken(await signWithHeader({ typ: 'jwt' }), es256Keys, jwt, NOW)).username).toBe('alice');
  });

  it('compares typ as RFC 7515 §4.1.9 says: application/jwt is JWT; a typ that is no string is refused, not a crash', async () => {
    const signWithHeader = (header: Record<string, unknown>) =>
      new SignJWT(claimsAt(NOW)).setProtectedHeader({ alg: 'ES256', ...header } as { alg: string }).sign(es256Keys.signingKey!);
    for (const typ of ['application/jwt', 'APPLICATION/JWT', 'JWT']) {
      expect((await verifyAccessToken(await signWithHeader({ typ }), es256Keys, jwt, NOW)).username).toBe('alice');
    }
    for (const typ of [5, { media: 'JWT' }, ['JWT'], null, true, 'application/at+jwt', 'text/jwt']) {
      await expectInvalid(verifyAccessToken(await signWithHeader({ typ }), es256Keys, jwt, NOW));
    }
  });

  it('refuses an exp past the year 9999, which no store can date; accepts one up to it', async () => {
    await expectInvalid(verifyAccessToken(await sign(claimsAt(NOW, { exp: 1e300 })), es256Keys, jwt, NOW));
    await expectInvalid(verifyAccessToken(await sign(claimsAt(NOW, { exp: 253_402_300_800 })), es256Keys, jwt, NOW));
    expect((await verifyAccessToken(await sign(claimsAt(NOW, { exp: 253_402_300_799 })), es256Keys, jwt, NOW)).exp).toBe(253_402_300_799);
  });

  it('refuses a token signed with another key', async () => {
    const otherKeys = await loadAccessTokenKeys(jwtOptions({ algorithm: 'ES256', secretKey: pemPair('ec', 'P-256').privatePem }));
    const token = await signAccessToken(otherKeys, claimsAt(NOW));
    await expectInvalid(verifyAccessToken(token, es256Keys, jwt, NOW));
  });

  it('refuses an HS256 token signed with another secret', async () => {
    const hsJwt = jwtOptions({ algorithm: 'HS256', secretKey: HS256_SECRET });
    const keys = await loadAccessTokenKeys(hsJwt);
    const other = await loadAccessTokenKeys({ ...hsJwt, secretKey: `${HS256_SECRET}-other` });
    const token = await signAccessToken(other, buildAccessTokenClaims(alice, hsJwt, NOW));
    await expectInvalid(verifyAccessToken(token, keys, hsJwt, NOW));
  });

  it('reports an expired token as expired, and accepts it within clockSkew', async () => {
    const token = await sign(claimsAt(NOW));
    await expect(verifyAccessToken(token, es256Keys, jwt, later(3599))).resolves.toMatchObject({ username: 'alice' });
    await expect(verifyAccessToken(token, es256Keys, jwt, later(3600))).rejects.toBeInstanceOf(JwtExpiredError);
    const lenient = { ...jwt, clockSkew: 30 };
    await expect(verifyAccessToken(token, es256Keys, lenient, later(3629))).resolves.toMatchObject({ username: 'alice' });
    await expect(verifyAccessToken(token, es256Keys, lenient, later(3630))).rejects.toBeInstanceOf(JwtExpiredError);
  });

  it('refuses a token whose nbf is in the future, unless within clockSkew', async () => {
    const token = await sign(claimsAt(NOW, { nbf: NOW_S + 60 }));
    await expectInvalid(verifyAccessToken(token, es256Keys, jwt, NOW));
    await expect(verifyAccessToken(token, es256Keys, { ...jwt, clockSkew: 60 }, NOW)).resolves.toMatchObject({ nbf: NOW_S + 60 });
    await expect(verifyAccessToken(token, es256Keys, jwt, later(60))).resolves.toMatchObject({ username: 'alice' });
  });

  it('refuses a token issued in the future, unless within clockSkew', async () => {
    const token = await sign(claimsAt(later(120)));
    await expectInvalid(verifyAccessToken(token, es256Keys, jwt, NOW));
    await expect(verifyAccessToken(token, es256Keys, { ...jwt, clockSkew: 120 }, NOW)).resolves.toMatchObject({ iat: NOW_S + 120 });
  });

  it('requires the configured iss and aud', async () => {
    const strict = jwtOptions({ algorithm: 'ES256', issuer: 'https://auth.example', audience: 'api' });
    const good = await sign(buildAccessTokenClaims(alice, strict, NOW));
    await expect(verifyAccessToken(good, es256Keys, strict, NOW)).resolves.toMatchObject({ iss: 'https://auth.example', aud: 'api' });
    await expect(verifyAccessToken(good, es256Keys, { ...strict, audience: ['other', 'api'] }, NOW)).resolves.toMatchObject({ aud: 'api' });

    await expectInvalid(verifyAccessToken(good, es256Keys, { ...strict, issuer: 'https://evil.example' }, NOW));
    await expectInvalid(verifyAccessToken(good, es256Keys, { ...strict, audience: 'other' }, NOW));
    const bare = await sign(claimsAt(NOW));
    await expectInvalid(verifyAccessToken(bare, es256Keys, { ...jwt, issuer: 'https://auth.example' }, NOW));
    await expectInvalid(verifyAccessToken(bare, es256Keys, { ...jwt, audience: 'api' }, NOW));
  });

  it('requires the user id claim, as a string', async () => {
    const { username: _dropped, ...withoutUsername } = claimsAt(NOW);
    await expectInvalid(verifyAccessToken(await sign(withoutUsername), es256Keys, jwt, NOW));
    await expectInvalid(verifyAccessToken(await sign(claimsAt(NOW, { username: 42 })), es256Keys, jwt, NOW));
    // Same token, other claim configured.
    await expectInvalid(verifyAccessToken(await sign(claimsAt(NOW)), es256Keys, { ...jwt, userIdClaim: 'email' }, NOW));
  });

  it('requires exp', async () => {
    const { exp: _dropped, ...withoutExp } = claimsAt(NOW);
    await expectInvalid(verifyAccessToken(await sign(withoutExp), es256Keys, jwt, NOW));
  });

  it('refuses a tampered payload or signature', async () => {
    const token = await sign(claimsAt(NOW));
    const [header, , signature] = token.split('.');
    const escalated = `${header}.${b64(claimsAt(NOW, { roles: ['ROLE_SUPER_ADMIN'] }))}.${signature}`;
    await expectInvalid(verifyAccessToken(escalated, es256Keys, jwt, NOW));
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    await expectInvalid(verifyAccessToken(`${token.slice(0, -2)}${last}${token.at(-1)}`, es256Keys, jwt, NOW));
  });

  it('refuses malformed tokens', async () => {
    for (const token of ['', 'abc', 'a.b.c', 'a.b', `${b64({ alg: 'ES256' })}.not-json.sig`, `${b64('x')}.${b64(claimsAt(NOW))}.`]) {
      await expectInvalid(verifyAccessToken(token, es256Keys, jwt, NOW));
    }
  });

  it('refuses tokens longer than 8 KiB before verifying them', async () => {
    const token = await sign(claimsAt(NOW, { padding: 'x'.repeat(8 * 1024) }));
    expect(token.length).toBeGreaterThan(8 * 1024);
    await expectInvalid(verifyAccessToken(token, es256Keys, jwt, NOW));
    const fits = await sign(claimsAt(NOW, { padding: 'x'.repeat(5 * 1024) }));
    expect(fits.length).toBeLessThanOrEqual(8 * 1024);
    await expect(verifyAccessToken(fits, es256Keys, jwt, NOW)).resolves.toMatchObject({ username: 'alice' });
  });

  it('keeps jose’s reason in cause, never the claims', async () => {
    const token = await sign(claimsAt(NOW, { jti: randomUUID() }));
    const error = await verifyAccessToken(token, es256Keys, { ...jwt, audience: 'api' }, NOW).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(JwtInvalidError);
    const cause = (error as JwtInvalidError).cause;
    expect(cause).toBeInstanceOf(Error);
    expect((cause as Error).message).toContain('aud');
    expect(JSON.stringify(Object.entries(cause as Error))).not.toContain('alice');
    expect((error as JwtInvalidError).message).toBe('Invalid JWT Token');
  });
});
