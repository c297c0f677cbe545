import { errorResponse as buildErrorResponse, type ErrorReporter } from './error-response.js';
import { finalizeResponse } from './json-response.js';

/**
 * The JSON response jwt-refresh gives for `error` (`{"code", "message"}`, the
 * catalogue's status, generic 500 for anything unexpected), as a complete
 * Fetch `Response`.
 *
 * @example
 * return errorResponse(new AccessDeniedError()); // 403 {"code":403,"message":"Access Denied."}
 */
export function errorResponse(error: unknown, report?: ErrorReporter): Response {
  return finalizeResponse(buildErrorResponse(error, report));
}
