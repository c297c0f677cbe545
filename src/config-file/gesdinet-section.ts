import { z } from 'zod';
import { configSchema, cookieSchema, jwtSchema } from '../config/schema.js';
import { GESDINET, GESDINET_BUNDLE, GESDINET_DEFAULT_TTL, IDENTITY_HINT, SINCE, STORE_HINT, TABLE_HINT } from './bundle-keys.js';
import { ignore, type KeySpec, readKeys, readValue, refuse, sectionMapping, toggleNode, whenTrue } from './read-option.js';
import type { Context, Mapping, Target } from './reading-context.js';

/**
 * Reads the `gesdinet_jwt_refresh_token` section: every key of the bundle's
 * 1.x, 2.x and 3.0 trees is mapped onto our options with the bundle's
 * meaning, accepted with a warning where its job is done otherwise here, or
 * refused with the version that has it and what to do instead.
 */
export function readGesdinet(ctx: Context, section: Mapping): void {
  readKeys(ctx, section, GESDINET, GESDINET_KEYS, GESDINET_BUNDLE);
  if (section.single_use_ttl_update !== undefined) capChainAtTtl(ctx, section.single_use_ttl_update);
  // The bundle's defaults, where ours differ (SPEC §0): no rotation, and the
  // token is read from the query string too.
  ctx.defaults.push({ target: ['singleUse'], value: false, source: `${GESDINET} (bundle default)` });
  ctx.defaults.push({ target: ['bundleCompat'], value: true, source: `${GESDINET} (bundle default)` });
  // Written out although it equals the library's default: the standalone server turns cookie
  // mode on when a config says nothing, and a pasted section without `cookie` must stay off.
  // A `cookie` node that enables it pushed its own default first, and the first one wins.
  ctx.defaults.push({ target: ['cookie', 'enabled'], value: false, source: `${GESDINET}.cookie (bundle default)` });
}

const option = (since: string, to: string[], schema: z.ZodType, extra: Partial<Target> = {}): KeySpec => ({
  since,
  target: { to, schema, ...extra },
});

const integerOrNull = (since: string, to: string[], schema: z.ZodType): KeySpec => ({
  since,
  target: { to, schema, integer: true, nullMeansUnset: true },
});

