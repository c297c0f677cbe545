import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { jwtRefreshPlugin } from '../adapters/fastify.js';
import { createScryptHasher } from '../auth/password-hasher.js';
import { loadConfigFileWithWarnings } from '../config-file/load-config-file.js';
import { parseConfig } from '../config/parse-config.js';
import type { JwtRefreshConfig, JwtRefreshConfigInput } from '../config/schema.js';
import { createJwtRefresh, type JwtRefresh } from '../create-jwt-refresh.js';
import { openApiDocument } from '../http/openapi.js';
import { accessTokenClaimsSchema } from '../http/openapi-schemas.js';
import type { OperationDefinition } from '../http/route-definition.js';
import { BEARER_REFUSED, HOST_REFUSED, openApiOperation } from '../http/routes.js';
import type { Clock } from '../lib/clock.js';
import { describeError } from '../logger.js';
import { ensureKeysAndSecret, seedDemoUser } from './dev-material.js';
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
 * never carry a token: URLs are logged without their query string.
 */
export async function buildServer(settings: ServerSettings, now?: Clock): Promise<BuiltServer> {
  const production = settings.NODE_ENV === 'production';
  const app = Fastify({
    logger: {
      level: settings.LOG_LEVEL,
      serializers: {
        req: (request: { method: string; url: string; ip?: string }) => ({
          method: request.method,
          url: request.url.split('?')[0],
          remoteAddress: request.ip,
        }),
      },
    },
    // Our plugin parses token-route bodies itself; keep Fastify's limit for the rest.
    bodyLimit: 1_048_576,
    // A client trickling its request cannot hold a connection (or a graceful shutdown) forever.
    requestTimeout: 30_000,
    // Fastify's own answer to a malformed URL echoes it, query string (and any token) included.
    frameworkErrors: (_error, _request, reply) => void (reply as FastifyReply).code(400).send({ code: 400, message: 'Bad Request' }),
  });
  const warn = (message: string, details: Record<string, unknown> = {}) => app.log.warn(details, message);

  let config: JwtRefreshConfigInput = {};
  let databaseUrl = 'sqlite:./var/jwt-refresh.db';
  if (settings.JWT_REFRESH_CONFIG !== undefined) {
    const loaded = loadConfigFileWithWarnings(settings.JWT_REFRESH_CONFIG);
    for (const warning of loaded.warnings) warn(warning);
    config = loaded.config;
    databaseUrl = loaded.databaseUrl ?? databaseUrl;
  }
  config = withServerDefaults(withEnvironmentOverrides(config, settings));
  const { store, dataDirectory } = await openStore(settings.DATABASE_URL ?? databaseUrl);
  config = await ensureKeysAndSecret(config, dataDirectory, production, warn);
  const passwordHasher = createScryptHasher();
  const users = openUsersFile(settings.USERS_FILE ?? join(dataDirectory, 'users.json'));
  await seedDemoUser(users, passwordHasher, production, warn);

  // The server serves the OpenAPI document itself, so that it lists /api/me and /health too.
  const documentPath = parseConfig(config).routes.openapi;
  const jwtRefresh = await createJwtRefresh({
    ...config,
    routes: { ...config.routes, openapi: null },
    store,
    userProvider: users,
    passwordHasher,
    ...(now === undefined ? {} : { now }),
    logger: app.log,
  });
  await app.register(jwtRefreshPlugin, { jwtRefresh });
  // Claims are per user: never cached by a browser or a proxy.
  app.get('/api/me', { preHandler: app.requireAuth }, async (request, reply) =>
    reply.header('cache-control', 'no-store').send(request.auth?.claims),
  );
  app.get('/health', async () => ({ status: 'ok' }));
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
      summary: 'Liveness',
      description: 'Answers while the server serves requests; the store is not checked.',
      bearer: 'none',
      responses: {
        200: {
          description: 'Up',
          body: {
            name: 'Health',
            schema: {
              type: 'object',
              description: 'Liveness.',
              required: ['status'],
              properties: { status: { type: 'string', const: 'ok' } },
            },
          },
        },
        '4XX': HOST_REFUSED,
      },
    },
  ];
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
 * the demo page, scoped to the token routes, with the token kept in the body
 * too so the README's curl session works against the same server.
 */
function withServerDefaults(config: JwtRefreshConfigInput): JwtRefreshConfigInput {
  if (config.cookie !== undefined) return config;
  return { ...config, cookie: { enabled: true, removeTokenFromBody: false, path: '/api/token' } };
}

function withEnvironmentOverrides(config: JwtRefreshConfigInput, settings: ServerSettings): JwtRefreshConfigInput {
  const jwt = { ...config.jwt };
  if (settings.JWT_SECRET_KEY !== undefined) jwt.secretKey = settings.JWT_SECRET_KEY;
  if (settings.JWT_PUBLIC_KEY !== undefined) jwt.publicKey = settings.JWT_PUBLIC_KEY;
  if (settings.JWT_PASSPHRASE !== undefined) jwt.passphrase = settings.JWT_PASSPHRASE;
  return {
    ...config,
    jwt,
    ...(settings.REFRESH_TOKEN_SECRET === undefined ? {} : { secret: settings.REFRESH_TOKEN_SECRET }),
    ...(settings.REFRESH_TOKEN_PEPPER === undefined ? {} : { pepper: settings.REFRESH_TOKEN_PEPPER }),
  };
}
