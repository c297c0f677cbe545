import type { JwtRefreshConfig } from '../config/schema.js';
import { refreshCookieName } from './cookies.js';
import { handleInvalidate } from './invalidate-handler.js';
import { handleJwks } from './jwks-handler.js';
import { handleLogin } from './login-handler.js';
import { handleOAuthToken } from './oauth-handlers.js';
import { openApiHandler } from './openapi.js';
import {
  accessTokenSchema,
  jwkSetSchema,
  loginRequestSchema,
  messageSchema,
  oauthErrorSchema,
  oauthRevokeRequestSchema,
  oauthRevokeResponseSchema,
  oauthTokenRequestSchema,
  oauthTokenResponseSchema,
  openApiDocumentSchema,
  refreshTokenRequestSchema,
  revokeSessionRequestSchema,
  sessionListSchema,
  tokenPairSchema,
} from './openapi-schemas.js';
import { handleRefresh } from './refresh-handler.js';
import { handleRenew } from './renew-handler.js';
import { handleOAuthRevoke, handleTokenRevoke } from './revoke-handler.js';
import type { OperationDefinition, OperationParameter, OperationResponse, OperationTag, RouteDefinition } from './route-definition.js';
import { handleListSessions, handleRevokeAllSessions, handleRevokeOtherSessions, handleRevokeSession } from './sessions-handlers.js';

const TOKENS: OperationTag = { name: 'tokens', description: 'Log in, refresh, renew and log out: the routes of the gesdinet bundle.' };
const SESSIONS: OperationTag = { name: 'sessions', description: "The caller's sessions (token families): list and revoke." };
const OAUTH: OperationTag = { name: 'oauth', description: 'The RFC 6749 token endpoint and RFC 7009 revocation, over the same sessions.' };
const DISCOVERY: OperationTag = { name: 'discovery', description: 'Public documents: the verification keys and this description.' };

const JSON_ONLY = ['application/json'] as const;
const JSON_OR_FORM = ['application/json', 'application/x-www-form-urlencoded'] as const;
// RFC 6749 §4.1.3 and RFC 7009 §2.1 speak forms; JSON is accepted too.
const FORM_OR_JSON = ['application/x-www-form-urlencoded', 'application/json'] as const;

const WWW_AUTHENTICATE = {
  'WWW-Authenticate': { description: 'The Bearer challenge (RFC 6750 §3)', schema: { type: 'string', const: 'Bearer' } },
};
const message = (description: string, headers?: OperationResponse['headers']): OperationResponse =>
  headers === undefined ? { description, body: messageSchema } : { description, body: messageSchema, headers };
/** The 401 of a route that requires an access token (SPEC §1), for the document; the standalone server's `/api/me` answers it too. */
export const BEARER_REFUSED = message(
  'No access token (`JWT Token not found`), or an expired, invalid or revoked one (`Expired JWT Token`, `Invalid JWT Token`)',
  WWW_AUTHENTICATE,
);
const TOO_LARGE = message('The body is larger than `maxBodyBytes`');
/** A client error the host answers before the route runs, in the host's own shape, so no body is promised. */
export const HOST_REFUSED: OperationResponse = {
  description: 'A request the host refuses before the route runs (a malformed URL, for instance)',
};

/**
 * The routes a configuration enables, in matching order, each described for
 * the OpenAPI document as this configuration serves it.
 *
 * @example
 * for (const route of jwtRefresh.routes) app.route({ method: route.method, url: route.path, ... });
 */
