import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/parse-config.js';
import { ConfigError } from '../src/errors.js';

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig defaults', () => {
  it('applies every default of the schema to an empty input', () => {
    expect(parseConfig({})).toEqual({
      // The bundle's defaults, unchanged.
      ttl: 2_592_000,
      ttlUpdate: false,
      tokenParameterName: 'refresh_token',
      returnExpiration: false,
      returnExpirationParameterName: 'refresh_token_expiration',
      // Ours, secure where the bundle's are not.
      singleUse: true,
      reuseGraceSeconds: 10,
      maxBodyBytes: 16_384,
      maxSessionMetadataBytes: 1024,
      maxTokenLength: 512,
      bundleCompat: false,
      trustProxy: false,
      accessTokenRenewal: false,
      loadUser: false,
      oauthEndpoints: false,
      clearBatchSize: 1000,
      legacySha256Tokens: false,
      accessTokenExtractors: [{ type: 'header', name: 'Authorization', prefix: 'Bearer' }],
      rateLimit: { enabled: false, windowSeconds: 60, login: 10, refresh: 60, family: 30, revoke: 30 },
      passwordHashing: {
        algorithm: 'scrypt',
        scrypt: { cost: 32_768, blockSize: 8, parallelization: 1 },
        argon2: { memoryCost: 65_536, timeCost: 4, parallelism: 1 },
        bcrypt: { cost: 13 },
        maxQueued: 32,
        retryAfterSeconds: 1,
      },
      cookie: {
        enabled: false,
        sameSite: 'lax',
        path: '/',
        domain: null,
        httpOnly: true,
        secure: true,
        partitioned: false,
        removeTokenFromBody: true,
        prefix: '',
        trustedOrigins: [],
        csrfHeader: null,
      },
      jwt: {
        algorithm: 'ES256',
        tokenTtl: 3600,
        clockSkew: 0,
        userIdClaim: 'username',
        setSubject: true,
        setJti: true,
        setNotBefore: false,
        verificationKeys: [],
      },
      routes: {
        login: '/api/login_check',
        refresh: '/api/token/refresh',
        invalidate: '/api/token/invalidate',
        revoke: '/api/token/revoke',
        sessions: '/api/sessions',
        renew: '/api/token/renew',
        jwks: '/.well-known/jwks.json',
        openapi: '/api/openapi.json',
        oauthToken: '/oauth/token',
        oauthRevoke: '/oauth/revoke',
      },
      login: { usernameField: 'username', passwordField: 'password' },
    });
  });

  it('treats a missing input like an empty one', () => {
    expect(parseConfig()).toEqual(parseConfig({}));
  });

  it('leaves optional options without a default absent', () => {
    const config = parseConfig({});
    for (const key of ['maxSessionLifetime', 'maxTokensPerUser', 'pepper', 'secret'] as const) {
      expect(config).not.toHaveProperty(key);
    }
    for (const key of ['secretKey', 'publicKey', 'passphrase', 'issuer', 'audience'] as const) {
      expect(config.jwt).not.toHaveProperty(key);
    }
  });

  it('fills the defaults of a section that is only partly given', () => {
    const config = parseConfig({ cookie: { enabled: true }, jwt: { tokenTtl: 900 } });
    expect(config.cookie).toMatchObject({ enabled: true, sameSite: 'lax', httpOnly: true, secure: true });
    expect(config.jwt).toMatchObject({ tokenTtl: 900, clockSkew: 0, algorithm: 'ES256' });
  });
});

