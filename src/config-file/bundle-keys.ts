/** The top-level keys of a config file: the two bundles' sections and our own. */
export const GESDINET = 'gesdinet_jwt_refresh_token';
export const LEXIK = 'lexik_jwt_authentication';
export const OWN = 'jwt_refresh';

/** Bundle names as refusals and typo messages name them. */
export const GESDINET_BUNDLE = 'gesdinet';
export const LEXIK_BUNDLE = 'Lexik';

/**
 * The versions that have each key, as refusals name them: the bundles'
 * `DependencyInjection/Configuration.php` across their tags (gesdinet 1.0-1.5,
 * 2.0-2.2, 3.0; Lexik 1.x, 2.0-2.20, 3.x).
 */
export const SINCE = {
  gesdinet1: 'gesdinet 1.x',
  gesdinet1to3: 'gesdinet 1.x-3.0',
  gesdinet2: 'gesdinet 2.0+',
  gesdinet22: 'gesdinet 2.2+',
  gesdinet30: 'gesdinet 3.0',
  lexik1: 'Lexik 1.x',
  lexik1to2: 'Lexik 1.x-2.x',
  lexikAll: 'Lexik 1.x-3.x',
  lexik2: 'Lexik 2.0+',
  lexik2only: 'Lexik 2.x',
  lexik25: 'Lexik 2.5+',
  lexik26: 'Lexik 2.6+',
  lexik27: 'Lexik 2.7+',
  lexik29: 'Lexik 2.9+',
  lexik215: 'Lexik 2.15+',
  lexik216: 'Lexik 2.16+',
  lexik217: 'Lexik 2.17+',
  lexik218: 'Lexik 2.18+',
  lexik220: 'Lexik 2.20+',
  lexik31: 'Lexik 3.1+',
} as const;

export const STORE_HINT = 'the store is chosen by DATABASE_URL or in code';
export const TABLE_HINT = 'the store defines its own table (jwt-refresh migrate)';
export const IDENTITY_HINT = 'the identifier comes from the UserProvider; its claim is jwt.userIdClaim';
export const ENCODER_HINT = 'tokens are signed and verified with jose';

/** Lexik's default when its section is present (its `encoder.signature_algorithm`); ours is ES256. */
export const LEXIK_DEFAULT_ALGORITHM = 'RS256';

/** The bundle's default `ttl` (30 days), which equals ours. */
export const GESDINET_DEFAULT_TTL = 2_592_000;
