import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { jwtRefreshPlugin } from '../adapters/fastify.js';
import { createPasswordHasher } from '../auth/create-password-hasher.js';
import { withEnvironmentOverrides } from '../config-file/environment-overrides.js';
import { loadConfigFileWithWarnings } from '../config-file/load-config-file.js';
import { parseConfig } from '../config/parse-config.js';
import type { JwtRefreshConfig, JwtRefreshConfigInput } from '../config/schema.js';
import { createJwtRefresh, type JwtRefresh } from '../create-jwt-refresh.js';
import { STORE_RETRY_AFTER_SECONDS } from '../http/error-response.js';
import { openApiDocument } from '../http/openapi.js';
import { accessTokenClaimsSchema } from '../http/openapi-schemas.js';
import type { OperationDefinition } from '../http/route-definition.js';
import { BEARER_REFUSED, HOST_REFUSED, openApiOperation } from '../http/routes.js';
import type { Clock } from '../lib/clock.js';
import { describeError, loggableRequestTarget } from '../logger.js';
import { ensureKeysAndSecret, seedDemoUser } from './dev-material.js';
import { clientErrorHandler } from './client-error-handler.js';
import { openStore } from './open-store.js';
import type { ServerSettings } from './server-settings.js';
import { openUsersFile } from './users-file.js';

/** The standalone server, built but not listening. */
export interface BuiltServer {
  app: FastifyInstance;
  jwtRefresh: JwtRefresh;
}

/**
 * Assembles the standalone server (SPEC §12): config file + environment,
 * store from DATABASE_URL, users file, dev keys outside production, the
 * Fastify plugin, `GET /api/me` and `GET /health`. Logs are JSON lines and
 * never carry a token: URLs are logged without their query string, fragment or userinfo.
 */
export async function buildServer(settings: ServerSettings, now?: Clock): Promise<BuiltServer> {
  const production = settings.NODE_ENV === 'production';
  const app = Fastify({
    logger: {
      level: settings.LOG_LEVEL,
      serializers: {
        req: (request: { method: string; url: string; ip?: string }) => ({
          method: request.method,
          url: loggableRequestTarget(request.url),
          remoteAddress: request.ip,
        }),
      },
    },
    // Our plugin parses token-route bodies itself; keep Fastify's limit for the rest.
    bodyLimit: 1_048_576,
    // A client trickling its request cannot hold a connection (or a graceful shutdown) forever.
    requestTimeout: 30_000,
    // Node enforces requestTimeout only once headersTimeout (60 s) has passed too, and checks
    // every 30 s: without these a trickled body held a connection ~90 s, not the documented 30 s.
    http: { headersTimeout: 30_000, connectionsCheckingInterval: 1_000 },
    // Node's refusals before any route (that timeout, a request that does not parse): our JSON, logged at info.
    clientErrorHandler,
    // Fastify's own answer to a malformed URL echoes it, query string (and any token) included.
    frameworkErrors: (_error, _request, reply) => void (reply as FastifyReply).code(400).send({ code: 400, message: 'Bad Request' }),
  });
  const warn = (message: string, details: Record<string, unknown> = {}) => app.log.warn(details, message);

  let config: JwtRefreshConfigInput = {};
  let databaseUrl = 'sqlite:./var/jwt-refresh.db';
  let readByFile: string[] = [];
  if (settings.JWT_REFRESH_CONFIG !== undefined) {
    const loaded = loadConfigFileWithWarnings(settings.JWT_REFRESH_CONFIG);
    for (const warning of loaded.warnings) warn(warning);
    config = loaded.config;
    databaseUrl = loaded.databaseUrl ?? databaseUrl;
    readByFile = loaded.environmentRead;
  }
  config = withServerDefaults(withEnvironmentOverrides(config, settings, readByFile));
  const { store, dataDirectory } = await openStore(settings.DATABASE_URL ?? databaseUrl, { logger: app.log });
  config = await ensureKeysAndSecret(config, dataDirectory, production, warn);
  // For the demo user; createJwtRefresh builds its own from the same options and checks at start that argon2 loads.
  const passwordHasher = createPasswordHasher(parseConfig(config).passwordHashing);
  const users = openUsersFile(settings.USERS_FILE ?? join(dataDirectory, 'users.json'));
  await seedDemoUser(users, passwordHasher, production, warn);

  // The server serves the OpenAPI document itself, so that it lists /api/me and /health too.
  const documentPath = parseConfig(config).routes.openapi;
  const jwtRefresh = await createJwtRefresh({
    ...config,
    routes: { ...config.routes, openapi: null },
    store,
    userProvider: users,
    ...(now === undefined ? {} : { now }),
    logger: app.log,
  });
  await app.register(jwtRefreshPlugin, { jwtRefresh });
  // Claims are per user: never cached by a browser or a proxy.
  app.get('/api/me', { preHandler: app.requireAuth }, async (request, reply) =>
    reply.header('cache-control', 'no-store').send(request.auth?.claims),
  );
  // Readiness: 503 while the store does not answer its ping, so a load balancer stops sending traffic that could only fail.
  app.get('/health', async (_request, reply) => {
    const health = await jwtRefresh.health();
    if (health.status !== 'ok') reply.code(503).header('retry-after', String(STORE_RETRY_AFTER_SECONDS));
    return reply.header('cache-control', 'no-store').send(health);
  });
  if (documentPath !== null) {
    const document = openApiDocument([...jwtRefresh.routes, ...serverOperations(jwtRefresh.config), openApiOperation(documentPath)]);
    app.get(documentPath, async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(document));
  }
  // Fastify's own 404 logs the full URL, query string (and any token in it) included.
  app.setNotFoundHandler(async (_request, reply) => reply.code(404).send({ code: 404, message: 'Not Found' }));
  // The routes outside the token plugin answer errors in the same shape, never Fastify's own
  // (which names its error codes) and never a stack trace.
  app.setErrorHandler(async (error: { statusCode?: number }, _request, reply) => {
    const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    if (status === 500) app.log.error({ error: describeError(error) }, 'request failed');
    return reply.code(status).send({
      code: status,
      message: status === 413 ? 'Request body too large.' : status === 500 ? 'Internal Server Error' : 'Bad Request',
    });
  });
  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
  });
  const demoPage = await readFile(new URL('../../public/index.html', import.meta.url), 'utf8');
  const demoPolicy = contentSecurityPolicy(demoPage);
  app.get('/', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', demoPolicy).header('cache-control', 'no-cache').send(demoPage),
  );
  app.addHook('onClose', async () => jwtRefresh.close());
  return { app, jwtRefresh };
}

