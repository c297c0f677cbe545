/**
 * The catalogue of every error jwt-refresh raises.
 *
 * Each error is a class with a stable string `code` and a fixed client-facing
 * `message`. The HTTP status and body are decided at the edge
 * (`src/http/error-response.ts`), never here. Messages never contain a token,
 * a hash or a driver message: the cause, when there is one, stays in `cause`
 * for the server's own diagnostics and is never serialised.
 */

/** Every stable error code, as a union. Kept in sync with docs/errors.md by a test. */
export type JwtRefreshErrorCode =
  | 'ERR_CONFIG_INVALID'
  | 'ERR_KEY_INVALID'
  | 'ERR_JWT_NOT_FOUND'
  | 'ERR_JWT_EXPIRED'
  | 'ERR_JWT_INVALID'
  | 'ERR_INVALID_CREDENTIALS'
  | 'ERR_ACCOUNT_DISABLED'
  | 'ERR_REFRESH_TOKEN_MISSING'
  | 'ERR_REFRESH_TOKEN_INVALID'
  | 'ERR_LOGOUT_TOKEN_MISSING'
  | 'ERR_BAD_REQUEST'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_UNSUPPORTED_MEDIA_TYPE'
  | 'ERR_ACCESS_DENIED'
  | 'ERR_NOT_FOUND'
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_RATE_LIMITED'
  | 'ERR_CSRF'
  | 'ERR_CROSS_ORIGIN'
  | 'ERR_SESSION_METADATA_INVALID'
  | 'ERR_STORE'
  | 'ERR_STORE_UNAVAILABLE'
  | 'ERR_INTERNAL';

/** Base class of every jwt-refresh error. Narrow with `instanceof` or `code`. */
export abstract class JwtRefreshError extends Error {
  abstract readonly code: JwtRefreshErrorCode;
  // The concrete class's name (`StoreError`, ...), so logs and stack traces say which error it is.
  override name: string = this.constructor.name;
}

/**
 * The base of a catalogue class with code `code`, on the class (`static code`,
 * to compare without an instance, as jose does) and on every instance.
 */
function coded<C extends JwtRefreshErrorCode>(code: C) {
  return class extends JwtRefreshError {
    static readonly code: C = code;
    readonly code: C = code;
  };
}

/** Like {@link coded}, for errors whose client-facing message is always `message`. */
function codedWithMessage<C extends JwtRefreshErrorCode>(code: C, message: string) {
  return class extends coded(code) {
    constructor(options?: { cause?: unknown }) {
      super(message, options);
    }
  };
}

/** An option failed validation at start. `message` names the option's path and what was expected. */
export class ConfigError extends coded('ERR_CONFIG_INVALID') {}

/** A signing or verification key could not be loaded, or does not fit the configured algorithm. */
export class KeyError extends coded('ERR_KEY_INVALID') {}

/** No access token was found on a protected request. */
export class JwtNotFoundError extends codedWithMessage('ERR_JWT_NOT_FOUND', 'JWT Token not found') {}

/** The access token's `exp` has passed (after `clockSkew`). */
export class JwtExpiredError extends codedWithMessage('ERR_JWT_EXPIRED', 'Expired JWT Token') {}

/** The access token's signature, algorithm, issuer, audience or shape is wrong, or it was revoked. */
export class JwtInvalidError extends codedWithMessage('ERR_JWT_INVALID', 'Invalid JWT Token') {}

/** Unknown user or wrong password: one answer for both, so login is no oracle. */
export class InvalidCredentialsError extends codedWithMessage('ERR_INVALID_CREDENTIALS', 'Invalid credentials.') {}

/** The user checker refused a disabled account. */
export class AccountDisabledError extends codedWithMessage('ERR_ACCOUNT_DISABLED', 'Account is disabled.') {}

/** A refresh request carried no refresh token. */
export class RefreshTokenMissingError extends codedWithMessage('ERR_REFRESH_TOKEN_MISSING', 'Missing JWT Refresh Token') {}

/**
 * The refresh token is unknown, expired, revoked or rotated away. One answer
 * for all of them so the endpoint is no oracle for which tokens exist.
 */
export class RefreshTokenInvalidError extends codedWithMessage('ERR_REFRESH_TOKEN_INVALID', 'Invalid JWT Refresh Token') {}

