import { randomBytes } from 'node:crypto';
import { defaultUserChecker } from './auth/default-user-checker.js';
import type { PasswordHasher } from './auth/password-hasher.js';
import { preparePasswordChecks } from './auth/prepare-password-checks.js';
import type { User, UserChecker, UserProvider } from './auth/user.js';
import { parseConfig } from './config/parse-config.js';
import type { JwtRefreshConfig, JwtRefreshConfigInput } from './config/schema.js';
import { EventDispatcher } from './events.js';
import { sessionCookie } from './http/cookies.js';
import { type AccessTokenRequest, requireAccessToken } from './http/access-token-extractors.js';
import { requireBearerToken } from './http/bearer-token.js';
import { errorResponse } from './http/error-response.js';
import { builtInExtractors, orderExtractors, type PrioritizedExtractor } from './http/extractors.js';
import type { HandlerContext, RequestInfo } from './http/handler-context.js';
import { toFetchResponse, type ResponseParts } from './http/response-parts.js';
import type { RouteDefinition } from './http/route-definition.js';
import { createRouter } from './http/router.js';
import { routeDefinitions } from './http/routes.js';
import type { AccessTokenClaims } from './jwt/build-claims.js';
import { loadAccessTokenKeys } from './jwt/load-keys.js';
import { mintAccessToken } from './jwt/mint-access-token.js';
import { systemClock, type Clock } from './lib/clock.js';
import { fetchRequestView, isRequestView, type RequestView } from './lib/request-view.js';
import { createJsonLogger, type Logger } from './logger.js';
import { authenticateAccessToken, type AccessRequirements } from './sessions/authenticate-access-token.js';
import { clearExpiredTokens, type ClearedTokens, type ClearExpiredOptions } from './sessions/clear-expired-tokens.js';
import { endSession, type EndedSession, type EndSessionOptions } from './sessions/end-session.js';
import { issueSession, type IssueSessionOptions } from './sessions/issue-session.js';
import { listSessions, type SessionSummary } from './sessions/list-sessions.js';
import { logInWithPassword } from './sessions/log-in-with-password.js';
import { refreshSession, type RefreshSessionOptions } from './sessions/refresh-session.js';
import { renewAccessToken, type RenewedAccessToken } from './sessions/renew-access-token.js';
import { revokeAllSessions } from './sessions/revoke-all-sessions.js';
import { revokeOtherSessions } from './sessions/revoke-other-sessions.js';
import { revokeSession } from './sessions/revoke-session.js';
import { revokeToken } from './sessions/revoke-token.js';
import type { SessionTokens } from './sessions/session-tokens.js';
import { checkStoreHealth, type StoreHealth } from './stores/store-health.js';
import type { RefreshTokenStore } from './stores/store.js';
import { generateRefreshToken, type RefreshTokenGenerator } from './tokens/generate-token.js';
import { createTokenHasher } from './tokens/hash-token.js';

/** Options of {@link createJwtRefresh}: the validated config plus the collaborators. */
export interface JwtRefreshOptions extends JwtRefreshConfigInput {
  /** Where refresh-token hashes live. */
  store: RefreshTokenStore;
  /** Where users come from. */
  userProvider: UserProvider;
  /** Default: refuses users whose `enabled` is false. */
  userChecker?: UserChecker;
  /** Default: the hasher of `passwordHashing` (scrypt N=2^15, r=8, p=1, reading Symfony's bcrypt and Argon2 hashes too). */
  passwordHasher?: PasswordHasher;
  /** Default: the wall clock. Tests pass a movable one. */
  now?: Clock;
  /** Default: 64 random bytes, hex. */
  generateToken?: RefreshTokenGenerator;
  /** Extra refresh-token extractors, merged into the built-in chain by priority. */
  extractors?: PrioritizedExtractor[];
  /**
   * Told of unexpected errors (answered with a generic 500) and of failing
   * listeners, with tokens, hashes and driver messages left out. pino-compatible.
   * Default: JSON lines on stderr.
   */
  logger?: Logger;
}

export type { AccessRequirements } from './sessions/authenticate-access-token.js';

/**
 * A configured jwt-refresh instance: the session API (every use case, callable
 * from application code without HTTP) and the framework-neutral HTTP handlers
 * that call it.
 */
export interface JwtRefresh {
  readonly config: JwtRefreshConfig;
  readonly events: EventDispatcher;
  readonly store: RefreshTokenStore;
  /** Where unexpected errors go; adapters that catch errors themselves log through it. */
  readonly logger: Logger;

