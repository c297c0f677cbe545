import express, {
  type ErrorRequestHandler,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import type { AccessRequirements, JwtRefresh } from '../create-jwt-refresh.js';
import {
  JwtNotFoundError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  type JwtRefreshError,
  type JwtRefreshErrorCode,
} from '../errors.js';
import { errorParts, isClientError } from '../http/error-response.js';
import type { AccessTokenClaims } from '../jwt/build-claims.js';
import { frameworkErrorParts } from './node/framework-error-parts.js';
import { handleNodeRequest } from './node/handle-node-request.js';
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

/**
 * Hands the request to the core with `body` and writes its answer; a path the core does not serve goes on to `next`.
 * Under `app.use('/auth', router)` Express strips the mount path from `req.url` and keeps it in `req.baseUrl`.
 */
async function answer(jwtRefresh: JwtRefresh, req: Request, res: Response, next: NextFunction, body: Uint8Array | string): Promise<void> {
  const parts = await handleNodeRequest(jwtRefresh, req.method, req.url, req.headers, {
    clientIp: req.ip ?? null,
    body,
    basePath: req.baseUrl,
  });
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
 * middleware sees a parser's 413 or JSON syntax error. Mount it at the
 * router's path, if any (`app.use('/auth', jwtRefreshErrorHandler(jwtRefresh))`).
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
    // Other body-parser refusals (request.aborted, parameters.too.many, ...) keep their 4xx.
    writeNodeParts(res, frameworkErrorParts(error, jwtRefresh.logger));
  };
}

/**
 * An Express 5 router serving every jwt-refresh route (login, refresh,
 * invalidate, sessions). Every method on those paths reaches the core, which
 * answers 405 with `Allow` for a wrong one. Works with or without the app's
 * own body parsers: a body they parsed is handed to the core re-serialised,
 * otherwise the router reads at most `config.maxBodyBytes` itself. Mounted at
 * a path (`app.use('/auth', router)`), it serves the routes under it and tells
 * the core that path (`RequestInfo.basePath`).
 *
 * @example
 * app.use(createJwtRefreshRouter(jwtRefresh));
 * app.get('/api/me', requireAuth(jwtRefresh), (req, res) => { res.json(req.auth?.claims); });
 */
export function createJwtRefreshRouter(jwtRefresh: JwtRefresh): Router {
  // Exact matching, as the core matches its paths.
  const router = express.Router({ caseSensitive: true, strict: true });
  const route: RequestHandler = async (req, res, next) => {
    const body =
      bodyFromParsed(req.body, req.headers['content-type'], req.headers['content-length']) ??
      (await readNodeBody(req, jwtRefresh.config.maxBodyBytes));
    await answer(jwtRefresh, req, res, next, body);
  };
  for (const path of new Set(jwtRefresh.routes.map((definition) => definition.path))) router.all(path, route);
  router.use(jwtRefreshErrorHandler(jwtRefresh));
  return router;
}

/**
 * A guard's refusal, as {@link requireAuth} and {@link requireRole} hand it to
 * `next()` with `passErrors`: the shape of express-jwt's `UnauthorizedError`
 * (`name`, `status`, `code`, `inner`; express-jwt-permissions uses the same
 * name for its 403), plus the `statusCode` and `headers` Express's own final
 * handler answers with. `code` and `message` are the catalogue's
 * (`ERR_JWT_EXPIRED`, "Expired JWT Token"), safe to send to the client;
 * `inner` (also `cause`) is the catalogue error itself.
 *
 * @example
 * app.use((error, req, res, next) => {
 *   if (!(error instanceof UnauthorizedError)) return next(error);
 *   res.status(error.status).set(error.headers).json({ code: error.status, message: error.message });
 * });
 */
export class UnauthorizedError extends Error {
  override readonly name = 'UnauthorizedError';
  /** 401, or 403 for a missing role: `STATUS_BY_CODE[code]`. */
  readonly status: number;
  /** The same as `status`, for handlers written for http-errors. */
  readonly statusCode: number;
  /** The catalogue code of the refusal. */
  readonly code: JwtRefreshErrorCode;
  /** Headers the answer needs: `WWW-Authenticate: Bearer` on a 401 (RFC 6750 §3), and the core's no-store headers. */
  readonly headers: Record<string, string>;
  /** The catalogue error (express-jwt's name for it). */
  readonly inner: JwtRefreshError;

  constructor(refusal: JwtRefreshError) {
    super(refusal.message, { cause: refusal });
    const parts = errorParts(refusal);
    this.status = parts.status;
    this.statusCode = parts.status;
    this.code = refusal.code;
    // Content type and length are the error handler's to write.
    this.headers = Object.fromEntries(parts.headers.filter(([name]) => name !== 'content-type' && name !== 'content-length'));
    this.inner = refusal;
  }
}

/** Options of {@link requireRole}. */
export interface RequireRoleOptions {
  /**
   * Hand a refusal to `next()` as an {@link UnauthorizedError} instead of
   * answering it (express-jwt's way), for apps that answer every error in one
   * error middleware. A server-side failure (the store, the user provider with
   * `loadUser`) goes to `next()` as it was. Default false: the guard answers
   * 401/403 itself, in the core's JSON.
   */
  passErrors?: boolean;
}

/** Options of {@link requireAuth}. */
export interface RequireAuthOptions extends RequireRoleOptions {
  /**
   * With false, a request without a Bearer token goes on without `req.auth`
   * (express-jwt's `credentialsRequired: false`), for routes that serve
   * everyone but personalise for users. A token that is there but bad is still
   * refused. Default true.
   */
  credentialsRequired?: boolean;
}

function guard(jwtRefresh: JwtRefresh, requirements: AccessRequirements, options: RequireAuthOptions): RequestHandler {
  const { credentialsRequired = true, passErrors = false } = options;
  return async (req, res, next) => {
    try {
      req.auth = { claims: await jwtRefresh.verifyRequest(req, requirements) };
    } catch (error) {
      if (!credentialsRequired && error instanceof JwtNotFoundError) return next();
      if (passErrors) return next(isClientError(error) ? new UnauthorizedError(error) : error);
      return writeNodeParts(res, errorParts(error, jwtRefresh.logger));
    }
    next();
  };
}

/**
 * Middleware: 401 (JSON, `WWW-Authenticate: Bearer`) unless the request has a
 * valid Bearer access token; sets `req.auth.claims`. See
 * {@link RequireAuthOptions} for optional authentication and for passing
 * refusals to `next()`.
 *
 * @example
 * app.get('/api/me', requireAuth(jwtRefresh), (req, res) => { res.json(req.auth?.claims); });
 * app.get('/api/feed', requireAuth(jwtRefresh, { credentialsRequired: false }), (req, res) => { res.json(feedFor(req.auth?.claims.sub)); });
 */
export function requireAuth(jwtRefresh: JwtRefresh, options: RequireAuthOptions = {}): RequestHandler {
  return guard(jwtRefresh, {}, options);
}

/**
 * Middleware: like {@link requireAuth}, then 403 unless the token's `roles` hold `role`.
 *
 * @example
 * app.get('/api/admin', requireRole(jwtRefresh, 'ROLE_ADMIN'), (req, res) => { res.json({ ok: true }); });
 */
export function requireRole(jwtRefresh: JwtRefresh, role: string, options: RequireRoleOptions = {}): RequestHandler {
  return guard(jwtRefresh, { role }, options);
}
