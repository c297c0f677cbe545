import express, { type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { AccessRequirements, JwtRefresh } from '../create-jwt-refresh.js';
import { PayloadTooLargeError, UnsupportedMediaTypeError } from '../errors.js';
import { errorParts } from '../http/error-response.js';
import type { AccessTokenClaims } from '../jwt/build-claims.js';
import { toCoreRequest } from './node/node-request.js';
import { bodyFromParsed, readNodeBody } from './node/read-node-body.js';
import { writeNodeParts } from './node/write-node-response.js';

declare global {
  // Express's own extension point for request properties (@types/express-serve-static-core).
  namespace Express {
    interface Request {
      /** The verified access-token claims, set by `requireAuth` / `requireRole`. */
      auth?: { claims: AccessTokenClaims };
    }
  }
}

/** Hands the request to the core with `body` and writes its answer; a path the core does not serve goes on to `next`. */
async function answer(jwtRefresh: JwtRefresh, req: Request, res: Response, next: NextFunction, body: Uint8Array | string): Promise<void> {
  const parts = await jwtRefresh.handleToParts(toCoreRequest(req.method, req.url, req.headers), { clientIp: req.ip ?? null, body });
  if (parts === null) return next();
  writeNodeParts(res, parts);
}

/**
 * An error middleware that answers errors on the jwt-refresh paths in the
 * core's JSON shape, and passes every other error on.
 *
 * The router returned by {@link createJwtRefreshRouter} already holds one for
 * errors raised inside it. Mount this one too when the app runs its own body
 * parsers (`express.json()`, `express.urlencoded()`) before the router: Express
 * skips a mounted router while an error propagates, so only an app-level error
 * middleware sees a parser's 413 or JSON syntax error.
 *
 * @example
 * app.use(express.json());
 * app.use(createJwtRefreshRouter(jwtRefresh));
 * app.use(jwtRefreshErrorHandler(jwtRefresh));
 */
export function jwtRefreshErrorHandler(jwtRefresh: JwtRefresh): ErrorRequestHandler {
  const paths = new Set(jwtRefresh.routes.map((route) => route.path));
  return async (error: unknown, req, res, next) => {
    if (!paths.has(req.path) || res.headersSent) return next(error);
    // body-parser's error `type`s (https://github.com/expressjs/body-parser#errors).
    const { type, body } = (error ?? {}) as { type?: unknown; body?: unknown };
    // The parser keeps the text it could not parse: the core judges it as it would have without that parser.
    if (type === 'entity.parse.failed' && typeof body === 'string') return answer(jwtRefresh, req, res, next, body);
    if (type === 'entity.too.large') return writeNodeParts(res, errorParts(new PayloadTooLargeError()));
    if (type === 'charset.unsupported' || type === 'encoding.unsupported') {
      return writeNodeParts(res, errorParts(new UnsupportedMediaTypeError()));
    }
    writeNodeParts(res, errorParts(error, jwtRefresh.logger));
  };
}

/**
 * An Express 5 router serving every jwt-refresh route (login, refresh,
 * invalidate, sessions). Every method on those paths reaches the core, which
 * answers 405 with `Allow` for a wrong one. Works with or without the app's
 * own body parsers: a body they parsed is handed to the core re-serialised,
 * otherwise the router reads at most `config.maxBodyBytes` itself.
 *
 * @example
 * app.use(createJwtRefreshRouter(jwtRefresh));
 * app.get('/api/me', requireAuth(jwtRefresh), (req, res) => { res.json(req.auth?.claims); });
 */
export function createJwtRefreshRouter(jwtRefresh: JwtRefresh): Router {
  // Exact matching, as the core matches its paths.
  const router = express.Router({ caseSensitive: true, strict: true });
  const route: RequestHandler = async (req, res, next) => {
    const body = bodyFromParsed(req.body, req.headers['content-type'], req.headers['content-length']) ?? (await readNodeBody(req, jwtRefresh.config.maxBodyBytes));
    await answer(jwtRefresh, req, res, next, body);
  };
  for (const path of new Set(jwtRefresh.routes.map((definition) => definition.path))) router.all(path, route);
  router.use(jwtRefreshErrorHandler(jwtRefresh));
  return router;
}

function guard(jwtRefresh: JwtRefresh, requirements: AccessRequirements): RequestHandler {
  return async (req, res, next) => {
    try {
      req.auth = { claims: await jwtRefresh.verifyAuthorization(req.headers.authorization, requirements) };
    } catch (error) {
      return writeNodeParts(res, errorParts(error, jwtRefresh.logger));
    }
    next();
  };
}

/**
 * Middleware: 401 (JSON, `WWW-Authenticate: Bearer`) unless the request has a
 * valid Bearer access token; sets `req.auth.claims`.
 *
 * @example
 * app.get('/api/me', requireAuth(jwtRefresh), (req, res) => { res.json(req.auth?.claims); });
 */
export function requireAuth(jwtRefresh: JwtRefresh): RequestHandler {
  return guard(jwtRefresh, {});
}

/**
 * Middleware: like {@link requireAuth}, then 403 unless the token's `roles` hold `role`.
 *
 * @example
 * app.get('/api/admin', requireRole(jwtRefresh, 'ROLE_ADMIN'), (req, res) => { res.json({ ok: true }); });
 */
export function requireRole(jwtRefresh: JwtRefresh, role: string): RequestHandler {
  return guard(jwtRefresh, { role });
}
