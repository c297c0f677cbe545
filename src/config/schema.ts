import { z } from 'zod';

/**
 * Every option of jwt-refresh, with its default and what it means, in ONE place.
 * Names are camelCase; the config-file loader (`load-config-file.ts`) maps the
 * PHP bundles' snake_case keys onto these.
 */

/** Signature algorithms accepted for access tokens (SPEC §1). `none` is not among them, ever. */
export const SIGNATURE_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;

/** One of {@link SIGNATURE_ALGORITHMS}. */
export type SignatureAlgorithm = (typeof SIGNATURE_ALGORITHMS)[number];

// RFC 6265bis §4.1.1: an attribute value is printable ASCII without ";" (which would start
// another attribute, e.g. a path of "/; Domain=evil.example") and without white space.
const COOKIE_ATTRIBUTE_VALUE = /^[\x21-\x3A\x3C-\x7E]*$/;
const COOKIE_ATTRIBUTE_MESSAGE = 'printable ASCII without ";" or white space';

/** Whether `value` is an origin as browsers serialize it in `Origin`: no path, no trailing slash, lower case, no default port. */
function isSerializedOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/** Claims the library writes itself; an identifier under one of them would break verification or the blocklist. */
const RESERVED_CLAIMS = new Set(['exp', 'iat', 'nbf', 'jti', 'iss', 'aud', 'roles', 'sid', 'auth_time']);

const seconds = z.number().int().nonnegative();
const positiveSeconds = z.number().int().positive();
/** A size in bytes or characters, or a count. */
const positiveInteger = z.number().int().positive();

export const cookieSchema = z
  .object({
    /** Send and read the refresh token as a cookie (bundle: `cookie.enabled`). */
    enabled: z.boolean().default(false),
    /** SameSite attribute (bundle: `cookie.same_site`). */
    sameSite: z.enum(['lax', 'strict', 'none']).default('lax'),
    /** Path attribute (bundle: `cookie.path`). */
    path: z.string().startsWith('/').regex(COOKIE_ATTRIBUTE_VALUE, COOKIE_ATTRIBUTE_MESSAGE).default('/'),
    /** Domain attribute; null leaves it out, so the cookie is host-only (bundle: `cookie.domain`). */
    domain: z.string().min(1).regex(COOKIE_ATTRIBUTE_VALUE, COOKIE_ATTRIBUTE_MESSAGE).nullable().default(null),
    /** HttpOnly attribute (bundle: `cookie.http_only`). */
    httpOnly: z.boolean().default(true),
    /** Secure attribute (bundle: `cookie.secure`). */
    secure: z.boolean().default(true),
    /** Partitioned attribute, CHIPS (bundle: `cookie.partitioned`). */
    partitioned: z.boolean().default(false),
    /**
     * Leave the refresh token out of the JSON body when it is set as a cookie (bundle: `cookie.remove_token_from_body`).
     * `'auto'` decides per request, as SuperTokens' token transfer method does: a request a browser marks
     * (`Sec-Fetch-Site` or `Origin`) gets the token only as the HttpOnly cookie, any other client (curl, a
     * mobile app, a bundle client) in the body too. The standalone server's default.
     */
    removeTokenFromBody: z.union([z.boolean(), z.literal('auto')]).default(true),
    /**
     * Cookie name prefix (RFC 6265bis §4.1.3): `__Host-` (requires `secure`, `path: '/'`, no `domain`)
     * or `__Secure-` (requires `secure`); browsers enforce them, so we refuse a config that breaks them.
     */
    prefix: z.enum(['', '__Host-', '__Secure-']).default(''),
    /**
     * Origins (`scheme://host[:port]`) whose browser requests the cross-origin check lets through on the
     * routes that set or clear the cookie, as Go's `CrossOriginProtection.AddTrustedOrigin` (docs/csrf.md).
     */
    trustedOrigins: z
      .array(z.string().refine(isSerializedOrigin, 'an origin such as "https://app.example.com": scheme, host and port only'))
      .default([]),
    /**
     * Opt-in extra to the Fetch Metadata check: a header the routes that set or clear the cookie require
     * (any non-empty value). A cross-site form cannot set a custom header, and a cross-origin fetch that
     * sets one needs a CORS preflight. Null (the default) asks for none, so non-browser clients need nothing.
     */
    csrfHeader: z.string().min(1).nullable().default(null),
  })
  .strict()
  .superRefine((cookie, context) => {
    if (cookie.prefix !== '' && !cookie.secure) {
      context.addIssue({ code: 'custom', path: ['secure'], message: `must be true with the ${cookie.prefix} prefix` });
    }
    if (cookie.prefix === '__Host-' && cookie.path !== '/') {
      context.addIssue({ code: 'custom', path: ['path'], message: 'must be "/" with the __Host- prefix' });
    }
    if (cookie.prefix === '__Host-' && cookie.domain !== null) {
      context.addIssue({ code: 'custom', path: ['domain'], message: 'must be null with the __Host- prefix' });
    }
    if (cookie.partitioned && !cookie.secure) {
      context.addIssue({
        code: 'custom',
        path: ['partitioned'],
        message: 'requires secure: true (browsers drop a Partitioned cookie otherwise)',
      });
    }
    if (cookie.sameSite === 'none' && !cookie.secure) {
      context.addIssue({
        code: 'custom',
        path: ['sameSite'],
        message: '"none" requires secure: true (browsers drop the cookie otherwise)',
      });
    }
  });

