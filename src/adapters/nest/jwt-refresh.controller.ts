import { All, Controller, Inject, Req, Res, type Type } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JwtRefresh } from '../../create-jwt-refresh.js';
import { NotFoundError } from '../../errors.js';
import { errorParts } from '../../http/error-response.js';
import type { ResponseParts } from '../../http/response-parts.js';
import { frameworkErrorParts } from '../node/framework-error-parts.js';
import { handleNodeRequest } from '../node/handle-node-request.js';
import { bodyFromParsed, readNodeBody } from '../node/read-node-body.js';
import { requestTargetUrl } from '../node/request-target.js';
import { writeNodeParts } from '../node/write-node-response.js';
import { JWT_REFRESH } from './tokens.js';

/** An Express request as Nest hands it to a controller. */
interface ExpressRequest extends IncomingMessage {
  body?: unknown;
  ip?: string;
}

async function answerAt(jwtRefresh: JwtRefresh, path: string, req: ExpressRequest, res: ServerResponse): Promise<void> {
  let parts: ResponseParts | null;
  try {
    const body =
      bodyFromParsed(req.body, req.headers['content-type'], req.headers['content-length']) ??
      (await readNodeBody(req, jwtRefresh.config.maxBodyBytes));
    // The configured path, whatever prefix Nest serves the route under: the core matches its own paths.
    const target = requestTargetUrl(req.url ?? '/');
    const basePath = mountPrefix(target.pathname, path);
    parts = await handleNodeRequest(
      jwtRefresh,
      req.method ?? 'GET',
      target,
      req.headers,
      { clientIp: req.ip ?? null, body, basePath },
      path,
    );
  } catch (error) {
    parts = frameworkErrorParts(error, jwtRefresh.logger);
  }
  writeNodeParts(res, parts ?? errorParts(new NotFoundError()));
}

/**
 * What Nest put before `path` in the requested `pathname` (its global prefix),
 * Express having matched one to the other up to case and a trailing slash.
 */
function mountPrefix(pathname: string, path: string): string {
  const matched = pathname.length > 1 && pathname.endsWith('/') && !path.endsWith('/') ? pathname.slice(0, -1) : pathname;
  return matched.slice(0, Math.max(0, matched.length - path.length));
}

/**
 * A controller serving the jwt-refresh routes at `routes`' paths (every method,
 * so the core answers 405 with `Allow`), on the Express platform. For apps that
 * want the routes in Nest's router: the app's global prefix, guards (e.g. a
 * throttler on login) and interceptors apply to them, and tools that list
 * controllers see them. Its answers are the core's, written directly; the
 * global prefix reaches the core as `basePath`, for documents that list the
 * routes as served.
 *
 * A class per call, as route paths are decorator metadata: build it from the
 * same config as the instance, and turn the module's own routes off.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [JwtRefreshModule.forRoot({ jwtRefresh, serveRoutes: false })],
 *   controllers: [createJwtRefreshController(jwtRefresh.routes)],
 * })
 * class AppModule {}
 * ```
 */
export function createJwtRefreshController(routes: ReadonlyArray<{ path: string }>): Type<object> {
  class JwtRefreshController {
    constructor(readonly jwtRefresh: JwtRefresh) {}
  }
  const { prototype } = JwtRefreshController;
  [...new Set(routes.map((route) => route.path))].forEach((path, index) => {
    const name = `route${index}`;
    const descriptor: PropertyDescriptor = {
      configurable: true,
      writable: true,
      value(this: JwtRefreshController, req: ExpressRequest, res: ServerResponse) {
        return answerAt(this.jwtRefresh, path, req, res);
      },
    };
    Object.defineProperty(prototype, name, descriptor);
    Req()(prototype, name, 0);
    Res()(prototype, name, 1);
    All(path)(prototype, name, descriptor);
  });
  Inject(JWT_REFRESH)(JwtRefreshController, undefined, 0);
  Controller()(JwtRefreshController);
  return JwtRefreshController;
}
