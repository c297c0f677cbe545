export { createJwtRefresh, type JwtRefresh, type JwtRefreshOptions } from './create-jwt-refresh.js';
export { parseConfig } from './config/parse-config.js';
export { loadConfigFile, loadConfigFileWithWarnings } from './config/load-config-file.js';
export {
  configSchema,
  SIGNATURE_ALGORITHMS,
  type JwtRefreshConfig,
  type JwtRefreshConfigInput,
  type SignatureAlgorithm,
} from './config/schema.js';
export * from './errors.js';
export {
  EventDispatcher,
  type JwtRefreshEventName,
  type JwtRefreshEvents,
  type JwtRefreshListener,
  type ListenerErrorReporter,
} from './events.js';
export type { User, UserChecker, UserProvider } from './auth/user.js';
export { defaultUserChecker } from './auth/default-user-checker.js';
export { createMemoryUserProvider } from './auth/memory-user-provider.js';
export { createScryptHasher, type PasswordHasher } from './auth/password-hasher.js';
export type { FamilySummary, RefreshTokenRecord, RefreshTokenStore, RotateOutcome } from './stores/store.js';
export type { RefreshTokenExtractor, PrioritizedExtractor, RefreshTokenSource } from './http/extractors.js';
export type { RequestInfo } from './http/handler-context.js';
export { STATUS_BY_CODE } from './http/error-response.js';
export { errorResponse } from './http/public-error-response.js';
export { toFetchRequest, toResponseParts, type ResponseParts } from './http/response-parts.js';
export type { AccessTokenClaims } from './jwt/build-claims.js';
export { generateKeyPair } from './jwt/generate-key-pair.js';
export type { Clock } from './lib/clock.js';