export const jwtSchema = z
  .object({
    /** Signature algorithm (lexik: `signature_algorithm`). Verification accepts this algorithm only. */
    algorithm: z.enum(SIGNATURE_ALGORITHMS).default('ES256'),
    /**
     * Signing key: a PEM string or a path to a PEM file for asymmetric algorithms,
     * the shared secret for HS* (lexik: `secret_key`). Optional when only verifying.
     */
    secretKey: z.string().min(1).optional(),
    /** Verification key, PEM string or path (lexik: `public_key`). Derived from `secretKey` when absent. */
    publicKey: z.string().min(1).optional(),
    /** Passphrase of an encrypted private key (lexik: `pass_phrase`). */
    passphrase: z.string().optional(),
    /** Access-token lifetime in seconds (lexik: `token_ttl`). */
    tokenTtl: positiveSeconds.default(3600),
    /** Leeway in seconds for `exp`, `nbf` and `iat` (lexik: `clock_skew`). */
    clockSkew: seconds.default(0),
    /** Claim that carries the user identifier (lexik: `user_id_claim`). */
    userIdClaim: z
      .string()
      .min(1)
      .refine(
        (name) => !RESERVED_CLAIMS.has(name),
        'must not be a claim the library sets itself (exp, iat, nbf, jti, iss, aud, roles, sid, auth_time)',
      )
      .default('username'),
    /** `iss` to set and require, when given. */
    issuer: z.string().min(1).optional(),
    /** `aud` to set and require, when given. */
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    /** Put the user's stable id in `sub`. */
    setSubject: z.boolean().default(true),
    /** `kid` header of the signing key; set it to rotate keys (old ones go in `verificationKeys`). */
    kid: z.string().min(1).optional(),
    /**
     * Older keys that still verify (newest signs, all verify): each with its `kid` and its
     * public key as PEM or path (the shared secret for HS*). Tokens whose `kid` names none of
     * these nor `kid` are refused. A key without `kid` (lexik: `additional_public_keys`) is tried,
     * in order, on a token without a `kid` (or with the current one) that the current key does not verify.
     */
    verificationKeys: z.array(z.object({ kid: z.string().min(1).optional(), key: z.string().min(1) }).strict()).default([]),
    /** Give every access token a random `jti` (needed by the logout blocklist). */
    setJti: z.boolean().default(true),
    /** Set `nbf` to the issue time. */
    setNotBefore: z.boolean().default(false),
  })
  .strict();