/** Each key of the section; its `cookie` and the 2.2/3.0 nodes have readers of their own. */
const GESDINET_KEYS = new Map<string, KeySpec>([
  ['ttl', { since: SINCE.gesdinet1to3, target: { to: ['ttl'], schema: configSchema.shape.ttl, integer: true } }],
  ['ttl_update', option(SINCE.gesdinet1to3, ['ttlUpdate'], configSchema.shape.ttlUpdate)],
  ['token_parameter_name', option(SINCE.gesdinet1to3, ['tokenParameterName'], configSchema.shape.tokenParameterName)],
  ['return_expiration', option(SINCE.gesdinet1to3, ['returnExpiration'], configSchema.shape.returnExpiration)],
  [
    'return_expiration_parameter_name',
    option(SINCE.gesdinet1to3, ['returnExpirationParameterName'], configSchema.shape.returnExpirationParameterName),
  ],
  ['single_use', option(SINCE.gesdinet1to3, ['singleUse'], configSchema.shape.singleUse)],
  ['cookie', { since: SINCE.gesdinet1to3, read: readCookie }],
  // 2.2
  ['max_tokens_per_user', integerOrNull(SINCE.gesdinet22, ['maxTokensPerUser'], configSchema.shape.maxTokensPerUser)],
  // Read after the other keys (capChainAtTtl), since it needs ttl and single_use.
  ['single_use_ttl_update', { since: SINCE.gesdinet22, read: () => undefined }],
  ['hash_tokens', { since: SINCE.gesdinet22, read: readHashTokens }],
  ['api_platform', { since: SINCE.gesdinet22, ignored: 'the OpenAPI document of the routes is served at routes.openapi' }],
  ['refresh_token_manager', { since: SINCE.gesdinet22, ignored: `${STORE_HINT} (any RefreshTokenStore)` }],
  ['dbal_connection', { since: SINCE.gesdinet22, ignored: STORE_HINT }],
  ['dbal_table_name', { since: SINCE.gesdinet22, ignored: `${TABLE_HINT}; give the bundle's to jwt-refresh import-gesdinet --table` }],
  [
    'dbal_auto_create_table',
    { since: SINCE.gesdinet22, ignored: 'jwt-refresh migrate creates the table; the server never runs DDL while serving' },
  ],
  [
    'dbal_columns',
    { since: SINCE.gesdinet22, ignored: `${TABLE_HINT}; give the bundle's column names to jwt-refresh import-gesdinet --columns` },
  ],
  ['default_invalid_batch_size', integerOrNull(SINCE.gesdinet2, ['clearBatchSize'], configSchema.shape.clearBatchSize)],
  // 3.0
  ['max_session_lifetime', integerOrNull(SINCE.gesdinet30, ['maxSessionLifetime'], configSchema.shape.maxSessionLifetime)],
  // A refresh blocking the access token it replaces is not something we do.
  [
    'block_previous_jwt',
    {
      since: SINCE.gesdinet30,
      refused: {
        when: whenTrue,
        problem: 'is not supported: a refresh leaves the access token the client held valid until it expires',
        instead:
          'keep jwt.tokenTtl short, or end the session (routes.invalidate), which refuses its access tokens at once; then remove the key',
      },
    },
  ],
  ['block_jwts_on_revocation', { since: SINCE.gesdinet30, read: readBlockJwtsOnRevocation }],
  ['rate_limiter', { since: SINCE.gesdinet30, read: readRateLimiter }],
  ['reuse_detection', { since: SINCE.gesdinet30, read: readReuseDetection }],
  ['cache_pool', { since: SINCE.gesdinet30, ignored: `${STORE_HINT} (the Redis store expires tokens by itself)` }],
  // Every version.
  ['manager_type', { since: SINCE.gesdinet1to3, ignored: STORE_HINT }],
  ['object_manager', { since: SINCE.gesdinet1to3, ignored: STORE_HINT }],
  ['refresh_token_class', { since: SINCE.gesdinet1to3, ignored: TABLE_HINT }],
  // 1.x only, deprecated there.
  ['firewall', { since: SINCE.gesdinet1, ignored: 'there are no firewalls; set the endpoint paths with routes' }],
  ['user_provider', { since: SINCE.gesdinet1, ignored: 'pass a UserProvider in code' }],
  ['user_checker', { since: SINCE.gesdinet1, ignored: 'pass a UserChecker in code' }],
  ['logout_firewall', { since: SINCE.gesdinet1, ignored: 'logout is served at routes.invalidate' }],
  ['doctrine_mappings', { since: SINCE.gesdinet1, ignored: 'there is no Doctrine' }],
  ['user_identity_field', { since: SINCE.gesdinet1, ignored: IDENTITY_HINT }],
  // 0.x names of refresh_token_class and object_manager, still read by 1.x.
  ['refresh_token_entity', { since: SINCE.gesdinet1, ignored: TABLE_HINT }],
  ['entity_manager', { since: SINCE.gesdinet1, ignored: STORE_HINT }],
]);

