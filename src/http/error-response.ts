import { JwtRefreshError, RateLimitedError, StoreUnavailableError, type JwtRefreshErrorCode } from '../errors.js';
import { describeError, type Logger } from '../logger.js';
import { jsonParts, toFetchResponse, type ResponseParts } from './response-parts.js';

/** HTTP status of every error code: decided here, at the edge, not in the core. */
export const STATUS_BY_CODE: Record<JwtRefreshErrorCode, number> = {
  ERR_CONFIG_INVALID: 500,
  ERR_KEY_INVALID: 500,
  ERR_JWT_NOT_FOUND: 401,
  ERR_JWT_EXPIRED: 401,
  ERR_JWT_INVALID: 401,
  ERR_INVALID_CREDENTIALS: 401,
  ERR_ACCOUNT_DISABLED: 401,
  ERR_REFRESH_TOKEN_MISSING: 401,
  ERR_REFRESH_TOKEN_INVALID: 401,
  ERR_LOGOUT_TOKEN_MISSING: 400,
  ERR_BAD_REQUEST: 400,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_ACCESS_DENIED: 403,
  ERR_NOT_FOUND: 404,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_RATE_LIMITED: 429,
  ERR_CSRF: 403,
  ERR_CROSS_ORIGIN: 403,
  ERR_SESSION_METADATA_INVALID: 400,
  ERR_STORE: 500,
  ERR_STORE_UNAVAILABLE: 503,
  ERR_INTERNAL: 500,
};

/** The body's message of a 503 for an unreachable store. */
export const STORE_UNAVAILABLE_MESSAGE = 'Service temporarily unavailable.';

/**
 * `Retry-After` of a 503 for an unreachable store: long enough for a restarted server or a failover to come back,
 * short enough that a client's retry still falls inside the default 10 s reuse grace window (docs/stores.md).
 */
export const STORE_RETRY_AFTER_SECONDS = 2;

/** Codes whose 401 challenges for a Bearer token (RFC 6750 §3). */
const BEARER_CHALLENGE = new Set<JwtRefreshErrorCode>([
  'ERR_JWT_NOT_FOUND',
  'ERR_JWT_EXPIRED',
  'ERR_JWT_INVALID',
  'ERR_INVALID_CREDENTIALS',
  'ERR_ACCOUNT_DISABLED',
]);

/** Whether the client is told what went wrong: a catalogue error below 500. */
export function isClientError(error: unknown): error is JwtRefreshError {
  return error instanceof JwtRefreshError && STATUS_BY_CODE[error.code] < 500;
}

/**
 * The answer for `error`: `{"code": <status>, "message": <catalogue message>}`.
 * Anything not from the catalogue, and every 5xx, gets a generic body (no
 * stack, no driver message, no token ever reaches the client) and is logged
 * to `logger` under the redaction rules of `describeError`.
 */
export function errorParts(error: unknown, logger?: Logger): ResponseParts {
  if (error instanceof StoreUnavailableError) {
    // Retrying later may work: say so (RFC 9110 §15.6.4), in the same body shape, still without the driver's message.
    logger?.error({ error: describeError(error) }, 'jwt-refresh request failed: store unavailable');
    return jsonParts(503, { code: 503, message: STORE_UNAVAILABLE_MESSAGE }, { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) });
  }
  if (!isClientError(error)) {
    logger?.error({ error: describeError(error) }, 'jwt-refresh request failed');
    return jsonParts(500, { code: 500, message: 'Internal Server Error' });
  }
  const status = STATUS_BY_CODE[error.code];
  const headers: Record<string, string> = BEARER_CHALLENGE.has(error.code) ? { 'www-authenticate': 'Bearer' } : {};
  if (error instanceof RateLimitedError) headers['retry-after'] = String(error.retryAfterSeconds);
  return jsonParts(status, { code: status, message: error.message }, headers);
}

/**
 * The JSON response jwt-refresh gives for `error` (`{"code", "message"}`, the
 * catalogue's status, a generic 500 for anything unexpected), as a Fetch `Response`.
 *
 * @example
 * return errorResponse(new AccessDeniedError()); // 403 {"code":403,"message":"Access Denied."}
 */
export function errorResponse(error: unknown, logger?: Logger): Response {
  return toFetchResponse(errorParts(error, logger));
}
