import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { JwtRefresh } from '../create-jwt-refresh.js';
import { NotFoundError, PayloadTooLargeError } from '../errors.js';
import { errorParts } from '../http/error-response.js';
import type { ResponseParts } from '../http/response-parts.js';
import type { AccessTokenClaims } from '../jwt/build-claims.js';
import { toCoreRequest } from './node/node-request.js';

/** Options of the Fastify plugin. */
export interface JwtRefreshFastifyOptions {
  /** The instance from `createJwtRefresh`. */
  jwtRefresh: JwtRefresh;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The jwt-refresh instance the plugin was registered with. */
    jwtRefresh: JwtRefresh;
    /** preHandler: 401 unless the request has a valid Bearer token; sets `request.auth`. */
    requireAuth: preHandlerAsyncHookHandler;
    /** preHandler factory: like `requireAuth`, then 403 unless the token's `roles` hold `role`. */
    requireRole(role: string): preHandlerAsyncHookHandler;
  }
  interface FastifyRequest {
    /** The verified access-token claims, set by `requireAuth`; null on unprotected routes. */
    auth: { claims: AccessTokenClaims } | null;
  }
}

function sendParts(reply: FastifyReply, parts: ResponseParts): FastifyReply {
  reply.code(parts.status);
  for (const [name, value] of parts.headers) reply.header(name, value);
  if (parts.setCookies.length > 0) reply.header('set-cookie', parts.setCookies);
  return reply.send(parts.body);
}

async function jwtRefreshFastify(fastify: FastifyInstance, options: JwtRefreshFastifyOptions): Promise<void> {
  const { jwtRefresh } = options;
  const { config } = jwtRefresh;

  const guard = (role?: string): preHandlerAsyncHookHandler =>
    async function (request: FastifyRequest, reply: FastifyReply) {
      try {
        const claims = await jwtRefresh.verifyAuthorization(request.headers.authorization, role === undefined ? {} : { role });
        request.auth = { claims };
      } catch (error) {
        sendParts(reply, errorParts(error, request.log));
      }
    };

  fastify.decorate('jwtRefresh', jwtRefresh);
  fastify.decorateRequest('auth', null);
  fastify.decorate('requireAuth', guard());
  fastify.decorate('requireRole', (role: string) => guard(role));

  // The token routes live in their own encapsulated context: the raw body goes
  // to the core untouched (it decides JSON vs form vs garbage) without changing
  // how the application's other routes parse bodies.
  await fastify.register(async (routes) => {
    routes.removeAllContentTypeParsers();
    routes.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.maxBodyBytes }, (_request, body, done) => {
      done(null, body);
    });
    routes.setErrorHandler(async (error: { code?: string; statusCode?: number }, request, reply) => {
      const known = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? new PayloadTooLargeError() : error;
      return sendParts(reply, errorParts(known, request.log));
    });
    for (const path of new Set(jwtRefresh.routes.map((route) => route.path))) {
      // Every method, so the core can answer 405 with Allow for the wrong one.
      routes.all(path, async (request, reply) => {
        const parts = await jwtRefresh.handleToParts(toCoreRequest(request.method, request.url, request.headers), {
          clientIp: request.ip,
          body: request.body as Buffer | undefined,
          log: request.log,
        });
        return sendParts(reply, parts ?? errorParts(new NotFoundError()));
      });
    }
  });
}

/**
 * The Fastify 5 plugin: the login, refresh and invalidate routes of SPEC
 * §2/§3/§5, plus `fastify.requireAuth` / `fastify.requireRole(role)` guards.
 *
 * @example
 * await app.register(jwtRefreshPlugin, { jwtRefresh: await createJwtRefresh({ store, userProvider, jwt }) });
 * app.get('/api/me', { preHandler: app.requireAuth }, async (request) => request.auth?.claims);
 */
export const jwtRefreshPlugin = fastifyPlugin(jwtRefreshFastify, { fastify: '5.x', name: 'jwt-refresh' });

export default jwtRefreshPlugin;
