export { createJwtRefresh, type JwtRefresh, type JwtRefreshOptions } from './create-jwt-refresh.js';
export type { StoreHealth } from './stores/store-health.js';
export { parseConfig } from './config/parse-config.js';
export type { AccessTokenRequest } from './http/access-token-extractors.js';
export {
  configSchema,
  SIGNATURE_ALGORITHMS,
  type AccessTokenExtractor,
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
  type RevocationReason,
} from './events.js';
export { createJsonLogger, describeError, type Logger, type LogLevel } from './logger.js';
export type { User, UserChecker, UserProvider } from './auth/user.js';
export { defaultUserChecker } from './auth/default-user-checker.js';
export { createMemoryUserProvider } from './auth/memory-user-provider.js';
export { createScryptHasher, type PasswordHasher, type ScryptHasherOptions } from './auth/password-hasher.js';
export { createArgon2Hasher, type Argon2HasherOptions, type Argon2Variant } from './auth/argon2-hasher.js';
export { createBcryptHasher, type BcryptHasherOptions } from './auth/bcrypt-hasher.js';
export { createPasswordHasher, type PasswordAlgorithm, type PasswordHasherOptions } from './auth/create-password-hasher.js';
export { createPasswordCheckQueue, type PasswordCheckQueue, type PasswordCheckQueueOptions } from './auth/password-check-queue.js';
export type { AccessRequirements } from './sessions/authenticate-access-token.js';
export type { ClearedTokens, ClearExpiredOptions } from './sessions/clear-expired-tokens.js';
export type { EndedSession, EndSessionOptions } from './sessions/end-session.js';
export type { IssueSessionOptions } from './sessions/issue-session.js';
export type { SessionSummary } from './sessions/list-sessions.js';
export type { RefreshSessionOptions } from './sessions/refresh-session.js';
export type { RenewedAccessToken } from './sessions/renew-access-token.js';
export type { SessionClient } from './sessions/session-context.js';
export type { JsonValue, SessionMetadata } from './sessions/session-metadata.js';
export type { SessionTokens, TokenResponseFormat } from './sessions/session-tokens.js';
export type { FamilySummary, RateLimitHit, RefreshTokenRecord, RefreshTokenStore, RotateOutcome } from './stores/store.js';
export type { StoreAudit, StoreAuditFinding, StoreAuditOffender, StoreAuditOptions, StoreInvariant } from './stores/store.js';
export type { RefreshTokenExtractor, PrioritizedExtractor, RefreshTokenSource } from './http/extractors.js';
export type { ParsedBody } from './http/read-body.js';
export type { RequestInfo } from './http/handler-context.js';
export type { RequestView } from './lib/request-view.js';
export { errorResponse, STATUS_BY_CODE } from './http/error-response.js';
export { toResponseParts, toFetchResponse, type ResponseParts } from './http/response-parts.js';
export { toFetchRequest } from './adapters/node/node-request.js';
export type { AccessTokenClaims } from './jwt/build-claims.js';
export { generateKeyPair, type GeneratedKeys } from './jwt/generate-key-pair.js';
export type { RefreshTokenGenerator } from './tokens/generate-token.js';
export type { Clock } from './lib/clock.js';