  /**
   * Starts a session for a user authenticated by any means (OAuth or social
   * login, SSO, a passkey, a magic link, your own user system): runs the user
   * checker, starts a token family, fires `jwtCreated` and `authenticationSuccess`.
   *
   * @example
   * const user = await users.findOrCreateFromGoogle(profile);
   * const { accessToken, refreshToken } = await jwtRefresh.issueSession(user, { metadata: { login: 'google' } });
   * @throws the user checker's error (e.g. AccountDisabledError), SessionMetadataError, StoreError
   */
  issueSession(user: User, options?: IssueSessionOptions): Promise<SessionTokens>;
  /**
   * The password login of `POST /api/login_check`: checks the credentials, then starts a session.
   * @throws InvalidCredentialsError, the user checker's error
   */
  logInWithPassword(identifier: string, password: string, options?: IssueSessionOptions): Promise<SessionTokens>;
  /**
   * Trades a refresh token for a new access token and the refresh token to use next (rotation, grace window, reuse detection).
   * @throws RefreshTokenInvalidError, the user checker's error, RateLimitedError
   */
  refreshSession(refreshToken: string, options?: RefreshSessionOptions): Promise<SessionTokens>;
  /** Logs a refresh token's session out, its access tokens included; a rotated-away token still ends its session. */
  endSession(refreshToken: string, options?: EndSessionOptions): Promise<EndedSession>;
  /**
   * Trades a still-valid access token for a fresh one (SPEC §3b), within the session's lifetime.
   * @throws JwtExpiredError, JwtInvalidError, the user checker's error
   */
  renewAccessToken(accessToken: string, options?: { request?: Request }): Promise<RenewedAccessToken>;
  /**
   * Verifies an access token wherever it arrived (a queue worker, a WebSocket
   * handshake): signature and claims, not revoked, the user (with `loadUser`), the role.
   * @throws JwtExpiredError, JwtInvalidError, AccessDeniedError, the user checker's error
   */
  verifyAccessToken(accessToken: string, requirements?: AccessRequirements): Promise<AccessTokenClaims>;
  /** The user's live sessions, newest first, `current` set for `currentSessionId`. */
  listSessions(userId: string, options?: { currentSessionId?: string }): Promise<SessionSummary[]>;
  /**
   * Ends one live session of the user and its access tokens; answers how many refresh tokens it
   * revoked (0: no such live session of theirs). A null `userId` names the session alone (operators).
   */
  revokeSession(userId: string | null, sessionId: string): Promise<number>;
  /** Ends every live session of the user but `currentSessionId`; answers how many. */
  revokeOtherSessions(userId: string, currentSessionId: string | null): Promise<number>;
  /** "Log out everywhere" (a password change): every session and every access token of the user signed up to now. */
  revokeAllSessions(userId: string): Promise<number>;
  /** RFC 7009: blocks an access token or ends a refresh token's session; unknown tokens change nothing. */
  revokeToken(token: string, options?: { tokenTypeHint?: string; request?: Request }): Promise<void>;
  /** Deletes expired refresh tokens in batches, then expired blocklist entries, rate-limit windows and watermarks. */
  clearExpiredTokens(options: ClearExpiredOptions): Promise<ClearedTokens>;

  /**
   * Answers the request when its path is one of the configured routes, else
   * resolves to null so the host framework can route it.
   */
  handle(request: Request, info?: RequestInfo): Promise<Response | null>;
  /**
   * Like {@link handle}, answering the response as parts (status, headers,
   * Set-Cookie list, body text): for Node servers that write responses
   * themselves, with the body they already read in `info.body`. They pass a
   * {@link RequestView} over their own request (the Node adapters'
   * `nodeRequestView`), so no Fetch `Request` is built unless a listener or
   * a custom extractor reads one.
   */
  handleToParts(request: Request | RequestView, info?: RequestInfo): Promise<ResponseParts | null>;
  /** The routes this configuration serves (method, path, name, summary): what adapters register. */
  readonly routes: ReadonlyArray<Omit<RouteDefinition, 'handler'>>;
  /**
   * {@link verifyAccessToken} for the Bearer token of an Authorization header.
   * @throws JwtNotFoundError, JwtExpiredError, JwtInvalidError or AccessDeniedError
   */
  verifyAuthorization(authorization: string | null | undefined, requirements?: AccessRequirements): Promise<AccessTokenClaims>;
  /**
   * {@link verifyAccessToken} for the access token a request carries where `accessTokenExtractors`
   * look (default: the `Authorization: Bearer` header): what the adapters' guards call.
   * A Fetch `Request` or a Node request (`{ headers, url }`) will do.
   * @throws JwtNotFoundError, JwtExpiredError, JwtInvalidError or AccessDeniedError
   *
   * @example
   * app.get('/api/me', async (req, res) => res.json(await jwtRefresh.verifyRequest(req)));
   */
  verifyRequest(request: AccessTokenRequest, requirements?: AccessRequirements): Promise<AccessTokenClaims>;
  /**
   * The claims of a request's access token (read as {@link verifyRequest} does), or the response to send: 401 with
   * `WWW-Authenticate: Bearer` (SPEC §1 messages), or 403 when a required role is missing.
   */
  authenticate(request: Request, requirements?: AccessRequirements): Promise<{ claims: AccessTokenClaims } | { response: Response }>;
  /**
   * In cookie mode, the `Set-Cookie` value that carries `session`'s refresh token, as the
   * login and refresh routes set it (`responseBody` then holds no refresh token); null
   * outside cookie mode. For an application's own login callback.
   *
   * @example
   * const session = await jwtRefresh.issueSession(user);
   * const cookie = jwtRefresh.sessionCookie(session);
   * if (cookie !== null) reply.header('set-cookie', cookie);
   * reply.send(session.responseBody);
   */
  sessionCookie(session: SessionTokens): string | null;
  /** Signs an access token for `user` (fires `jwtCreated`), outside any session: for scripts and service accounts. */
  createAccessToken(user: User): Promise<string>;
  /**
   * Whether the store answers a ping in time (5 s at most): what a readiness probe asks. Never
   * throws; a failure is logged at `warn` with the store, the operation and the driver's code.
   *
   * @example
   * const health = await jwtRefresh.health(); // { status: 'unavailable', store: 'unavailable' } while the store is down
   */
  health(): Promise<StoreHealth>;
  /** Closes the store. */
  close(): Promise<void>;
}