export function routeDefinitions(config: JwtRefreshConfig): RouteDefinition[] {
  const { routes: paths, tokenParameterName: parameter } = config;
  const cookieMode = config.cookie.enabled;
  const cookieName = refreshCookieName(config);
  const csrf = csrfParameters(config);
  const tokenSources = [...csrf, ...refreshTokenParameters(config)];
  // The cookie or the query string may carry the token instead of the body.
  const tokenBodyRequired = !cookieMode && !config.bundleCompat;
  const refreshTokenBody = refreshTokenRequestSchema(config, tokenBodyRequired);
  const tokenPair = tokenPairSchema(config);
  const rateLimited = rateLimitResponses(config);
  const csrfRefused = csrfResponses(config);
  const cookieNote = cookieMode ? ` The refresh token is also set as the \`${cookieName}\` cookie${bodyNote(config)}.` : '';
  const setCookie = (description: string) => (cookieMode ? { 'Set-Cookie': { description, schema: { type: 'string' } } } : undefined);

  const routes: RouteDefinition[] = [
    {
      name: 'login',
      method: 'POST',
      path: paths.login,
      tag: TOKENS,
      summary: 'Log in with a username and password; answers an access token and a refresh token',
      description:
        'Checks the credentials through the user provider and the user checker, then starts a new session (token family). ' +
        `A refresh token sent along is ignored: login never echoes nor rotates one.${cookieNote}`,
      bearer: 'none',
      parameters: csrf,
      requestBody: { mediaTypes: JSON_ONLY, required: true, body: loginRequestSchema(config) },
      responses: {
        200: { description: 'Logged in', body: tokenPair, ...withHeaders(setCookie(`The refresh token as the \`${cookieName}\` cookie`)) },
        400: message('Malformed JSON, or a field missing or not a non-empty string'),
        401: message('`Invalid credentials.` (unknown user or wrong password, alike) or `Account is disabled.`', WWW_AUTHENTICATE),
        ...csrfRefused,
        413: TOO_LARGE,
        415: message('A form body, or a media type that is not JSON'),
        ...rateLimited,
      },
      handler: handleLogin,
    },
    {
      name: 'refresh',
      method: 'POST',
      path: paths.refresh,
      tag: TOKENS,
      summary: 'Trade a refresh token for a new access token (and, with rotation, a new refresh token)',
      description:
        `The refresh token is read from the body under \`${parameter}\`${sourcesNote(config, cookieName)}. ` +
        (config.singleUse
          ? 'It is rotated: the answer holds its successor, and presenting it again after the grace window revokes the whole session (reuse detection).'
          : 'The same refresh token comes back.') +
        ` The user is reloaded and checked again.${cookieNote}`,
      bearer: 'none',
      parameters: tokenSources,
      requestBody: { mediaTypes: JSON_OR_FORM, required: tokenBodyRequired, body: refreshTokenBody },
      responses: {
        200: {
          description: 'Refreshed',
          body: tokenPair,
          ...withHeaders(setCookie(`The refresh token to use next, as the \`${cookieName}\` cookie`)),
        },
        401: message(
          '`Missing JWT Refresh Token`, or `Invalid JWT Refresh Token` (unknown, expired, revoked or reused; one answer for all)',
        ),
        ...csrfRefused,
        413: TOO_LARGE,
        415: message('No token found, and a body in a media type that is neither JSON nor a form'),
        ...rateLimited,
      },
      handler: handleRefresh,
    },
    {
      name: 'invalidate',
      method: 'POST',
      path: paths.invalidate,
      tag: TOKENS,
      summary: "Log out: invalidate the presented refresh token's session",
      description:
        `Ends the session of the refresh token read from the body under \`${parameter}\`${sourcesNote(config, cookieName)}, ` +
        'its access tokens included; a token rotated away still ends its session. ' +
        "An access token sent along is blocklisted until it expires, unless the refresh token is another user's: then neither is touched." +
        (cookieMode ? ` The \`${cookieName}\` cookie is cleared, whether the token was live or not.` : ''),
      bearer: 'optional',
      parameters: tokenSources,
      requestBody: { mediaTypes: JSON_OR_FORM, required: tokenBodyRequired, body: refreshTokenBody },
      responses: {
        200: {
          ...message(`\`The supplied ${parameter} has been invalidated.\`, or \`… is already invalid.\``),
          ...withHeaders(setCookie(`The \`${cookieName}\` cookie, cleared`)),
        },
        400: message(`\`No ${parameter} found.\``),
        ...csrfRefused,
        413: TOO_LARGE,
        415: message('No token found, and a body in a media type that is neither JSON nor a form'),
        ...rateLimited,
      },
      handler: handleInvalidate,
    },
  ];
  if (paths.revoke !== null) {
    routes.push({
      name: 'revoke',
      method: 'POST',
      path: paths.revoke,
      tag: TOKENS,
      summary: 'RFC 7009 token revocation (refresh or access token)',
      description:
        'A refresh token ends its session, as a logout does; an access token is blocklisted until it expires. ' +
        '`token_type_hint` is only a hint. Unknown and invalid tokens get the same 200, so the route is no oracle. ' +
        'No client authentication: holding the token is the authority to revoke it.' +
        (cookieMode ? ' The cookie is neither read nor cleared: `token` names what to revoke.' : ''),
      bearer: 'none',
      parameters: csrf,
      requestBody: { mediaTypes: FORM_OR_JSON, required: true, body: oauthRevokeRequestSchema },
      responses: {
        200: { description: 'Revoked, or unknown', body: oauthRevokeResponseSchema },
        400: { description: 'RFC 6749 §5.2 error `invalid_request`: no token, or an unreadable body', body: oauthErrorSchema },
        ...csrfRefused,
        413: TOO_LARGE,
        ...rateLimited,
      },
      handler: handleTokenRevoke,
    });
  }
  if (paths.sessions !== null) {
    const sessionsRoute = { tag: SESSIONS, bearer: 'required', parameters: [], requestBody: null } as const;
    routes.push(
      {
        ...sessionsRoute,
        name: 'listSessions',
        method: 'GET',
        path: paths.sessions,
        summary: 'List my sessions',
        description: 'The live sessions of the access token’s user, newest login first; `current` marks the one the token belongs to.',
        responses: { 200: { description: 'My sessions', body: sessionListSchema }, 401: BEARER_REFUSED },
        handler: handleListSessions,
      },
      {
        ...sessionsRoute,
        name: 'revokeSession',
        method: 'POST',
        path: `${paths.sessions}/revoke`,
        summary: 'Revoke one of my sessions',
        description: 'Ends one session of the caller and its access tokens. Another user’s session and an unknown id get the same 404.',
        requestBody: { mediaTypes: JSON_ONLY, required: true, body: revokeSessionRequestSchema },
        responses: {
          200: message('`The session has been revoked.`'),
          401: BEARER_REFUSED,
          404: message('No such live session of mine'),
          413: TOO_LARGE,
        },
        handler: handleRevokeSession,
      },
      {
        ...sessionsRoute,
        name: 'revokeOtherSessions',
        method: 'POST',
        path: `${paths.sessions}/revoke-others`,
        summary: 'Revoke all my sessions but the current one',
        description: 'Ends every session of the caller except the one the access token belongs to.',
        responses: { 200: message('`<n> other session(s) revoked.`'), 401: BEARER_REFUSED },
        handler: handleRevokeOtherSessions,
      },
      {
        ...sessionsRoute,
        name: 'revokeAllSessions',
        method: 'POST',
        path: `${paths.sessions}/revoke-all`,
        summary: 'Log out everywhere: revoke all my sessions and access tokens',
        description: 'Ends every session of the caller, and refuses every access token of the caller issued up to now, this one included.',
        responses: { 200: message('`All sessions have been revoked.`'), 401: BEARER_REFUSED },
        handler: handleRevokeAllSessions,
      },
    );
  }
  if (config.accessTokenRenewal) {
    routes.push({
      name: 'renew',
      method: 'POST',
      path: paths.renew,
      tag: TOKENS,
      summary: 'Trade a still-valid access token for a fresh one',
      description:
        'For clients that keep no refresh token: the new token belongs to the same session and keeps its `auth_time`; ' +
        'renewal stops at `maxSessionLifetime`, and a revoked token cannot be renewed.',
      bearer: 'required',
      parameters: [],
      requestBody: null,
      responses: { 200: { description: 'Renewed', body: accessTokenSchema }, 401: BEARER_REFUSED },
      handler: handleRenew,
    });
  }
  if (config.oauthEndpoints) {
    routes.push(
      {
        name: 'oauthToken',
        method: 'POST',
        path: paths.oauthToken,
        tag: OAUTH,
        summary: 'RFC 6749 §6 token endpoint (grant_type=refresh_token)',
        description:
          'The refresh route in OAuth 2.0 shapes: the same rotation, grace window and reuse detection. ' +
          'Every refusal of the grant is `invalid_grant`. Never cached.',
        bearer: 'none',
        parameters: [],
        requestBody: { mediaTypes: FORM_OR_JSON, required: true, body: oauthTokenRequestSchema },
        responses: {
          200: { description: 'RFC 6749 §5.1 token response', body: oauthTokenResponseSchema },
          400: {
            description: 'RFC 6749 §5.2 error: `invalid_request`, `invalid_grant` or `unsupported_grant_type`',
            body: oauthErrorSchema,
          },
          413: TOO_LARGE,
          ...rateLimited,
        },
        handler: handleOAuthToken,
      },
      {
        name: 'oauthRevoke',
        method: 'POST',
        path: paths.oauthRevoke,
        tag: OAUTH,
        summary: 'RFC 7009 token revocation (refresh or access token)',
        description:
          'A refresh token ends its session; an access token is blocklisted until it expires. Unknown and invalid tokens get the same 200, so the route is no oracle.',
        bearer: 'none',
        parameters: [],
        requestBody: { mediaTypes: FORM_OR_JSON, required: true, body: oauthRevokeRequestSchema },
        responses: {
          200: { description: 'Revoked, or unknown', body: oauthRevokeResponseSchema },
          400: { description: 'RFC 6749 §5.2 error `invalid_request`: no token, or an unreadable body', body: oauthErrorSchema },
          413: TOO_LARGE,
          ...rateLimited,
        },
        handler: handleOAuthRevoke,
      },
    );
  }
  if (paths.jwks !== null) {
    routes.push({
      name: 'jwks',
      method: 'GET',
      path: paths.jwks,
      tag: DISCOVERY,
      summary: 'Public keys that verify access tokens (JWK Set)',
      description:
        'The signing key’s public half and the older keys of a rotation, each with `kid`, `alg` and `use`. Never an HMAC secret. Cacheable for 5 minutes.',
      bearer: 'none',
      parameters: [],
      requestBody: null,
      responses: { 200: { description: 'JWK Set', body: jwkSetSchema }, '4XX': HOST_REFUSED },
      handler: (ctx) => handleJwks(ctx),
    });
  }
  if (paths.openapi !== null) routes.push({ ...openApiOperation(paths.openapi), handler: openApiHandler(routes) });
  return routes;
}

