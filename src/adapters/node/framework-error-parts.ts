import { STATUS_CODES } from 'node:http';
import { JwtRefreshError } from '../../errors.js';
import { errorParts } from '../../http/error-response.js';
import { jsonParts, type ResponseParts } from '../../http/response-parts.js';
import type { Logger } from '../../logger.js';

/** Headers a response's body decides, never an error's. */
const BODY_HEADERS = new Set(['content-type', 'content-length']);

/**
 * The answer for an error a framework raised on the jwt-refresh routes
 * outside the core: Fastify's (lib/errors.js), body-parser's and
 * http-errors' (`status` or `statusCode` with `expose`), an app hook's. A
 * client error keeps its 4xx status and gets the core's JSON shape, with the
 * status's reason phrase as message (the framework's may quote the request),
 * and its safe `headers` (a rate limiter's Retry-After). It is logged at info,
 * since the client caused it: an error-level line per bad request would let
 * anyone flood the logs and page an operator. Anything else is the core's
 * generic 500, logged as an error.
 *
 * @example
 * app.setErrorHandler(async (error, request, reply) => send(reply, frameworkErrorParts(error, request.log)));
 */
export function frameworkErrorParts(error: unknown, log: Logger | undefined): ResponseParts {
  const status = clientStatusOf(error);
  if (error instanceof JwtRefreshError || status === null) return errorParts(error, log);
  const { code, headers } = error as { code?: unknown; headers?: unknown };
  log?.info({ status, ...(typeof code === 'string' ? { code } : {}) }, 'jwt-refresh request refused by the framework');
  const errorHeaders: Record<string, string> = {};
  if (typeof headers === 'object' && headers !== null) {
    for (const [name, value] of Object.entries(headers)) {
      if (typeof value === 'string' && !BODY_HEADERS.has(name.toLowerCase())) errorHeaders[name.toLowerCase()] = value;
    }
  }
  return jsonParts(status, { code: status, message: STATUS_CODES[status] ?? 'Client Error' }, errorHeaders);
}

/** The 4xx an error declares (`statusCode`, else `status`), or null. */
function clientStatusOf(error: unknown): number | null {
  if (typeof error !== 'object' || error === null) return null;
  const { statusCode, status } = error as { statusCode?: unknown; status?: unknown };
  const declared = typeof statusCode === 'number' ? statusCode : status;
  return typeof declared === 'number' && Number.isInteger(declared) && declared >= 400 && declared <= 499 ? declared : null;
}