/**
 * Validates the options, imports the keys once, and returns the session API
 * and the handlers.
 *
 * @example
 * const jwtRefresh = await createJwtRefresh({
 *   jwt: { algorithm: 'ES256', secretKey: './config/jwt/private.pem' },
 *   store: createSqliteStore({ filename: './var/jwt-refresh.db' }),
 *   userProvider,
 * });
 * const response = await jwtRefresh.handle(request);
 */
export async function createJwtRefresh(options: JwtRefreshOptions): Promise<JwtRefresh> {
  const {
    store,
    userProvider,
    userChecker = defaultUserChecker,
    passwordHasher,
    now = systemClock,
    generateToken = generateRefreshToken,
    extractors = [],
    logger = createJsonLogger(),
    ...configInput
  } = options;
  const config = parseConfig(configInput);
  const keys = await loadAccessTokenKeys(config.jwt);
  const events = new EventDispatcher(logger);
  const passwordChecks = await preparePasswordChecks(config.passwordHashing, passwordHasher, logger);
  const ctx: HandlerContext = {
    config,
    store,
    events,
    now,
    hashToken: createTokenHasher(config.pepper),
    generateToken,
    // A per-process secret still makes grace-window replays work on one instance.
    secret: config.secret ?? randomBytes(32).toString('hex'),
    userProvider,
    userChecker,
    ...passwordChecks,
    keys,
    logger,
    extractors: orderExtractors([...builtInExtractors(config), ...extractors]),
  };
  const routes = routeDefinitions(config);
  const route = createRouter(ctx, routes);
  const verifyAuthorization = async (authorization: string | null | undefined, requirements: AccessRequirements = {}) =>
    authenticateAccessToken(ctx, requireBearerToken(authorization), requirements);
  const verifyRequest = async (request: AccessTokenRequest, requirements: AccessRequirements = {}) =>
    authenticateAccessToken(ctx, requireAccessToken(request, config.accessTokenExtractors), requirements);

  return {
    config,
    events,
    store,
    logger,
    routes: routes.map(({ handler: _handler, ...definition }) => definition),
    issueSession: (user, sessionOptions) => issueSession(ctx, user, sessionOptions),
    logInWithPassword: (identifier, password, sessionOptions) => logInWithPassword(ctx, identifier, password, sessionOptions),
    refreshSession: (refreshToken, refreshOptions) => refreshSession(ctx, refreshToken, refreshOptions),
    endSession: (refreshToken, endOptions) => endSession(ctx, refreshToken, endOptions),
    renewAccessToken: (accessToken, renewOptions) => renewAccessToken(ctx, accessToken, renewOptions),
    verifyAccessToken: (accessToken, requirements) => authenticateAccessToken(ctx, accessToken, requirements),
    listSessions: (userId, listOptions) => listSessions(ctx, userId, listOptions),
    revokeSession: (userId, sessionId) => revokeSession(ctx, userId, sessionId),
    revokeOtherSessions: (userId, currentSessionId) => revokeOtherSessions(ctx, userId, currentSessionId),
    revokeAllSessions: (userId) => revokeAllSessions(ctx, userId),
    revokeToken: (token, revokeOptions) => revokeToken(ctx, token, revokeOptions),
    clearExpiredTokens: (clearOptions) => clearExpiredTokens(ctx, clearOptions),
    async handle(request, info = {}) {
      const parts = await route(fetchRequestView(request), info);
      return parts === null ? null : toFetchResponse(parts);
    },
    handleToParts: (request, info = {}) => route(isRequestView(request) ? request : fetchRequestView(request), info),
    verifyAuthorization,
    verifyRequest,
    async authenticate(request, requirements = {}) {
      try {
        return { claims: await verifyRequest(request, requirements) };
      } catch (error) {
        return { response: errorResponse(error, logger) };
      }
    },
    sessionCookie: (session) => sessionCookie(config, session, now()),
    createAccessToken: async (user) => (await mintAccessToken(keys, config.jwt, events, user, now())).token,
    health: () => checkStoreHealth(store, logger),
    close: () => store.close(),
  };
}
