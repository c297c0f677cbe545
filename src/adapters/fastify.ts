import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import type { JwtRefresh } from '../create-jwt-refresh.js';
import { BadRequestError, type JwtRefreshError, NotFoundError, PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors.js';
import { errorParts } from '../http/error-response.js';
import type { ResponseParts } from '../http/response-parts.js';
import type { AccessTokenClaims } from '../jwt/build-claims.js';
import type { Logger } from '../logger.js';
import { frameworkErrorParts } from './node/framework-error-parts.js';
import { handleNodeRequest } from './node/handle-node-request.js';
import { requestTargetUrl } from './node/request-target.js';

/** Options of the Fastify plugin. */
export interface JwtRefreshFastifyOptions {
  /** The instance from `createJwtRefresh`. */
  jwtRefresh: JwtRefresh;
  /**
   * Fastify's own register option: the token routes are served under it
   * (`/auth` + `/api/token/refresh`), after the prefix of the context the
   * plugin is registered in. The guards are not affected.
   */
  prefix?: string;
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
    /**
     * The verified access-token claims, where @fastify/jwt's `request.jwtVerify()`
     * puts them: set by `requireAuth` / `requireRole`, null on unprotected routes.
     */
    user: AccessTokenClaims | null;
  }
}

/**
 * Fastify's own refusals of a request (its lib/errors.js) that the core refuses
 * too when it reads the body itself, as the catalogue error it raises.
 */
const CATALOGUE_ERROR_BY_FASTIFY_CODE = new Map<string, () => JwtRefreshError>([
  ['FST_ERR_CTP_BODY_TOO_LARGE', () => new PayloadTooLargeError()],
  // A Content-Type header that does not parse (`;`, `garbage/ÿ`): refused before any parser runs.
  ['FST_ERR_CTP_INVALID_MEDIA_TYPE', () => new UnsupportedMediaTypeError()],
  ['FST_ERR_CTP_INVALID_CONTENT_LENGTH', () => new BadRequestError('Request body size did not match Content-Length.')],
  // RFC 10008 §2: a QUERY request must say what its body is.
  ['FST_ERR_ROUTE_MISSING_CONTENT_TYPE', () => new BadRequestError('Missing Content-Type header.')],
]);

/**
 * The answer for an error raised on the token routes outside the core: by
 * Fastify (body limits, a Content-Type it cannot parse, RFC 10008's QUERY
 * rules) or by the app's hooks. Fastify's refusals the core makes too get the
 * catalogue's error; any other client error keeps its status in the core's
 * JSON shape ({@link frameworkErrorParts}), logged at info, never as an error.
 */
function fastifyErrorParts(error: unknown, log: Logger): ResponseParts {
  const { code } = (error ?? {}) as { code?: unknown };
  const catalogued = typeof code === 'string' ? CATALOGUE_ERROR_BY_FASTIFY_CODE.get(code) : undefined;
  return catalogued === undefined ? frameworkErrorParts(error, log) : errorParts(catalogued());
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

  const guard =
    (role?: string): preHandlerAsyncHookHandler =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        const claims = await jwtRefresh.verifyRequest(request, role === undefined ? {} : { role });
        request.auth = { claims };
        request.user = claims;
      } catch (error) {
        sendParts(reply, errorParts(error, request.log));
      }
    };

  fastify.decorate('jwtRefresh', jwtRefresh);
  fastify.decorateRequest('auth', null);
  // @fastify/jwt and @fastify/passport decorate `user` as well: whichever came first serves.
  if (!fastify.hasRequestDecorator('user')) fastify.decorateRequest('user', null);
  fastify.decorate('requireAuth', guard());
  fastify.decorate('requireRole', (role: string) => guard(role));

  // The token routes live in their own encapsulated context: the raw body goes
  // to the core untouched (it decides JSON vs form vs garbage) without changing
  // how the application's other routes parse bodies. fastify-plugin shares this
  // plugin's context with its parent, where Fastify ignores `prefix`: the
  // routes' own context applies it.
  await fastify.register(
    async (routes) => {
      const basePath = routes.prefix;
      routes.removeAllContentTypeParsers();
      routes.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.maxBodyBytes }, (_request, body, done) => {
        done(null, body);
      });
      routes.setErrorHandler(async (error, request, reply) => sendParts(reply, fastifyErrorParts(error, request.log)));
      for (const path of new Set(jwtRefresh.routes.map((route) => route.path))) {
        // Every method Fastify routes, so the core can answer 405 with Allow for the wrong one.
        routes.all(path, async (request, reply) => {
          // The configured path, whatever prefix it is served under: the core matches its own paths.
          // Its query as the target has it, once the target is known to be well formed (userinfo, a fragment: 400).
          let target: URL;
          try {
            target = requestTargetUrl(request.url);
          } catch (error) {
            return sendParts(reply, errorParts(error));
          }
          const parts = await handleNodeRequest(
            jwtRefresh,
            request.method,
            target,
            request.headers,
            { clientIp: request.ip, body: request.body as Buffer | undefined, log: request.log, basePath },
            path,
          );
          return sendParts(reply, parts ?? errorParts(new NotFoundError()));
        });
      }
    },
    { prefix: options.prefix },
  );
}

/**
 * The Fastify 5 plugin: the login, refresh and invalidate routes of SPEC
 * §2/§3/§5 (under register's `prefix`, if any), plus `fastify.requireAuth` /
 * `fastify.requireRole(role)` guards, which set `request.auth.claims` and
 * `request.user`.
 *
 * @example
 * await app.register(jwtRefreshPlugin, { jwtRefresh: await createJwtRefresh({ store, userProvider, jwt }), prefix: '/auth' });
 * app.get('/api/me', { preHandler: app.requireAuth }, async (request) => request.user);
 */
export const jwtRefreshPlugin = fastifyPlugin(jwtRefreshFastify, { fastify: '5.x', name: 'jwt-refresh' });

export default jwtRefreshPlugin;
