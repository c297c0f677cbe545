import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createJwtRefresh, type JwtRefreshOptions } from '../src/create-jwt-refresh.js';
import type { RequestInfo } from '../src/http/handler-context.js';
import { buildServer } from '../src/server/build-server.js';
import { readServerSettings } from '../src/server/server-settings.js';
import { testOptions } from './support/app-options.js';

/**
 * The OpenAPI document as a client generator reads it: request and response
 * schemas with their required fields, the media types each route accepts, the
 * cookie and the CSRF header of cookie mode, security per operation, and a
 * document that Redocly's recommended ruleset passes without a warning.
 */

type Schema = {
  $ref?: string;
  type?: string | string[];
  required?: string[];
  properties?: Record<string, Schema>;
  enum?: string[];
  const?: string;
};
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
}
interface Operation {
  operationId: string;
  summary: string;
  description: string;
  tags: string[];
  security: Array<Record<string, string[]>>;
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: Record<string, { schema: Schema }> };
  responses: Record<string, { description: string; headers?: Record<string, unknown>; content?: Record<string, { schema: Schema }> }>;
}
interface Document {
  openapi: string;
  info: { title: string; version: string; license: { name: string } };
  tags: Array<{ name: string; description: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

async function documentOf(overrides: Partial<JwtRefreshOptions> = {}, info?: RequestInfo): Promise<Document> {
  const jwtRefresh = await createJwtRefresh((await testOptions(overrides)).options);
  const response = await jwtRefresh.handle(new Request('http://x/api/openapi.json'), info);
  expect(response?.status).toBe(200);
  return (await response!.json()) as Document;
}

function operation(document: Document, method: string, path: string): Operation {
  const found = document.paths[path]?.[method];
  if (found === undefined) throw new Error(`no ${method} ${path} in ${Object.keys(document.paths).join(', ')}`);
  return found;
}

/** A schema with its `$ref` to `#/components/schemas/…` followed. */
function resolve(document: Document, schema: Schema | undefined): Schema {
  if (schema?.$ref === undefined) return schema ?? {};
  const name = schema.$ref.replace('#/components/schemas/', '');
  const target = document.components.schemas[name];
  if (target === undefined) throw new Error(`unresolved ${schema.$ref}`);
  return target;
}

function requestSchema(document: Document, op: Operation, mediaType = 'application/json'): Schema {
  return resolve(document, op.requestBody?.content[mediaType]?.schema);
}

function responseSchema(document: Document, op: Operation, status: string): Schema {
  return resolve(document, op.responses[status]?.content?.['application/json']?.schema);
}

const FORM = 'application/x-www-form-urlencoded';
const JSON_TYPE = 'application/json';
const REDOCLY = fileURLToPath(new URL('../node_modules/.bin/redocly', import.meta.url));

/** Every problem Redocly's recommended ruleset finds, errors and warnings alike, one line each. */
function lintProblems(document: unknown): string[] {
  const directory = mkdtempSync(join(tmpdir(), 'jwt-refresh-openapi-'));
  try {
    const file = join(directory, 'openapi.json');
    writeFileSync(file, JSON.stringify(document, null, 2));
    // Run in the temporary directory, so no redocly.yaml of the project is picked up.
    const result = spawnSync(REDOCLY, ['lint', file, '--extends', 'recommended', '--format', 'json'], {
      cwd: directory,
      encoding: 'utf8',
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    const report = JSON.parse(result.stdout) as {
      problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }>;
    };
    const problems = report.problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    if (result.status !== 0 && problems.length === 0) problems.push(`redocly exited ${result.status}: ${result.stderr}`);
    return problems;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function everyOperation(document: Document): Array<[string, Operation]> {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]): [string, Operation] => [`${method.toUpperCase()} ${path}`, op]),
  );
}

describe('OpenAPI document', () => {
  it('describes the default routes with real schemas, media types and security, and passes the recommended lint', async () => {
    const document = await documentOf();
    expect(document.openapi).toBe('3.1.0');
    expect(document.info.license.name).toBe('MIT');

    for (const [name, op] of everyOperation(document)) {
      expect(op.summary, name).not.toBe('');
      expect(op.description, name).not.toBe('');
      expect(op.tags, name).toHaveLength(1);
      expect(
        document.tags.map((tag) => tag.name),
        name,
      ).toContain(op.tags[0]);
    }

    const login = operation(document, 'post', '/api/login_check');
    expect(Object.keys(login.requestBody!.content)).toEqual([JSON_TYPE]);
    expect(login.requestBody!.required).toBe(true);
    expect(requestSchema(document, login).required).toEqual(['username', 'password']);
    expect(login.security).toEqual([]);
    expect(login.parameters ?? []).toEqual([]);
    const pair = responseSchema(document, login, '200');
    expect(pair.required).toEqual(['token', 'refresh_token']);
    expect(Object.keys(pair.properties!)).toEqual(['token', 'refresh_token']);
    const error = responseSchema(document, login, '401');
    expect(error.required).toEqual(['code', 'message']);
    expect(error.properties!.code!.type).toBe('integer');
    expect(Object.keys(login.responses).sort()).toEqual(['200', '400', '401', '413', '415']);
    // No cross-origin refusal outside cookie mode, and no rate limit unless enabled.
    expect(login.responses['403']).toBeUndefined();
    expect(login.responses['429']).toBeUndefined();

    for (const path of ['/api/token/refresh', '/api/token/invalidate']) {
      const op = operation(document, 'post', path);
      expect(Object.keys(op.requestBody!.content), path).toEqual([JSON_TYPE, FORM]);
      expect(op.requestBody!.required, path).toBe(true);
      expect(requestSchema(document, op).required, path).toEqual(['refresh_token']);
      expect(requestSchema(document, op, FORM).required, path).toEqual(['refresh_token']);
      expect(op.parameters ?? [], path).toEqual([]);
    }
    const refresh = operation(document, 'post', '/api/token/refresh');
    expect(refresh.security).toEqual([]);
    expect(responseSchema(document, refresh, '200').required).toEqual(['token', 'refresh_token']);
    expect(responseSchema(document, refresh, '401').required).toEqual(['code', 'message']);
    const invalidate = operation(document, 'post', '/api/token/invalidate');
    // An access token sent along is blocklisted, but none is needed.
    expect(invalidate.security).toEqual([{}, { bearerAuth: [] }]);
    expect(responseSchema(document, invalidate, '200').required).toEqual(['code', 'message']);
    expect(responseSchema(document, invalidate, '400').required).toEqual(['code', 'message']);

    // RFC 7009 beside the bundle's routes: `token` (form first, as the RFC), no client authentication.
    const tokenRevoke = operation(document, 'post', '/api/token/revoke');
    expect(tokenRevoke.security).toEqual([]);
    expect(Object.keys(tokenRevoke.requestBody!.content)).toEqual([FORM, JSON_TYPE]);
    expect(requestSchema(document, tokenRevoke, FORM).required).toEqual(['token']);
    expect(Object.keys(tokenRevoke.responses).sort()).toEqual(['200', '400', '413']);
    expect(responseSchema(document, tokenRevoke, '400').required).toEqual(['error', 'error_description']);

    const sessions = operation(document, 'get', '/api/sessions');
    expect(sessions.security).toEqual([{ bearerAuth: [] }]);
    expect(sessions.requestBody).toBeUndefined();
    const list = responseSchema(document, sessions, '200');
    expect(list.required).toEqual(['sessions']);
    expect(resolve(document, (list.properties!.sessions as { items: Schema }).items).required).toEqual([
      'id',
      'created_at',
      'last_used_at',
      'expires_at',
      'user_agent',
      'ip',
      'metadata',
      'current',
    ]);
    expect(sessions.responses['401']!.headers).toHaveProperty('WWW-Authenticate');
    const revoke = operation(document, 'post', '/api/sessions/revoke');
    expect(revoke.security).toEqual([{ bearerAuth: [] }]);
    expect(Object.keys(revoke.requestBody!.content)).toEqual([JSON_TYPE]);
    expect(requestSchema(document, revoke).required).toEqual(['session_id']);
    expect(Object.keys(revoke.responses)).toContain('404');
    for (const path of ['/api/sessions/revoke-others', '/api/sessions/revoke-all']) {
      expect(operation(document, 'post', path).requestBody, path).toBeUndefined();
    }

    const jwks = operation(document, 'get', '/.well-known/jwks.json');
    expect(jwks.security).toEqual([]);
    expect(responseSchema(document, jwks, '200').required).toEqual(['keys']);
    expect(operation(document, 'get', '/api/openapi.json').security).toEqual([]);
    expect(document.paths['/api/token/renew']).toBeUndefined();
    expect(document.paths['/oauth/token']).toBeUndefined();

    expect(lintProblems(document)).toEqual([]);
  });

  it('in cookie mode: the cookie, the cross-origin 403, no header asked, no refresh token in the body', async () => {
    const document = await documentOf({ cookie: { enabled: true }, rateLimit: { enabled: true } });
    const cookie = { name: 'refresh_token', in: 'cookie', required: false };

    const login = operation(document, 'post', '/api/login_check');
    expect(login.parameters ?? []).toEqual([]);
    expect(responseSchema(document, login, '403').required).toEqual(['code', 'message']);
    expect(login.responses['403']!.description).toContain('Cross-origin request refused.');
    expect(login.responses['200']!.headers).toHaveProperty('Set-Cookie');
    expect(login.responses['429']!.headers).toHaveProperty('Retry-After');

    for (const path of ['/api/token/refresh', '/api/token/invalidate']) {
      const op = operation(document, 'post', path);
      expect(op.parameters, path).toEqual([expect.objectContaining(cookie)]);
      // The token may come from the cookie instead.
      expect(op.requestBody!.required, path).toBe(false);
      expect(requestSchema(document, op).required ?? [], path).toEqual([]);
      expect(Object.keys(op.requestBody!.content), path).toEqual([JSON_TYPE, FORM]);
      expect(op.responses['200']!.headers, path).toHaveProperty('Set-Cookie');
      expect(Object.keys(op.responses), path).toContain('403');
    }
    const pair = responseSchema(document, operation(document, 'post', '/api/token/refresh'), '200');
    expect(pair.required).toEqual(['token']);
    expect(pair.properties).not.toHaveProperty('refresh_token');

    expect(Object.keys(operation(document, 'post', '/api/token/revoke').responses)).toContain('403');
    // Bearer routes read no cookie and are not checked.
    expect(operation(document, 'get', '/api/sessions').parameters ?? []).toEqual([]);
    expect(operation(document, 'get', '/api/sessions').responses['403']).toBeUndefined();
    expect(lintProblems(document)).toEqual([]);
  });

  it('in cookie mode: names the cookie with its prefix, and asks for the opt-in csrfHeader when set', async () => {
    const document = await documentOf({ cookie: { enabled: true, prefix: '__Host-', csrfHeader: 'x-csrf', removeTokenFromBody: false } });
    const header = expect.objectContaining({ name: 'x-csrf', in: 'header', required: true });
    const refresh = operation(document, 'post', '/api/token/refresh');
    expect(refresh.parameters).toEqual([header, expect.objectContaining({ name: '__Host-refresh_token', in: 'cookie' })]);
    expect(refresh.responses['403']!.description).toContain('Missing x-csrf header.');
    expect(operation(document, 'post', '/api/login_check').parameters).toEqual([header]);
    expect(operation(document, 'post', '/api/token/revoke').parameters).toEqual([header]);
    expect(responseSchema(document, refresh, '200').required).toEqual(['token', 'refresh_token']);
  });

  it("in cookie mode with removeTokenFromBody 'auto': the refresh token is an optional member of the token pair", async () => {
    const document = await documentOf({ cookie: { enabled: true, removeTokenFromBody: 'auto' } });
    const pair = responseSchema(document, operation(document, 'post', '/api/login_check'), '200');
    expect(pair.required).toEqual(['token']);
    expect(pair.properties).toHaveProperty('refresh_token');
  });

  it('with bundleCompat: the token may come from the query string', async () => {
    const document = await documentOf({ bundleCompat: true });
    const refresh = operation(document, 'post', '/api/token/refresh');
    expect(refresh.parameters).toEqual([expect.objectContaining({ name: 'refresh_token', in: 'query', required: false })]);
    expect(refresh.requestBody!.required).toBe(false);
    expect(lintProblems(document)).toEqual([]);
  });

  it('with oauthEndpoints and accessTokenRenewal: the RFC 6749 and RFC 7009 shapes and the renewal route', async () => {
    const document = await documentOf({ oauthEndpoints: true, accessTokenRenewal: true });

    const token = operation(document, 'post', '/oauth/token');
    expect(token.security).toEqual([]);
    expect(Object.keys(token.requestBody!.content)).toEqual([FORM, JSON_TYPE]);
    const grant = requestSchema(document, token, FORM);
    expect(grant.required).toEqual(['grant_type', 'refresh_token']);
    expect(grant.properties!.grant_type!.const).toBe('refresh_token');
    const issued = responseSchema(document, token, '200');
    expect(issued.required).toEqual(['access_token', 'token_type', 'expires_in', 'refresh_token']);
    expect(issued.properties!.expires_in!.type).toBe('integer');
    const oauthError = responseSchema(document, token, '400');
    expect(oauthError.required).toEqual(['error', 'error_description']);
    expect(oauthError.properties!.error!.enum).toEqual(['invalid_request', 'invalid_grant', 'unsupported_grant_type']);

    const revoke = operation(document, 'post', '/oauth/revoke');
    expect(Object.keys(revoke.requestBody!.content)).toEqual([FORM, JSON_TYPE]);
    expect(requestSchema(document, revoke, JSON_TYPE).required).toEqual(['token']);
    expect(responseSchema(document, revoke, '400').required).toEqual(['error', 'error_description']);

    const renew = operation(document, 'post', '/api/token/renew');
    expect(renew.security).toEqual([{ bearerAuth: [] }]);
    expect(renew.requestBody).toBeUndefined();
    expect(responseSchema(document, renew, '200').required).toEqual(['token']);
    expect(responseSchema(document, renew, '401').required).toEqual(['code', 'message']);

    expect(lintProblems(document)).toEqual([]);
  });

  it('with returnExpiration and custom names: the configured fields in requests and responses', async () => {
    const document = await documentOf({
      returnExpiration: true,
      tokenParameterName: 'rt',
      returnExpirationParameterName: 'rt_expires',
      login: { usernameField: 'email', passwordField: 'secret' },
    });
    const login = operation(document, 'post', '/api/login_check');
    expect(requestSchema(document, login).required).toEqual(['email', 'secret']);
    const pair = responseSchema(document, login, '200');
    expect(pair.required).toEqual(['token', 'rt', 'rt_expires']);
    expect(pair.properties!.rt_expires!.type).toBe('integer');
    expect(requestSchema(document, operation(document, 'post', '/api/token/refresh')).required).toEqual(['rt']);
    expect(requestSchema(document, operation(document, 'post', '/api/token/invalidate'), FORM).required).toEqual(['rt']);
    expect(lintProblems(document)).toEqual([]);
  });

  it('lists the paths as mounted under the host’s basePath', async () => {
    const document = await documentOf({}, { basePath: '/auth' });
    const paths = Object.keys(document.paths);
    expect(paths).toContain('/auth/api/login_check');
    expect(paths).toContain('/auth/.well-known/jwks.json');
    expect(paths.every((path) => path.startsWith('/auth/'))).toBe(true);
    expect(Object.keys((await documentOf({}, { basePath: '/auth/' })).paths)).toEqual(paths);
    expect(lintProblems(document)).toEqual([]);
  });
});

describe('the standalone server’s OpenAPI document', () => {
  it('lists GET /api/me and GET /health beside the token routes, and passes the recommended lint', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'jwt-refresh-openapi-server-'));
    const { app } = await buildServer(readServerSettings({ DATABASE_URL: `sqlite:${join(directory, 'db.sqlite')}`, LOG_LEVEL: 'silent' }));
    try {
      const response = await app.inject({ method: 'GET', url: '/api/openapi.json' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['cache-control']).toBe('public, max-age=300');
      const document = response.json<Document>();

      const me = operation(document, 'get', '/api/me');
      expect(me.security).toEqual([{ bearerAuth: [] }]);
      expect(responseSchema(document, me, '200').required).toEqual(expect.arrayContaining(['username', 'roles', 'iat', 'exp']));
      expect(responseSchema(document, me, '401').required).toEqual(['code', 'message']);
      const health = operation(document, 'get', '/health');
      expect(health.security).toEqual([]);
      expect(responseSchema(document, health, '200').required).toEqual(['status']);

      // The library's routes as the server configures them: cookie mode under __Host-, no header asked,
      // the refresh token in the body for clients that are no browser only.
      const login = operation(document, 'post', '/api/login_check');
      expect(login.parameters ?? []).toEqual([]);
      expect(Object.keys(login.responses)).toContain('403');
      expect(operation(document, 'post', '/api/token/refresh').parameters).toEqual([
        expect.objectContaining({ name: '__Host-refresh_token', in: 'cookie' }),
      ]);
      expect(responseSchema(document, login, '200').required).toEqual(['token']);
      expect(operation(document, 'get', '/api/openapi.json').operationId).toBe('openapi');
      expect(lintProblems(document)).toEqual([]);
    } finally {
      await app.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