describe('parseConfig errors', () => {
  it('names a top-level option', () => {
    const error = configErrorOf(() => parseConfig({ ttl: -1 }));
    expect(error.code).toBe('ERR_CONFIG_INVALID');
    expect(error.message).toMatch(/\bttl\b/);
  });

  it('names a nested option by its dotted path', () => {
    // @ts-expect-error: an invalid value is the point of the test
    const error = configErrorOf(() => parseConfig({ cookie: { sameSite: 'bogus' } }));
    expect(error.message).toContain('cookie.sameSite');
  });

  it('names an unknown key', () => {
    // @ts-expect-error: an unknown key is the point of the test
    const error = configErrorOf(() => parseConfig({ ttl_update: true }));
    expect(error.message).toContain('ttl_update: unknown option, did you mean ttlUpdate?');
  });

  it('suggests the option a mistyped key was meant to be, among the keys of its own level', () => {
    // Unknown keys are the point of the test, hence the cast.
    const input = {
      ttlUpdte: true,
      jwt: { algoritm: 'HS256', verificationKeys: [{ kid: 'old', kye: 'secret' }] },
      cookie: { same_site: 'lax' },
      rateLimit: { windowSecs: 5 },
    } as never;
    const error = configErrorOf(() => parseConfig(input));
    expect(error.message).toContain('ttlUpdte: unknown option, did you mean ttlUpdate?');
    expect(error.message).toContain('jwt.algoritm: unknown option, did you mean algorithm?');
    expect(error.message).toContain('jwt.verificationKeys.0.kye: unknown option, did you mean key?');
    expect(error.message).toContain('cookie.same_site: unknown option, did you mean sameSite?');
    expect(error.message).toContain('rateLimit.windowSecs: unknown option, did you mean windowSeconds?');
    // Every problem is reported, not only the first: the missing `key` too.
    expect(error.message).toContain('jwt.verificationKeys.0.key:');
  });

  it('suggests nothing for a key that resembles no option', () => {
    // @ts-expect-error: an unknown key is the point of the test
    const error = configErrorOf(() => parseConfig({ frobnicate: 1 }));
    expect(error.message).toContain('frobnicate: unknown option');
    expect(error.message).not.toContain('did you mean');
  });

  it('names an unknown key inside a section', () => {
    // @ts-expect-error: an unknown key is the point of the test
    const error = configErrorOf(() => parseConfig({ jwt: { signatureAlgorithm: 'RS256' } }));
    expect(error.message).toContain('signatureAlgorithm');
  });

  it('names every bad option at once', () => {
    const error = configErrorOf(() => parseConfig({ ttl: 0, jwt: { clockSkew: -5 }, pepper: 'short' }));
    expect(error.message).toContain('ttl');
    expect(error.message).toContain('jwt.clockSkew');
    expect(error.message).toContain('pepper');
  });

  it('refuses the none algorithm', () => {
    // @ts-expect-error: `none` is not a SignatureAlgorithm
    const error = configErrorOf(() => parseConfig({ jwt: { algorithm: 'none' } }));
    expect(error.message).toContain('jwt.algorithm');
  });
});

describe('cookie prefix rules (RFC 6265bis §4.1.3), enforced at start', () => {
  it.each([
    [{ prefix: '__Host-' as const, secure: false }, 'cookie.secure'],
    [{ prefix: '__Host-' as const, path: '/api' }, 'cookie.path'],
    [{ prefix: '__Host-' as const, domain: 'example.com' }, 'cookie.domain'],
    [{ prefix: '__Secure-' as const, secure: false }, 'cookie.secure'],
    [{ sameSite: 'none' as const, secure: false }, 'cookie.sameSite'],
  ])('refuses %o naming %s', (cookie, path) => {
    expect(configErrorOf(() => parseConfig({ cookie })).message).toContain(path);
  });

  it('accepts a __Host- cookie that follows the rules, and a __Secure- one with a path and domain', () => {
    expect(parseConfig({ cookie: { prefix: '__Host-' } }).cookie.prefix).toBe('__Host-');
    expect(parseConfig({ cookie: { prefix: '__Secure-', path: '/api', domain: 'example.com' } }).cookie.domain).toBe('example.com');
  });

  it.each([
    ['a Partitioned cookie without Secure', { partitioned: true, secure: false }, 'cookie.partitioned'],
    ['a path that would add an attribute', { path: '/; Domain=evil.example' }, 'cookie.path'],
    ['a domain with white space', { domain: 'example.com; Secure' }, 'cookie.domain'],
    ['a trusted origin with a path', { trustedOrigins: ['https://app.example/'] }, 'cookie.trustedOrigins.0'],
    ['a trusted origin that is a host name', { trustedOrigins: ['https://ok.example', 'app.example'] }, 'cookie.trustedOrigins.1'],
  ])('refuses %s, naming the option', (_name, cookie, path) => {
    expect(() => parseConfig({ cookie: { enabled: true, ...cookie } })).toThrow(path);
  });

  it('refuses a userIdClaim the library sets itself', () => {
    expect(configErrorOf(() => parseConfig({ jwt: { userIdClaim: 'exp' } })).message).toContain('jwt.userIdClaim');
  });
});