/** A logout request carried no refresh token. The message names the configured parameter. */
export class LogoutTokenMissingError extends coded('ERR_LOGOUT_TOKEN_MISSING') {
  constructor(parameterName: string) {
    super(`No ${parameterName} found.`);
  }
}

/** The request body or a field in it is malformed. `message` says what, never echoing a value. */
export class BadRequestError extends coded('ERR_BAD_REQUEST') {}

/** The request body is larger than `maxBodyBytes`. */
export class PayloadTooLargeError extends codedWithMessage('ERR_PAYLOAD_TOO_LARGE', 'Request body too large.') {}

/** The request body's content type is neither JSON nor a form, and it does not parse as JSON. */
export class UnsupportedMediaTypeError extends codedWithMessage(
  'ERR_UNSUPPORTED_MEDIA_TYPE',
  'Unsupported media type: send application/json or application/x-www-form-urlencoded.',
) {}

/** The access token is valid but lacks the role the route requires. */
export class AccessDeniedError extends codedWithMessage('ERR_ACCESS_DENIED', 'Access Denied.') {}

/** No route matches, or no such session of the caller. */
export class NotFoundError extends codedWithMessage('ERR_NOT_FOUND', 'Not Found') {}

/** The path exists but not for this method (the token routes are POST only). */
export class MethodNotAllowedError extends codedWithMessage('ERR_METHOD_NOT_ALLOWED', 'Method Not Allowed') {}

/** Too many requests for a rate-limit bucket; retry after `retryAfterSeconds`. */
export class RateLimitedError extends coded('ERR_RATE_LIMITED') {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds = 1) {
    super('Too many requests.');
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Cookie mode: a login, refresh, logout or revocation arrived without the opt-in anti-CSRF header (`cookie.csrfHeader`). */
export class CsrfError extends coded('ERR_CSRF') {
  constructor(headerName = 'x-requested-with') {
    super(`Missing ${headerName} header.`);
  }
}

/**
 * Cookie mode: a browser marked a login, refresh, logout or revocation as cross-site (`Sec-Fetch-Site`),
 * or sent an `Origin` that is neither the request's own nor a trusted one (docs/csrf.md).
 */
export class CrossOriginRequestError extends codedWithMessage('ERR_CROSS_ORIGIN', 'Cross-origin request refused.') {}

/**
 * Session metadata given to `issueSession` is not a small plain JSON object
 * (`maxSessionMetadataBytes`). `message` says what is wrong, never the value.
 */
export class SessionMetadataError extends coded('ERR_SESSION_METADATA_INVALID') {}

/** What a {@link StoreError} records besides its operation. */
export interface StoreErrorOptions {
  /** The driver's error, kept for the server's own diagnostics and never serialised. */
  cause?: unknown;
  /** The store's backend (`postgres`, `mysql`, `redis`, ...), for the log line. */
  store?: string;
  /** The driver's error code (SQLSTATE, errno name, server reply prefix), for the log line; never a message. */
  driverCode?: string | number;
}

/**
 * A store operation failed. The driver's message stays in `cause`; clients see a generic 500.
 * `store`, `operation` and `driverCode` are what the log line shows.
 */
export class StoreError extends JwtRefreshError {
  // Widened so that StoreUnavailableError, a StoreError, can carry its own code.
  static readonly code: 'ERR_STORE' | 'ERR_STORE_UNAVAILABLE' = 'ERR_STORE';
  readonly code: 'ERR_STORE' | 'ERR_STORE_UNAVAILABLE' = 'ERR_STORE';
  readonly operation: string;
  readonly store: string | undefined;
  readonly driverCode: string | number | undefined;
  constructor(operation: string, options: StoreErrorOptions = {}) {
    super(`Store operation failed: ${operation}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.operation = operation;
    this.store = options.store;
    this.driverCode = options.driverCode;
  }
}

/**
 * The store could not be reached or did not answer in time (connection refused or lost, timeout, pool exhausted,
 * server shutting down): a {@link StoreError} that retrying later may cure. Clients get 503 with `Retry-After`.
 */
export class StoreUnavailableError extends StoreError {
  static override readonly code = 'ERR_STORE_UNAVAILABLE' as const;
  override readonly code = 'ERR_STORE_UNAVAILABLE' as const;
}

/** Anything unexpected. Clients see a generic 500; the cause is kept for the server log. */
export class InternalError extends codedWithMessage('ERR_INTERNAL', 'Internal Server Error') {}
