import { configSchema, cookieSchema, jwtSchema } from '../config/schema.js';
import type { Target } from './reading-context.js';

/** The top-level keys of a config file: the two bundles' sections and our own. */
export const GESDINET = 'gesdinet_jwt_refresh_token';
export const LEXIK = 'lexik_jwt_authentication';
export const OWN = 'jwt_refresh';

export const GESDINET_OPTIONS = new Map<string, Target>([
  ['ttl', { to: ['ttl'], schema: configSchema.shape.ttl, integer: true }],
  ['ttl_update', { to: ['ttlUpdate'], schema: configSchema.shape.ttlUpdate }],
  ['token_parameter_name', { to: ['tokenParameterName'], schema: configSchema.shape.tokenParameterName }],
  ['return_expiration', { to: ['returnExpiration'], schema: configSchema.shape.returnExpiration }],
  ['return_expiration_parameter_name', { to: ['returnExpirationParameterName'], schema: configSchema.shape.returnExpirationParameterName }],
  ['single_use', { to: ['singleUse'], schema: configSchema.shape.singleUse }],
]);

export const GESDINET_COOKIE_OPTIONS = new Map<string, Target>([
  ['enabled', { to: ['cookie', 'enabled'], schema: cookieSchema.shape.enabled }],
  ['same_site', { to: ['cookie', 'sameSite'], schema: cookieSchema.shape.sameSite }],
  ['path', { to: ['cookie', 'path'], schema: cookieSchema.shape.path }],
  ['domain', { to: ['cookie', 'domain'], schema: cookieSchema.shape.domain }],
  ['http_only', { to: ['cookie', 'httpOnly'], schema: cookieSchema.shape.httpOnly }],
  ['secure', { to: ['cookie', 'secure'], schema: cookieSchema.shape.secure }],
  ['partitioned', { to: ['cookie', 'partitioned'], schema: cookieSchema.shape.partitioned }],
  ['remove_token_from_body', { to: ['cookie', 'removeTokenFromBody'], schema: cookieSchema.shape.removeTokenFromBody }],
]);

const STORE_HINT = 'the store is chosen by DATABASE_URL or in code';
const TABLE_HINT = 'the store defines its table';
const IDENTITY_HINT = 'the identifier comes from the UserProvider; its claim is jwt.userIdClaim';

/** Bundle keys whose job is done differently here: accepted so a pasted file loads, and reported. */
export const GESDINET_IGNORED = new Map<string, string>([
  ['firewall', 'there are no firewalls; set the endpoint paths with routes'],
  ['user_provider', 'pass a UserProvider in code'],
  ['user_checker', 'pass a UserChecker in code'],
  ['manager_type', STORE_HINT],
  ['object_manager', STORE_HINT],
  ['refresh_token_class', TABLE_HINT],
  ['logout_firewall', 'logout is served at routes.invalidate'],
  ['doctrine_mappings', 'there is no Doctrine'],
  ['user_identity_field', IDENTITY_HINT],
  // 0.x names of refresh_token_class and object_manager, still read by 1.x.
  ['refresh_token_entity', TABLE_HINT],
  ['entity_manager', STORE_HINT],
]);

export const LEXIK_OPTIONS = new Map<string, Target>([
  ['secret_key', { to: ['jwt', 'secretKey'], schema: jwtSchema.shape.secretKey, nullMeansUnset: true }],
  ['public_key', { to: ['jwt', 'publicKey'], schema: jwtSchema.shape.publicKey, nullMeansUnset: true }],
  ['pass_phrase', { to: ['jwt', 'passphrase'], schema: jwtSchema.shape.passphrase, nullMeansUnset: true, emptyMeansUnset: true }],
  ['token_ttl', { to: ['jwt', 'tokenTtl'], schema: jwtSchema.shape.tokenTtl, integer: true }],
  ['clock_skew', { to: ['jwt', 'clockSkew'], schema: jwtSchema.shape.clockSkew, integer: true }],
  ['user_id_claim', { to: ['jwt', 'userIdClaim'], schema: jwtSchema.shape.userIdClaim, nullMeansUnset: true }],
  ['signature_algorithm', { to: ['jwt', 'algorithm'], schema: jwtSchema.shape.algorithm }],
]);

export const LEXIK_ENCODER_OPTIONS = new Map<string, Target>([
  ['signature_algorithm', { to: ['jwt', 'algorithm'], schema: jwtSchema.shape.algorithm }],
]);

export const LEXIK_HINTS = new Map<string, string>([
  ['private_key_path', 'use secret_key'],
  ['public_key_path', 'use public_key'],
  ['user_identity_field', IDENTITY_HINT],
  ['token_extractors', 'access tokens are read from the Authorization: Bearer header'],
  ['encoder.service', 'tokens are signed with jose'],
  ['encoder.crypto_engine', 'tokens are signed with jose'],
]);

/**
 * Lexik options that exist but that we do not map: ignored with a warning, so a pasted
 * configuration still starts. Any other key is a typo (say `toekn_ttl`) and fails, as in
 * the gesdinet section: a silently ignored TTL would be worse than a start-up error.
 */
export const LEXIK_UNMAPPED = new Set([
  ...[...LEXIK_HINTS.keys()].filter((key) => !key.startsWith('encoder.')),
  'allow_no_expiration',
  'additional_public_keys',
  'remove_token_from_body_when_cookies_used',
  'set_cookies',
  'api_platform',
  'blocklist_token',
  'access_token_issuance',
  'access_token_verification',
]);

/** Every key of each bundle section, for "did you mean" on a typo. */
export const GESDINET_KEYS = [...GESDINET_OPTIONS.keys(), 'cookie', ...GESDINET_IGNORED.keys()];
export const LEXIK_KEYS = [...LEXIK_OPTIONS.keys(), 'encoder', ...LEXIK_UNMAPPED];
export const LEXIK_ENCODER_KEYS = [
  ...LEXIK_ENCODER_OPTIONS.keys(),
  ...[...LEXIK_HINTS.keys()].filter((key) => key.startsWith('encoder.')).map((key) => key.slice('encoder.'.length)),
];

/** Lexik's default when its section is present (its `encoder.signature_algorithm`); ours is ES256. */
export const LEXIK_DEFAULT_ALGORITHM = 'RS256';