export const routesSchema = z
  .object({
    /** Login path (the bundle's `check_path` of json_login). */
    login: z.string().startsWith('/').default('/api/login_check'),
    /** Refresh path (the bundle's `api_refresh_token` route). */
    refresh: z.string().startsWith('/').default('/api/token/refresh'),
    /** Logout path (the bundle's `api_token_invalidate` route). */
    invalidate: z.string().startsWith('/').default('/api/token/invalidate'),
    /** RFC 7009 revocation of a refresh or access token (SPEC §5), beside the bundle's routes; null turns it off. */
    revoke: z.string().startsWith('/').nullable().default('/api/token/revoke'),
    /** Sessions of the caller (GET lists; `/revoke`, `/revoke-others`, `/revoke-all` below it). Null turns them off. */
    sessions: z.string().startsWith('/').nullable().default('/api/sessions'),
    /** Access-token renewal (SPEC §3b), served only with `accessTokenRenewal`. */
    renew: z.string().startsWith('/').default('/api/token/renew'),
    /** The public keys as a JWK Set; null turns it off. Never serves HMAC secrets. */
    jwks: z.string().startsWith('/').nullable().default('/.well-known/jwks.json'),
    /** The OpenAPI document of these routes; null turns it off. */
    openapi: z.string().startsWith('/').nullable().default('/api/openapi.json'),
    /** RFC 6749 token endpoint (grant_type=refresh_token), served only with `oauthEndpoints`. */
    oauthToken: z.string().startsWith('/').default('/oauth/token'),
    /** RFC 7009 revocation endpoint, served only with `oauthEndpoints`. */
    oauthRevoke: z.string().startsWith('/').default('/oauth/revoke'),
  })
  .strict();

export const loginSchema = z
  .object({
    /** JSON field holding the user identifier (json_login `username_path`). */
    usernameField: z.string().min(1).default('username'),
    /** JSON field holding the password (json_login `password_path`). */
    passwordField: z.string().min(1).default('password'),
  })
  .strict();

export const rateLimitSchema = z
  .object({
    /** Count requests per client IP (and per token family on refresh) in the store; 429 past the limits. */
    enabled: z.boolean().default(false),
    /** Length of the fixed counting window, seconds. */
    windowSeconds: positiveSeconds.default(60),
    /** Login attempts per client IP per window. */
    login: positiveInteger.default(10),
    /** Refresh requests per client IP per window. */
    refresh: positiveInteger.default(60),
    /** Refreshes per token family per window (a stolen token hammered from many IPs). */
    family: positiveInteger.default(30),
    /** Logout / revocation requests per client IP per window. */
    revoke: positiveInteger.default(30),
  })
  .strict();

/**
 * Password hashing and the bound on login's password checks (docs/passwords.md).
 * Hashes of every format jwt-refresh reads verify whatever `algorithm` says (its
 * `$scrypt$`, Symfony's bcrypt `$2y$` and Argon2 PHC strings) and are rehashed
 * with `algorithm` at the next successful login (Symfony's `migrate_from`).
 */
export const passwordHashingSchema = z
  .object({
    /** Algorithm of new hashes and of the rehash at login. `argon2id` needs the optional `argon2` package. */
    algorithm: z.enum(['scrypt', 'argon2id', 'bcrypt']).default('scrypt'),
    /** scrypt: cost N (a power of two), block size r, parallelization p. Default N=2^15, r=8, p=1 (OWASP). */
    scrypt: z
      .object({ cost: positiveInteger.default(32_768), blockSize: positiveInteger.default(8), parallelization: positiveInteger.default(1) })
      .strict()
      .prefault({}),
    /** Argon2id: memory in KiB (m), passes (t), lanes (p). Default PHP's and Symfony's: m=65536, t=4, p=1. */
    argon2: z
      .object({
        memoryCost: positiveInteger.default(65_536),
        timeCost: positiveInteger.default(4),
        parallelism: positiveInteger.default(1),
      })
      .strict()
      .prefault({}),
    /** bcrypt: cost (log2 of the rounds). Default 13, Symfony's. */
    bcrypt: z
      .object({ cost: z.int().min(4).max(16).default(13) })
      .strict()
      .prefault({}),
    /**
     * Password checks (logins) running at once in this process. Default: CPU cores − 1, at most
     * `UV_THREADPOOL_SIZE` − 2 (at least 1), so hashing never holds every libuv thread and token
     * signing, on the same pool, always finds one. Set it when several processes share the cores.
     */
    concurrency: positiveInteger.optional(),
    /** Logins waiting for a check slot; the next one is refused with 429 and `Retry-After`. 0: none wait. */
    maxQueued: z.int().nonnegative().default(32),
    /** `Retry-After` of that refusal, in seconds. */
    retryAfterSeconds: positiveSeconds.default(1),
  })
  .strict();

