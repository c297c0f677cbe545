import { z } from 'zod';
import { jwtSchema, loginSchema, routesSchema } from '../config/schema.js';
import { ENCODER_HINT, LEXIK, LEXIK_BUNDLE, LEXIK_DEFAULT_ALGORITHM, SINCE } from './bundle-keys.js';
import { readTokenExtractors } from './lexik-token-extractors.js';
import {
  ignore,
  type KeySpec,
  type Refusal,
  readKeys,
  readValue,
  resolveValue,
  sectionMapping,
  toggleNode,
  whenEnabled,
  whenTrue,
} from './read-option.js';
import type { Context, Mapping, Target } from './reading-context.js';

/**
 * Reads the `lexik_jwt_authentication` section: every key of the bundle's
 * 1.x, 2.x and 3.x trees is mapped onto our `jwt` options (and the access-token
 * extractors) with the bundle's meaning, accepted with a warning where its job
 * is done otherwise here, or refused with the version that has it and what to
 * do instead.
 */
export function readLexik(ctx: Context, section: Mapping): void {
  readKeys(ctx, section, LEXIK, LEXIK_KEYS, LEXIK_BUNDLE);
  ctx.defaults.push({ target: ['jwt', 'algorithm'], value: LEXIK_DEFAULT_ALGORITHM, source: `${LEXIK} (bundle default)` });
}

const jwtOption = (since: string, key: keyof typeof jwtSchema.shape, extra: Partial<Target> = {}): KeySpec => ({
  since,
  target: { to: ['jwt', key], schema: jwtSchema.shape[key], ...extra },
});

/** `access_token_issuance` / `access_token_verification` (2.20+): web-token JWS/JWE, refused when enabled. */
const WEB_TOKEN: Refusal = {
  when: whenEnabled,
  problem: 'is not supported: access tokens are signed JWS made with jose, never encrypted, from PEM keys',
  instead: 'give the signing key as secret_key and public_key (PEM, or a JWK converted to PEM), and signature_algorithm',
};

const LEXIK_KEYS = new Map<string, KeySpec>([
  ['secret_key', jwtOption(SINCE.lexik25, 'secretKey', { nullMeansUnset: true })],
  ['public_key', jwtOption(SINCE.lexik25, 'publicKey', { nullMeansUnset: true })],
  // 1.x and 2.x names of the same keys, given as paths.
  ['private_key_path', jwtOption(SINCE.lexik1to2, 'secretKey', { nullMeansUnset: true })],
  ['public_key_path', jwtOption(SINCE.lexik1to2, 'publicKey', { nullMeansUnset: true })],
  ['pass_phrase', jwtOption(SINCE.lexikAll, 'passphrase', { nullMeansUnset: true, emptyMeansUnset: true })],
  ['token_ttl', jwtOption(SINCE.lexikAll, 'tokenTtl', { integer: true })],
  ['clock_skew', jwtOption(SINCE.lexik25, 'clockSkew', { integer: true })],
  ['user_id_claim', jwtOption(SINCE.lexik26, 'userIdClaim', { nullMeansUnset: true })],
  // 1.x and 2.x: the claim too, unless user_id_claim names another.
  ['user_identity_field', jwtOption(SINCE.lexik1to2, 'userIdClaim', { nullMeansUnset: true, asDefault: true })],
  // Not a key of the bundle (it lives under encoder), read here as well for hand-written files.
  ['signature_algorithm', jwtOption(SINCE.lexik2, 'algorithm')],
  ['encoder', { since: SINCE.lexik2, read: readEncoder }],
  ['encoder_service', { since: SINCE.lexik1, ignored: ENCODER_HINT }],
  ['token_extractors', { since: SINCE.lexik2, read: readTokenExtractors }],
  ['additional_public_keys', { since: SINCE.lexik215, read: readAdditionalPublicKeys }],
  [
    'allow_no_expiration',
    {
      since: SINCE.lexik216,
      refused: {
        when: whenTrue,
        problem: 'is not supported: an access token without "exp" would be valid forever and is always refused (RFC 8725)',
        instead: 'give every token an exp (jwt.tokenTtl) and remove the key',
      },
    },
  ],
  // 2.7+: Lexik sets the access token as cookies at login. Empty, it does nothing.
  [
    'set_cookies',
    {
      since: SINCE.lexik27,
      refused: {
        when: hasCookies,
        problem: 'is not supported: the login and refresh responses carry the access token in their body, never in a cookie',
        instead:
          'have the client send it back as Authorization: Bearer, and keep the refresh token in the HttpOnly cookie (gesdinet_jwt_refresh_token.cookie)',
      },
    },
  ],
  [
    'remove_token_from_body_when_cookies_used',
    { since: SINCE.lexik215, ignored: 'it applies to set_cookies, and the access token is only ever in the body here' },
  ],
  ['api_platform', { since: SINCE.lexik217, read: readApiPlatform }],
  ['access_token_issuance', { since: SINCE.lexik220, refused: WEB_TOKEN }],
  ['access_token_verification', { since: SINCE.lexik220, refused: WEB_TOKEN }],
  ['blocklist_token', { since: SINCE.lexik31, read: readBlocklistToken }],
]);