const COOKIE_KEYS = new Map<string, KeySpec>([
  ['enabled', option(SINCE.gesdinet1to3, ['cookie', 'enabled'], cookieSchema.shape.enabled)],
  [
    'same_site',
    option(SINCE.gesdinet1to3, ['cookie', 'sameSite'], cookieSchema.shape.sameSite, {
      // 3.0 matches it without regard to case, as Symfony's Cookie does (`STRICT`, `Lax`).
      transform: (value: unknown) => (typeof value === 'string' ? value.toLowerCase() : value),
    }),
  ],
  ['path', option(SINCE.gesdinet1to3, ['cookie', 'path'], cookieSchema.shape.path)],
  ['domain', option(SINCE.gesdinet1to3, ['cookie', 'domain'], cookieSchema.shape.domain)],
  ['http_only', option(SINCE.gesdinet1to3, ['cookie', 'httpOnly'], cookieSchema.shape.httpOnly)],
  ['secure', option(SINCE.gesdinet1to3, ['cookie', 'secure'], cookieSchema.shape.secure)],
  ['partitioned', option(SINCE.gesdinet1to3, ['cookie', 'partitioned'], cookieSchema.shape.partitioned)],
  ['remove_token_from_body', option(SINCE.gesdinet1to3, ['cookie', 'removeTokenFromBody'], cookieSchema.shape.removeTokenFromBody)],
]);

/** The bundle's `cookie` node is Symfony's `canBeEnabled()`: `true`, `~` or a mapping without `enabled` turn it on. */
function readCookie(ctx: Context, value: unknown, source: string): void {
  const enabledSource = `${source}.enabled`;
  if (typeof value === 'boolean') {
    ctx.explicit.push({ target: ['cookie', 'enabled'], value, source: enabledSource });
    return;
  }
  const cookie = { ...sectionMapping(ctx, value, source) };
  // 3.0 takes an empty same_site (or ~) to leave the attribute off the cookie; browsers then differ.
  if (cookie.same_site === '' || cookie.same_site === null) {
    refuse(
      ctx,
      `${source}.same_site`,
      SINCE.gesdinet30,
      'empty (no SameSite attribute) is not supported, since browsers disagree on what a cookie without it means',
      'write lax, strict or none',
    );
    delete cookie.same_site;
  }
  readKeys(ctx, cookie, source, COOKIE_KEYS, GESDINET_BUNDLE);
  if (!('enabled' in cookie)) ctx.defaults.push({ target: ['cookie', 'enabled'], value: true, source: enabledSource });
}

/**
 * `single_use_ttl_update: false` (2.2+): a rotated token's successor expires when the token
 * it replaced would have, so a chain of refreshes ends `ttl` after the login. That is our
 * `maxSessionLifetime` equal to `ttl` (the smaller of the two with `max_session_lifetime`).
 * Without `single_use` there is no successor, and the key does nothing, as in the bundle.
 */
function capChainAtTtl(ctx: Context, raw: unknown): void {
  const source = `${GESDINET}.single_use_ttl_update`;
  const updates = readValue(ctx, raw, source, z.boolean());
  if (updates !== false) return;
  const fromSection = (target: string) =>
    ctx.explicit.find((assignment) => assignment.source.startsWith(`${GESDINET}.`) && assignment.target.join('.') === target);
  if (fromSection('singleUse')?.value !== true) return;
  const ttl = (fromSection('ttl')?.value as number | undefined) ?? GESDINET_DEFAULT_TTL;
  const lifetime = fromSection('maxSessionLifetime');
  if (lifetime === undefined) {
    ctx.explicit.push({ target: ['maxSessionLifetime'], value: ttl, source });
  } else {
    lifetime.value = Math.min(ttl, lifetime.value as number);
    lifetime.source = `${lifetime.source} and ${source}`;
  }
}

/**
 * `hash_tokens` (2.2+): the bundle stores `sha256$<hex>` when asked; we always store hashes.
 * Enabled, the bundle's hashed rows are in the table: with a pepper, those that
 * `jwt-refresh import-gesdinet` copied keep their mark and need `legacySha256Tokens`.
 */
