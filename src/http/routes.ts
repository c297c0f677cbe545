import type { JwtRefreshConfig } from '../config/schema.js';
import { handleInvalidate } from './invalidate-handler.js';
import { handleJwks } from './jwks-handler.js';
import { handleLogin } from './login-handler.js';
import { handleOAuthRevoke, handleOAuthToken } from './oauth-handlers.js';
import { openApiHandler } from './openapi.js';
import { handleRefresh } from './refresh-handler.js';
import { handleRenew } from './renew-handler.js';
import type { RouteDefinition } from './route-definition.js';
import {
  handleListSessions,
  handleRevokeAllSessions,
  handleRevokeOtherSessions,
  handleRevokeSession,
} from './sessions-handlers.js';

const TOKEN_ERRORS = { 400: 'Malformed request', 413: 'Body too large', 415: 'Unsupported media type', 429: 'Rate limited' };
const AUTH_ERRORS = { 401: 'Missing, expired, invalid or revoked access token' };

/**
 * The routes a configuration enables, in matching order.
 *
 * @example
 * for (const route of jwtRefresh.routes) app.route({ method: route.method, url: route.path, ... });
 */
export function routeDefinitions(config: JwtRefreshConfig): RouteDefinition[] {
  const { routes: paths, tokenParameterName } = config;
  const routes: RouteDefinition[] = [
    {
      name: 'login',
      method: 'POST',
      path: paths.login,
      summary: 'Log in with a username and password; answers an access token and a refresh token',
      authenticated: false,
      bodyFields: [config.login.usernameField, config.login.passwordField],
      responses: { 200: 'Token pair', 401: 'Invalid credentials or disabled account', 403: 'Missing CSRF header (cookie mode)', ...TOKEN_ERRORS },
      handler: handleLogin,
    },
    {
      name: 'refresh',
      method: 'POST',
      path: paths.refresh,
      summary: 'Trade a refresh token for a new access token (and, with rotation, a new refresh token)',
      authenticated: false,
      bodyFields: [tokenParameterName],
      responses: { 200: 'Token pair', 401: 'Missing or invalid refresh token', 403: 'Missing CSRF header (cookie mode)', ...TOKEN_ERRORS },
      handler: handleRefresh,
    },
    {
      name: 'invalidate',
      method: 'POST',
      path: paths.invalidate,
      summary: "Log out: invalidate the presented refresh token's session",
      authenticated: false,
      bodyFields: [tokenParameterName],
      responses: { 200: 'Invalidated, or already invalid', 400: 'No refresh token', 403: 'Missing CSRF header (cookie mode)' },
      handler: handleInvalidate,
    },
  ];
  if (paths.sessions !== null) {
    const base = { authenticated: true, bodyFields: [], responses: { 200: 'Done', ...AUTH_ERRORS } };
    routes.push(
      { ...base, name: 'listSessions', method: 'GET', path: paths.sessions, summary: 'List my sessions', handler: handleListSessions },
      {
        ...base,
        name: 'revokeSession',
        method: 'POST',
        path: `${paths.sessions}/revoke`,
        summary: 'Revoke one of my sessions',
        bodyFields: ['session_id'],
        responses: { ...base.responses, 404: 'No such session of mine' },
        handler: handleRevokeSession,
      },
      {
        ...base,
        name: 'revokeOtherSessions',
        method: 'POST',
        path: `${paths.sessions}/revoke-others`,
        summary: 'Revoke all my sessions but the current one',
        handler: handleRevokeOtherSessions,
      },
      {
        ...base,
        name: 'revokeAllSessions',
        method: 'POST',
        path: `${paths.sessions}/revoke-all`,
        summary: 'Log out everywhere: revoke all my sessions and access tokens',
        handler: handleRevokeAllSessions,
      },
    );
  }
  if (config.accessTokenRenewal) {
    routes.push({
      name: 'renew',
      method: 'POST',
      path: paths.renew,
      summary: 'Trade a still-valid access token for a fresh one',
      authenticated: true,
      bodyFields: [],
      responses: { 200: 'New access token', ...AUTH_ERRORS },
      handler: handleRenew,
    });
  }
  if (config.oauthEndpoints) {
    routes.push(
      {
        name: 'oauthToken',
        method: 'POST',
        path: paths.oauthToken,
        summary: 'RFC 6749 §6 token endpoint (grant_type=refresh_token)',
        authenticated: false,
        bodyFields: ['grant_type', 'refresh_token'],
        responses: { 200: 'RFC 6749 §5.1 token response', 400: 'RFC 6749 §5.2 error (invalid_grant, ...)', 429: 'Rate limited' },
        handler: handleOAuthToken,
      },
      {
        name: 'oauthRevoke',
        method: 'POST',
        path: paths.oauthRevoke,
        summary: 'RFC 7009 token revocation (refresh or access token)',
        authenticated: false,
        bodyFields: ['token', 'token_type_hint'],
        responses: { 200: 'Revoked, or unknown', 400: 'Missing token', 429: 'Rate limited' },
        handler: handleOAuthRevoke,
      },
    );
  }
  if (paths.jwks !== null) {
    routes.push({
      name: 'jwks',
      method: 'GET',
      path: paths.jwks,
      summary: 'Public keys that verify access tokens (JWK Set)',
      authenticated: false,
      bodyFields: [],
      responses: { 200: 'JWK Set' },
      handler: (ctx) => handleJwks(ctx),
    });
  }
  if (paths.openapi !== null) {
    routes.push({
      name: 'openapi',
      method: 'GET',
      path: paths.openapi,
      summary: 'This document',
      authenticated: false,
      bodyFields: [],
      responses: { 200: 'OpenAPI 3.1 document' },
      handler: openApiHandler(routes),
    });
  }
  return routes;
}