/**
 * The description of the OpenAPI document's own route at `path`: for a host
 * that serves the document itself (the standalone server, with its own routes in it).
 */
export function openApiOperation(path: string): OperationDefinition {
  return {
    name: 'openapi',
    method: 'GET',
    path,
    tag: DISCOVERY,
    summary: 'This document',
    description: 'The OpenAPI 3.1 description of the routes this configuration serves, paths as mounted. Cacheable for 5 minutes.',
    bearer: 'none',
    parameters: [],
    requestBody: null,
    responses: { 200: { description: 'OpenAPI 3.1 document', body: openApiDocumentSchema }, '4XX': HOST_REFUSED },
  };
}

/** Cookie mode's 403s (SPEC §4, docs/csrf.md): a cross-site browser request, and the opt-in header missing. */
function csrfResponses(config: JwtRefreshConfig): Record<number, OperationResponse> {
  if (!config.cookie.enabled) return {};
  const header = config.cookie.csrfHeader;
  return {
    403: message(
      '`Cross-origin request refused.`: a browser marked the request cross-site (`Sec-Fetch-Site`), or its `Origin` is neither ' +
        'this host nor a trusted origin' +
        (header === null ? '' : `; or \`Missing ${header} header.\``),
    ),
  };
}

/** What becomes of the refresh token in the body when the cookie carries it. */
function bodyNote(config: JwtRefreshConfig): string {
  const { removeTokenFromBody } = config.cookie;
  if (removeTokenFromBody === 'auto') return ', and left out of the body when a browser asks (`Sec-Fetch-Site` or `Origin`)';
  return removeTokenFromBody ? ', and left out of the body' : '';
}