/** One place protected routes look for the access token; see `accessTokenExtractors`. */
export const accessTokenExtractorSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('header'),
      /** Header name, any case (lexik: `authorization_header.name`). */
      name: z
        .string()
        .regex(/^[!#$%&'*+.^`|~\w-]+$/, 'an HTTP header name')
        .default('Authorization'),
      /** Scheme before the token, compared without case; '' takes the whole value (lexik: `authorization_header.prefix`). */
      prefix: z
        .string()
        .regex(/^[!#$%&'*+.^`|~\w-]*$/, 'a word without spaces, or ""')
        .default('Bearer'),
    })
    .strict(),
  z
    .object({
      type: z.literal('query'),
      /** Query parameter (lexik: `query_parameter.name`). */
      name: z.string().min(1).default('bearer'),
    })
    .strict(),
  z
    .object({
      type: z.literal('cookie'),
      /** Cookie name (lexik: `cookie.name`). */
      name: z.string().min(1).regex(COOKIE_ATTRIBUTE_VALUE, COOKIE_ATTRIBUTE_MESSAGE).default('BEARER'),
    })
    .strict(),
  z
    .object({
      type: z.literal('splitCookie'),
      /** Cookies holding the token's parts, in order (lexik: `split_cookie.cookies`). */
      names: z.array(z.string().min(1).regex(COOKIE_ATTRIBUTE_VALUE, COOKIE_ATTRIBUTE_MESSAGE)).min(1),
    })
    .strict(),
]);

/** One entry of `accessTokenExtractors`, defaults applied. */
export type AccessTokenExtractor = z.output<typeof accessTokenExtractorSchema>;