function readHashTokens(ctx: Context, value: unknown, source: string): void {
  const node = toggleNode(ctx, value, source);
  if (node === null) return;
  if (node.enabled) ctx.explicit.push({ target: ['legacySha256Tokens'], value: true, source: `${source}.enabled` });
  if (node.explicitlyDisabled)
    ignore(ctx, `${source}.enabled`, 'refresh tokens are always stored hashed here (SHA-256, or HMAC-SHA-256 with pepper)');
  readKeys(ctx, node.children, source, HASH_TOKENS_KEYS, GESDINET_BUNDLE);
}

const HASH_TOKENS_KEYS = new Map<string, KeySpec>([
  [
    'accept_stored_in_the_clear',
    {
      since: SINCE.gesdinet22,
      ignored: 'the store holds hashes only: jwt-refresh import-gesdinet hashes the tokens the bundle stored in the clear',
    },
  ],
]);

/** `block_jwts_on_revocation` (3.0): we always refuse the access tokens of a revoked session or user. */
function readBlockJwtsOnRevocation(ctx: Context, value: unknown, source: string): void {
  const node = toggleNode(ctx, value, source);
  if (node === null) return;
  if (node.explicitlyDisabled) {
    ignore(ctx, `${source}.enabled`, 'the access tokens of a revoked session or user are always refused here (docs/rotation.md)');
  }
  readKeys(ctx, node.children, source, BLOCK_JWTS_KEYS, GESDINET_BUNDLE);
}

const BLOCK_JWTS_KEYS = new Map<string, KeySpec>([
  ['cache', { since: SINCE.gesdinet30, ignored: 'revocation marks are kept in the store' }],
  ['ttl', { since: SINCE.gesdinet30, ignored: 'a mark is kept for jwt.tokenTtl + jwt.clockSkew, as long as a token it refuses can live' }],
  ['user_claim', option(SINCE.gesdinet30, ['jwt', 'userIdClaim'], jwtSchema.shape.userIdClaim)],
]);

/** `rate_limiter` (3.0): our limits are counted in the store, per client IP and per token family. */
function readRateLimiter(ctx: Context, value: unknown, source: string): void {
  const node = toggleNode(ctx, value, source);
  if (node === null) return;
  ctx.explicit.push({ target: ['rateLimit', 'enabled'], value: node.enabled, source: `${source}.enabled` });
  readKeys(ctx, node.children, source, RATE_LIMITER_KEYS, GESDINET_BUNDLE);
}

const RATE_LIMITER_KEYS = new Map<string, KeySpec>([
  [
    'limiter',
    { since: SINCE.gesdinet30, ignored: 'the limits are rateLimit.login, refresh, family and revoke per rateLimit.windowSeconds' },
  ],
  [
    'key',
    {
      since: SINCE.gesdinet30,
      read: (ctx, value, source) => {
        if (readValue(ctx, value, source, z.enum(['ip', 'token'], 'one of "ip" or "token"')) === undefined) return;
        ignore(ctx, source, 'refreshes are counted both per client IP (rateLimit.refresh) and per token family (rateLimit.family)');
      },
    },
  ],
]);

/** `reuse_detection` (3.0): with `single_use` we always revoke the family of a token presented after its rotation. */
function readReuseDetection(ctx: Context, value: unknown, source: string): void {
  const node = toggleNode(ctx, value, source);
  if (node === null) return;
  if (node.explicitlyDisabled) {
    ignore(
      ctx,
      `${source}.enabled`,
      'a rotated token presented again always revokes its family here (RFC 9700 §4.14.2); reuseGraceSeconds sets the grace window',
    );
  }
  readKeys(ctx, node.children, source, REUSE_DETECTION_KEYS, GESDINET_BUNDLE);
}

const REUSE_DETECTION_KEYS = new Map<string, KeySpec>([
  ['cache', { since: SINCE.gesdinet30, ignored: 'rotated tokens are recognised from the store' }],
  [
    'ttl',
    {
      since: SINCE.gesdinet30,
      ignored: 'a rotated token is recognised as long as the store keeps it (until jwt-refresh clear deletes it)',
    },
  ],
]);
