import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { jwtRefreshPlugin } from '../adapters/fastify.js';
import { createScryptHasher } from '../auth/password-hasher.js';
import { loadConfigFileWithWarnings } from '../config/load-config-file.js';
import type { JwtRefreshConfigInput } from '../config/schema.js';
import { createJwtRefresh, type JwtRefresh } from '../create-jwt-refresh.js';
import type { Clock } from '../lib/clock.js';
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
  });
  const warn = (message: string, details: Record<string, unknown> = {}) => app.log.warn(details, message);

  let config: JwtRefreshConfigInput = {};
  if (settings.JWT_REFRESH_CONFIG !== undefined) {
    const loaded = loadConfigFileWithWarnings(settings.JWT_REFRESH_CONFIG);
    for (const warning of loaded.warnings) warn(warning);
    config = loaded.config;
  }
  config = withServerDefaults(withEnvironmentOverrides(config, settings));

  const { databaseUrl = 'sqlite:./var/jwt-refresh.db', ...libraryConfig } = config;
  config = libraryConfig;
  const { store, dataDirectory } = await openStore(settings.DATABASE_URL ?? databaseUrl);
  config = await ensureKeysAndSecret(config, dataDirectory, production, warn);
  const passwordHasher = createScryptHasher();
  const users = openUsersFile(settings.USERS_FILE ?? join(dataDirectory, 'users.json'));
  await seedDemoUser(users, passwordHasher, production, warn);

  const jwtRefresh = await createJwtRefresh({
    ...config,
    store,
    userProvider: users,
    passwordHasher,
    ...(now === undefined ? {} : { now }),
    onError: (error) => app.log.error({ error: error instanceof Error ? error.name : typeof error }, 'request failed'),
  });
  await app.register(jwtRefreshPlugin, { jwtRefresh });
  app.get('/api/me', { preHandler: app.requireAuth }, async (request) => request.auth?.claims);
  app.get('/health', async () => ({ status: 'ok' }));
  // Fastify's own 404 logs the full URL, query string (and any token in it) included.
  app.setNotFoundHandler(async (_request, reply) => reply.code(404).send({ code: 404, message: 'Not Found' }));
  const demoPage = await readFile(new URL('../../public/index.html', import.meta.url), 'utf8');
  app.get('/', async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      // The page runs only its own inline script and talks only to this origin.
      .header('content-security-policy', "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; frame-ancestors 'none'")
      .send(demoPage),
  );
  app.addHook('onClose', async () => jwtRefresh.close());
  return { app, jwtRefresh };
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