/** The server's own routes, as its OpenAPI document lists them beside the library's. */
function serverOperations(config: JwtRefreshConfig): OperationDefinition[] {
  const tag = { name: 'server', description: 'Routes of the standalone server, not of the library.' };
  const common = { tag, method: 'GET', parameters: [], requestBody: null } as const;
  return [
    {
      ...common,
      name: 'me',
      path: '/api/me',
      summary: 'The claims of my access token',
      description: 'The verified claims of the Bearer token; a revoked token is refused. Never cached.',
      bearer: 'required',
      responses: { 200: { description: 'The claims', body: accessTokenClaimsSchema(config) }, 401: BEARER_REFUSED },
    },
    {
      ...common,
      name: 'health',
      path: '/health',
      summary: 'Readiness: the server and its store',
      description:
        'Pings the store (within its operation timeout, 5 s at most): 200 while it answers, 503 while it does not. Never cached.',
      bearer: 'none',
      responses: {
        200: { description: 'Up, the store answers', body: healthBody('ok') },
        503: {
          description: 'The store does not answer; retry later',
          body: healthBody('unavailable'),
          headers: { 'Retry-After': { description: 'Seconds to wait before asking again', schema: { type: 'integer' } } },
        },
        '4XX': HOST_REFUSED,
      },
    },
  ];
}

/** The body of `/health` in state `state`. */
function healthBody(state: 'ok' | 'unavailable') {
  const value = { type: 'string', const: state } as const;
  return {
    name: state === 'ok' ? 'Health' : 'HealthUnavailable',
    schema: {
      type: 'object',
      description: 'Readiness: `status` overall, `store` the store ping.',
      required: ['status'],
      properties: { status: value, store: value },
    },
  };
}

/**
 * The demo page's policy: it runs only its own inline script and style (pinned by
 * hash, so an injected one does not run) and talks only to this origin.
 */
function contentSecurityPolicy(page: string): string {
  const hashes = (tag: string) =>
    [...page.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))]
      .map((match) => `'sha256-${createHash('sha256').update(match[1]!).digest('base64')}'`)
      .join(' ');
  return `default-src 'none'; script-src ${hashes('script')}; style-src ${hashes('style')}; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'`;
}

/**
 * The server's own defaults where the config says nothing: cookie mode for
 * the demo page (docs/cookies.md). The cookie is `__Host-refresh_token`:
 * `Secure`, `Path=/`, no `Domain`, so no sibling subdomain and no plain-http
 * page can plant or shadow it (RFC 6265bis §4.1.3.2); the price is the path
 * scope, so the HttpOnly cookie also reaches routes that ignore it. The
 * token goes in the body only to clients that are no browser (curl, apps),
 * so the README's curl session works and the demo page's script never sees it.
 */
function withServerDefaults(input: JwtRefreshConfigInput): JwtRefreshConfigInput {
  // Rate limits on unless the config file says otherwise: a server on the network counts
  // logins per IP from the start (docs/server.md; `rateLimit.enabled: false` turns them off).
  const config = { ...input, rateLimit: { enabled: true, ...input.rateLimit } };
  if (config.cookie !== undefined) return config;
  return { ...config, cookie: { enabled: true, removeTokenFromBody: 'auto', prefix: '__Host-', path: '/' } };
}
