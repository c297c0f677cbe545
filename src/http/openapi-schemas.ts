import type { JwtRefreshConfig } from '../config/schema.js';
import type { JsonSchema, NamedSchema } from './route-definition.js';

/**
 * The JSON Schemas of the bodies the routes read and answer, for the OpenAPI
 * document: one function per shape, with the field names the configuration
 * gives them. Response objects leave `additionalProperties` open, since
 * `authenticationSuccess` and `jwtCreated` listeners may add fields.
 */

/** An object whose properties are all required but those in `optional`. */
function object(description: string, properties: Record<string, JsonSchema>, optional: readonly string[] = []): JsonSchema {
  const required = Object.keys(properties).filter((key) => !optional.includes(key));
  return { type: 'object', description, required, properties };
}

const string = (description: string): JsonSchema => ({ type: 'string', description });
const nonEmptyString = (description: string): JsonSchema => ({ type: 'string', minLength: 1, description });
const unixSeconds = (description: string): JsonSchema => ({ type: 'integer', description: `${description}, unix seconds` });
const dateTime = (description: string, nullable = false): JsonSchema => ({
  type: nullable ? ['string', 'null'] : 'string',
  format: 'date-time',
  description,
});

/** `{code, message}`: every error of the bundle's routes and the sessions routes, and their confirmations (SPEC §2, §5). */
export const messageSchema: NamedSchema = {
  name: 'Message',
  schema: object('An error, or a confirmation, as the bundle answers it. Error messages are listed in docs/errors.md.', {
    code: { type: 'integer', description: 'The HTTP status, repeated' },
    message: string('What happened, in English'),
  }),
};

/** The login body (SPEC §2): identifier and password under the configured field names. */
export function loginRequestSchema(config: JwtRefreshConfig): NamedSchema {
  const { usernameField, passwordField } = config.login;
  return {
    name: 'LoginRequest',
    schema: object('Credentials, under the field names of `login.usernameField` and `login.passwordField`.', {
      [usernameField]: nonEmptyString('The user identifier'),
      [passwordField]: nonEmptyString('The password'),
    }),
  };
}

/**
 * The refresh and logout body (SPEC §3, §5): the refresh token under
 * `tokenParameterName`. Optional when the cookie or the query string may carry it instead.
 */
export function refreshTokenRequestSchema(config: JwtRefreshConfig, required: boolean): NamedSchema {
  const name = config.tokenParameterName;
  const token = { ...nonEmptyString('The refresh token'), maxLength: config.maxTokenLength };
  return {
    name: 'RefreshTokenRequest',
    schema: object(`The refresh token under \`${name}\`.`, { [name]: token }, required ? [] : [name]),
  };
}

/**
 * The token pair of login and refresh (SPEC §2–§4): names as configured, the
 * refresh token left out in cookie mode when configured, and optional with
 * `removeTokenFromBody: 'auto'` (left out for browsers).
 */
export function tokenPairSchema(config: JwtRefreshConfig): NamedSchema {
  const properties: Record<string, JsonSchema> = { token: string('The access token (a JWT)') };
  const { enabled, removeTokenFromBody } = config.cookie;
  const perRequest = enabled && removeTokenFromBody === 'auto';
  if (!enabled || removeTokenFromBody !== true) {
    properties[config.tokenParameterName] = string(
      perRequest
        ? 'The refresh token to present next time; absent when a browser asked (`Sec-Fetch-Site` or `Origin`), which gets the cookie only'
        : 'The refresh token to present next time',
    );
  }
  if (config.returnExpiration) {
    properties[config.returnExpirationParameterName] = unixSeconds('When the refresh token expires');
  }
  const optional = perRequest ? [config.tokenParameterName] : [];
  return { name: 'TokenPair', schema: object('A new access token and the refresh token to use next.', properties, optional) };
}

/** The answer of access-token renewal (SPEC §3b). */
export const accessTokenSchema: NamedSchema = {
  name: 'AccessToken',
  schema: object('A fresh access token for the same session.', { token: string('The access token (a JWT)') }),
};

/** The caller's sessions, as `GET /api/sessions` lists them (SPEC §9). */
export const sessionListSchema: NamedSchema = {
  name: 'SessionList',
  schema: object('The live sessions (token families) of the caller, newest login first.', {
    sessions: {
      type: 'array',
      items: object('One session: a login and the refresh tokens rotated from it.', {
        id: string("The session id: the access token's `sid`"),
        created_at: dateTime('The login that started it'),
        last_used_at: dateTime('The last refresh; null before the first', true),
        expires_at: dateTime('When its current refresh token expires unless refreshed'),
        user_agent: { type: ['string', 'null'], description: 'User-Agent of the client at login' },
        ip: { type: ['string', 'null'], description: 'Address of the client at login' },
        metadata: { type: ['object', 'null'], description: 'What the application stored with the session (`issueSession` metadata)' },
        current: { type: 'boolean', description: 'Whether it is the session of the access token that asked' },
      }),
    },
  }),
};