export const configSchema = z
  .object({
    /** Refresh-token lifetime in seconds (bundle: `ttl`). */
    ttl: positiveSeconds.default(2_592_000),
    /** On refresh, push the token's validity to now + `ttl`, capped by `maxSessionLifetime` (bundle: `ttl_update`). */
    ttlUpdate: z.boolean().default(false),
    /** Request and response field, and cookie name, of the refresh token (bundle: `token_parameter_name`). */
    tokenParameterName: z
      .string()
      .min(1)
      .regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, "_", "-" or "." only')
      .default('refresh_token'),
    /** Add the refresh token's expiry (unix seconds) to token responses (bundle: `return_expiration`). */
    returnExpiration: z.boolean().default(false),
    /** Body key of that expiry (bundle: `return_expiration_parameter_name`). */
    returnExpirationParameterName: z.string().min(1).default('refresh_token_expiration'),
    /** Rotate the refresh token on every use (bundle: `single_use`, false there; true here). */
    singleUse: z.boolean().default(true),
    /**
     * Seconds after a rotation during which the rotated token, presented again,
     * yields the same successor instead of counting as reuse (RFC 9700 §4.14.2 leaves room for this).
     * 0 turns the window off.
     */
    reuseGraceSeconds: seconds.default(10),
    /** Absolute lifetime of a token family in seconds, from login; neither rotation nor `ttlUpdate` passes it. Off when absent. */
    maxSessionLifetime: positiveSeconds.optional(),
    /**
     * Most live families (signed-in devices) per user (bundle: `max_tokens_per_user`): a login beyond
     * it revokes the families that have gone longest without a refresh. Off when absent.
     */
    maxTokensPerUser: positiveInteger.optional(),
    /** Secret for HMAC-SHA-256 of stored tokens. Without it tokens are stored as SHA-256. Never stored. */
    pepper: z.string().min(16).optional(),
    /**
     * With a `pepper`: a token not found by its HMAC is looked up once more by its
     * marked SHA-256 (`sha256$<hex>`), the form of the gesdinet bundle's hashed rows
     * that `jwt-refresh import-gesdinet` keeps. Off: no second lookup. Without a pepper it changes nothing.
     */
    legacySha256Tokens: z.boolean().default(false),
    /**
     * Server secret from which a rotated token's successor is derived, so a retried
     * refresh inside the grace window gets the same successor on every instance.
     * Instances that share a store must share it. A random one is made per process when absent.
     */
    secret: z.string().min(16).optional(),
    /** Rows `jwt-refresh clear` deletes per statement when `--batch-size` is not given (bundle: `default_invalid_batch_size`). */
    clearBatchSize: positiveInteger.max(100_000).default(1000),
    /**
     * Where protected routes read the access token, tried in order, the first found wins (lexik:
     * `token_extractors`): a `header` (`prefix` '' takes the whole value), a `query` parameter,
     * a `cookie`, or a `splitCookie` (the token's parts in several cookies, joined with "."). A token in a
     * cookie is sent by the browser on cross-site requests too, and one in the query string ends up in logs:
     * keep the header first and add those only for clients that need them.
     */
    accessTokenExtractors: z
      .array(accessTokenExtractorSchema)
      .min(1)
      .default([{ type: 'header', name: 'Authorization', prefix: 'Bearer' }]),
    /** Largest accepted request body in bytes. */
    maxBodyBytes: positiveInteger.default(16_384),
    /** Largest session metadata (`issueSession`'s `metadata`), in bytes of JSON. */
    maxSessionMetadataBytes: positiveInteger.default(1024),
    /** Longest accepted refresh token value; longer ones are treated as absent. */
    maxTokenLength: positiveInteger.default(512),
    /** Accept the refresh token from the query string too, as the bundle does. Off: tokens in URLs end up in logs. */
    bundleCompat: z.boolean().default(false),
    /**
     * Take the client IP from `X-Forwarded-For`, as appended by reverse proxies you run:
     * `true` trusts one proxy (the last entry), a number N trusts a chain of N (a CDN in
     * front of a load balancer is 2: the N-th entry from the right). Off: the socket address.
     */
    trustProxy: z.union([z.boolean(), z.int().min(1).max(32)]).default(false),
    rateLimit: rateLimitSchema.prefault({}),
    passwordHashing: passwordHashingSchema.prefault({}),
    /** Serve `POST routes.renew`: a valid access token in, a fresh one out (SPEC §3b). Off as in the seeds' blog post. */
    accessTokenRenewal: z.boolean().default(false),
    /**
     * Protected routes load the token's user through the user provider (by `sub`,
     * else the `userIdClaim`) and run the user checker, so a deleted or disabled
     * user is refused at once and `requireRole` sees the user's current roles. Off
     * (SPEC §1): the user is built from the claims alone, with no store or provider hit.
     */
    loadUser: z.boolean().default(false),
    /** Serve the RFC 6749 §6 token endpoint and the RFC 7009 revocation endpoint. */
    oauthEndpoints: z.boolean().default(false),
    cookie: cookieSchema.prefault({}),
    jwt: jwtSchema.prefault({}),
    routes: routesSchema.prefault({}),
    login: loginSchema.prefault({}),
  })
  .strict();

/** The options as a user writes them: every field optional. */
export type JwtRefreshConfigInput = z.input<typeof configSchema>;
/** The options after defaults are applied. */
export type JwtRefreshConfig = z.output<typeof configSchema>;