const ENCODER_KEYS = new Map<string, KeySpec>([
  ['signature_algorithm', jwtOption(SINCE.lexik2, 'algorithm')],
  ['service', { since: SINCE.lexik2, ignored: ENCODER_HINT }],
  ['crypto_engine', { since: SINCE.lexik2only, ignored: ENCODER_HINT }],
]);

function readEncoder(ctx: Context, value: unknown, source: string): void {
  readKeys(ctx, sectionMapping(ctx, value, source), source, ENCODER_KEYS, LEXIK_BUNDLE);
}

/**
 * `additional_public_keys` (2.15+): older public keys Lexik tries in turn. Ours are
 * `jwt.verificationKeys` entries without a `kid`, tried the same way.
 */
function readAdditionalPublicKeys(ctx: Context, value: unknown, source: string): void {
  if (value === null) return;
  const keys = readValue(ctx, value, source, z.array(z.unknown()));
  if (keys === undefined) return;
  const entries: Array<{ key: string }> = [];
  for (const [index, raw] of keys.entries()) {
    const key = readValue(ctx, raw, `${source}.${index}`, z.string().min(1));
    if (key === undefined) return;
    entries.push({ key });
  }
  if (entries.length > 0) ctx.explicit.push({ target: ['jwt', 'verificationKeys'], value: entries, source });
}

/** Whether `set_cookies` names any cookie (empty or `~`, it does nothing). */
function hasCookies(ctx: Context, value: unknown, source: string): boolean {
  const cookies = resolveValue(ctx, value, source);
  return !(cookies === null || cookies === undefined || (typeof cookies === 'object' && Object.keys(cookies).length === 0));
}

/**
 * `api_platform` (2.17+) documents the login route for API Platform; the same
 * values are our login route and its fields, which our OpenAPI document describes.
 */
function readApiPlatform(ctx: Context, value: unknown, source: string): void {
  const node = toggleNode(ctx, value, source);
  if (node === null || !node.enabled) return;
  readKeys(ctx, node.children, source, API_PLATFORM_KEYS, LEXIK_BUNDLE);
}

const API_PLATFORM_KEYS = new Map<string, KeySpec>([
  ['check_path', { since: SINCE.lexik217, target: { to: ['routes', 'login'], schema: routesSchema.shape.login, nullMeansUnset: true } }],
  [
    'username_path',
    { since: SINCE.lexik218, target: { to: ['login', 'usernameField'], schema: loginSchema.shape.usernameField, nullMeansUnset: true } },
  ],
  [
    'password_path',
    { since: SINCE.lexik218, target: { to: ['login', 'passwordField'], schema: loginSchema.shape.passwordField, nullMeansUnset: true } },
  ],
]);

/**
 * `blocklist_token` (3.1+): Lexik blocks an access token at logout by its `jti`.
 * We always do, so enabling it only makes sure tokens carry a `jti`.
 */
function readBlocklistToken(ctx: Context, value: unknown, source: string): void {
  const node = toggleNode(ctx, value, source);
  if (node === null) return;
  if (node.enabled) ctx.explicit.push({ target: ['jwt', 'setJti'], value: true, source: `${source}.enabled` });
  else ignore(ctx, `${source}.enabled`, 'logout refuses the access token here all the same (docs/rotation.md)');
  readKeys(ctx, node.children, source, BLOCKLIST_KEYS, LEXIK_BUNDLE);
}

const BLOCKLIST_KEYS = new Map<string, KeySpec>([['cache', { since: SINCE.lexik31, ignored: 'the blocklist is kept in the store' }]]);