/** The body of `POST /api/sessions/revoke`. */
export const revokeSessionRequestSchema: NamedSchema = {
  name: 'RevokeSessionRequest',
  schema: object('The session to end.', { session_id: nonEmptyString('An `id` from the session list') }),
};

/** RFC 6749 §6: a refresh token grant. */
export const oauthTokenRequestSchema: NamedSchema = {
  name: 'OAuthTokenRequest',
  schema: object('A refresh token grant (RFC 6749 §6).', {
    grant_type: { type: 'string', const: 'refresh_token', description: 'The only grant served' },
    refresh_token: nonEmptyString('The refresh token'),
  }),
};

/** RFC 6749 §5.1: the token response. */
export const oauthTokenResponseSchema: NamedSchema = {
  name: 'OAuthTokenResponse',
  schema: object('An access token response (RFC 6749 §5.1).', {
    access_token: string('The access token (a JWT)'),
    token_type: { type: 'string', const: 'Bearer', description: 'RFC 6750' },
    expires_in: { type: 'integer', description: 'Seconds until the access token expires' },
    refresh_token: string('The refresh token to present next time'),
  }),
};

/** RFC 7009 §2.1: a revocation request. */
export const oauthRevokeRequestSchema: NamedSchema = {
  name: 'OAuthRevokeRequest',
  schema: object(
    'A token to revoke (RFC 7009 §2.1).',
    {
      token: nonEmptyString('A refresh token or an access token'),
      token_type_hint: string('`refresh_token` or `access_token`: which to try first; any other value is ignored'),
    },
    ['token_type_hint'],
  ),
};

/** RFC 7009 §2.2: the revocation answer, the same whether the token was known or not. */
export const oauthRevokeResponseSchema: NamedSchema = {
  name: 'OAuthRevokeResponse',
  schema: { type: 'object', description: 'An empty object.', maxProperties: 0 },
};

/** RFC 6749 §5.2: an error of the OAuth endpoints. */
export const oauthErrorSchema: NamedSchema = {
  name: 'OAuthError',
  schema: object('An error response (RFC 6749 §5.2).', {
    error: {
      type: 'string',
      enum: ['invalid_request', 'invalid_grant', 'unsupported_grant_type'],
      description: 'The RFC 6749 §5.2 error code',
    },
    error_description: string('What happened, in English'),
  }),
};

/** RFC 7517 §5: the public verification keys. */
export const jwkSetSchema: NamedSchema = {
  name: 'JwkSet',
  schema: object('The public keys that verify access tokens (RFC 7517 §5); empty for HS* algorithms.', {
    keys: {
      type: 'array',
      items: object('A public key (RFC 7517 §4), with the members of its key type (`crv`, `x`, `y`; `n`, `e`).', {
        kty: string('Key type: `EC`, `RSA` or `OKP`'),
        kid: string('Key id: `jwt.kid`, or the RFC 7638 thumbprint'),
        alg: string('The configured signature algorithm'),
        use: { type: 'string', const: 'sig', description: 'Signature verification' },
      }),
    },
  }),
};

/** The OpenAPI document itself, as far as a client needs to know. */
export const openApiDocumentSchema: NamedSchema = {
  name: 'OpenApiDocument',
  schema: object('An OpenAPI 3.1 document.', {
    openapi: string('The OpenAPI version, `3.1.0`'),
    info: { type: 'object', description: 'Title, version and license' },
    paths: { type: 'object', description: 'The operations, by path' },
  }),
};

/**
 * The claims of an access token this configuration signs (SPEC §1): what an
 * application's protected route sees, e.g. the standalone server's `GET /api/me`.
 */
export function accessTokenClaimsSchema(config: JwtRefreshConfig): NamedSchema {
  const { jwt } = config;
  const properties: Record<string, JsonSchema> = {};
  const optional = ['sid', 'auth_time'];
  if (jwt.setSubject) properties.sub = string("The user's stable id");
  if (jwt.setJti) properties.jti = string('Unique token id (the logout blocklist keys on it)');
  if (jwt.setNotBefore) properties.nbf = unixSeconds('Not valid before');
  if (jwt.issuer !== undefined) properties.iss = string('Issuer');
  if (jwt.audience !== undefined) {
    properties.aud = { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }], description: 'Audience' };
  }
  properties.roles = { type: 'array', items: { type: 'string' }, description: "The user's roles" };
  properties[jwt.userIdClaim] = string("The user's identifier");
  properties.iat = unixSeconds('Issued at');
  properties.exp = unixSeconds('Expires at');
  properties.sid = string('The session id (absent from tokens minted outside a session)');
  properties.auth_time = unixSeconds('When the session started (OIDC `auth_time`)');
  return { name: 'AccessTokenClaims', schema: object('The verified claims of the access token.', properties, optional) };
}