/** Cookie mode's opt-in CSRF header (`cookie.csrfHeader`), required on the routes that set or clear the cookie. */
function csrfParameters(config: JwtRefreshConfig): OperationParameter[] {
  const header = config.cookie.csrfHeader;
  if (!config.cookie.enabled || header === null) return [];
  return [
    {
      name: header,
      in: 'header',
      required: true,
      description: 'Any non-empty value: a cross-site form cannot send it, and a cross-origin request that does needs a CORS preflight.',
      schema: { type: 'string', minLength: 1 },
    },
  ];
}

/** Where else than the body the extractor chain reads the refresh token: the cookie, then the query string. */
function refreshTokenParameters(config: JwtRefreshConfig): OperationParameter[] {
  const parameters: OperationParameter[] = [];
  if (config.cookie.enabled) {
    parameters.push({
      name: refreshCookieName(config),
      in: 'cookie',
      required: false,
      description: 'The refresh token as login and refresh set it; read when the body carries none.',
      schema: { type: 'string' },
    });
  }
  if (config.bundleCompat) {
    parameters.push({
      name: config.tokenParameterName,
      in: 'query',
      required: false,
      description: 'The refresh token (bundle compatibility; URLs end up in logs): read when neither the body nor a cookie carries one.',
      schema: { type: 'string' },
    });
  }
  return parameters;
}

function sourcesNote(config: JwtRefreshConfig, cookieName: string): string {
  const sources = [
    ...(config.cookie.enabled ? [`the \`${cookieName}\` cookie`] : []),
    ...(config.bundleCompat ? ['the query string'] : []),
  ];
  return sources.length === 0 ? '' : `, else from ${sources.join(', else from ')}`;
}

/** 429 with `Retry-After` (SPEC §3), on the routes the rate limiter counts when it is on. */
function rateLimitResponses(config: JwtRefreshConfig): Record<number, OperationResponse> {
  if (!config.rateLimit.enabled) return {};
  return {
    429: message('Too many requests from this client (or for this session); retry later', {
      'Retry-After': { description: 'Seconds until the counting window ends', schema: { type: 'integer' } },
    }),
  };
}

/** `{ headers }` when there are any, else nothing. */
function withHeaders(value: OperationResponse['headers']): Pick<OperationResponse, 'headers'> {
  return value === undefined ? {} : { headers: value };
}
