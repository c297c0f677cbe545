import { randomBytes } from 'node:crypto';
import { defaultUserChecker } from './auth/default-user-checker.js';
import { createScryptHasher, createTimingDummy, type PasswordHasher } from './auth/password-hasher.js';
import type { User, UserChecker, UserProvider } from './auth/user.js';
import { parseConfig } from './config/parse-config.js';
import type { JwtRefreshConfig, JwtRefreshConfigInput } from './config/schema.js';
import { MethodNotAllowedError } from './errors.js';
import { EventDispatcher, type ListenerErrorReporter } from './events.js';
import { authorizeAccess, type AccessRequirements } from './http/authorize-access.js';
import { errorResponse, type ErrorReporter } from './http/error-response.js';
import { finalizeResponse } from './http/json-response.js';
import { toResponseParts, type ResponseParts } from './http/response-parts.js';
import { builtInExtractors, orderExtractors, type PrioritizedExtractor } from './http/extractors.js';
import type { HandlerContext, RequestInfo } from './http/handler-context.js';
import { routeDefinitions, type RouteDefinition } from './http/routes.js';
import type { AccessTokenClaims } from './jwt/build-claims.js';
import { loadAccessTokenKeys } from './jwt/load-keys.js';
import { mintAccessToken } from './jwt/mint-access-token.js';
import { systemClock, type Clock } from './lib/clock.js';
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
  /** Default: scrypt (N=2^15, r=8, p=1). */
  passwordHasher?: PasswordHasher;
  /** Default: the wall clock. Tests pass a movable one. */
  now?: Clock;
  /** Default: 64 random bytes, hex. */
  generateToken?: RefreshTokenGenerator;
  /** Extra refresh-token extractors, merged into the built-in chain by priority. */
  extractors?: PrioritizedExtractor[];
  /** Receives errors thrown by event listeners. */
  onListenerError?: ListenerErrorReporter;
  /** Receives unexpected errors (answered with a generic 500). Default: one JSON line on stderr. */
  onError?: ErrorReporter;
}

export type { AccessRequirements } from './http/authorize-access.js';

/** A configured jwt-refresh instance: the framework-neutral handlers and the operations behind them. */
export interface JwtRefresh {
  readonly config: JwtRefreshConfig;
  readonly events: EventDispatcher;
  readonly store: RefreshTokenStore;
  /**
   * Answers the request when its path is one of the configured routes, else
   * resolves to null so the host framework can route it.
   */
  handle(request: Request, info?: RequestInfo): Promise<Response | null>;
  /**
   * Like {@link handle}, answering the response already taken apart (status,
   * headers, Set-Cookie list, body text): for Node servers that write
   * responses themselves. Skips building a Fetch body only to read it back.
   */
  handleToParts(request: Request, info?: RequestInfo): Promise<ResponseParts | null>;
  /** `POST` login route handler. */
  login(request: Request, info?: RequestInfo): Promise<Response>;
  /** `POST` refresh route handler. */
  refresh(request: Request, info?: RequestInfo): Promise<Response>;
  /** `POST` invalidate (logout) route handler. */
  invalidate(request: Request, info?: RequestInfo): Promise<Response>;
  /** The routes this configuration serves (method, path, name, summary): what adapters register. */
  readonly routes: ReadonlyArray<Omit<RouteDefinition, 'handler'>>;
  /**
   * Verifies the Bearer token of an Authorization header, and the role when one is required.
   * @throws JwtNotFoundError, JwtExpiredError, JwtInvalidError or AccessDeniedError
   */
  verifyAuthorization(authorization: string | null | undefined, requirements?: AccessRequirements): Promise<AccessTokenClaims>;
  /**
   * The claims of a request's Bearer token, or the response to send: 401 with
   * `WWW-Authenticate: Bearer` (SPEC §1 messages), or 403 when a required role is missing.
   */
  authenticate(request: Request, requirements?: AccessRequirements): Promise<{ claims: AccessTokenClaims } | { response: Response }>;
  /** The `onError` reporter, for adapters that catch unexpected errors themselves. */
  readonly reportError: ErrorReporter;
  /** Signs an access token for `user` (fires `jwtCreated`). */
  createAccessToken(user: User): Promise<string>;
  /** Closes the store. */
  close(): Promise<void>;
}


const defaultErrorReporter: ErrorReporter = (error) => {
  // Only the class and code: a driver message may quote SQL with a token hash.
  const name = error instanceof Error ? error.name : typeof error;
  const code = (error as { code?: unknown } | null)?.code;
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'jwt-refresh request failed', error: name, code })}\n`);
};

/**
 * Validates the options, imports the keys once, and returns the handlers.
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
    passwordHasher = createScryptHasher(),
    now = systemClock,
    generateToken = generateRefreshToken,
    extractors = [],
    onListenerError,
    onError = defaultErrorReporter,
    ...configInput
  } = options;
  const config = parseConfig(configInput);
  const keys = await loadAccessTokenKeys(config.jwt);
  const events = new EventDispatcher(onListenerError);
  const timingDummy = createTimingDummy(passwordHasher);
  const ctx: HandlerContext = {
    config,
    store,
    events,
    now,
    hashToken: createTokenHasher(config.pepper),
    generateToken,
    // A per-process secret still makes grace-window replays work on one instance.
    secret: config.secret ?? randomBytes(32).toString('hex'),
    credentials: { userProvider, userChecker, passwordHasher, timingDummy, reportError: onError },
    keys,
    extractors: orderExtractors([...builtInExtractors(config), ...extractors]),
    reportError: onError,
  };
  const routes = routeDefinitions(config);
  const routesByPath = new Map<string, RouteDefinition[]>();
  for (const route of routes) routesByPath.set(route.path, [...(routesByPath.get(route.path) ?? []), route]);
  const dispatch = async (request: Request, info: RequestInfo): Promise<Response | null> => {
    const candidates = routesByPath.get(new URL(request.url).pathname);
    if (candidates === undefined) return null;
    const route = candidates.find((candidate) => candidate.method === request.method);
    if (route === undefined) {
      const response = errorResponse(new MethodNotAllowedError());
      response.headers.set('allow', candidates.map((candidate) => candidate.method).join(', '));
      return response;
    }
    return route.handler(ctx, request, info);
  };
  const finalized =
    (handler: (request: Request, info?: RequestInfo) => Promise<Response>) =>
    async (request: Request, info?: RequestInfo) =>
      finalizeResponse(await handler(request, info));
  const run = (name: string) => {
    const route = routes.find((candidate) => candidate.name === name);
    if (route === undefined) throw new Error(`no route ${name}`);
    return (request: Request, info: RequestInfo = {}) => route.handler(ctx, request, info);
  };

  return {
    config,
    events,
    store,
    routes: routes.map(({ handler: _handler, ...route }) => route),
    async handle(request, info = {}) {
      const response = await dispatch(request, info);
      return response === null ? null : finalizeResponse(response);
    },
    async handleToParts(request, info = {}) {
      const response = await dispatch(request, info);
      return response === null ? null : toResponseParts(response);
    },
    login: finalized(run('login')),
    refresh: finalized(run('refresh')),
    invalidate: finalized(run('invalidate')),
    verifyAuthorization: (authorization, requirements = {}) => authorizeAccess(ctx, authorization, requirements),
    async authenticate(request, requirements = {}) {
      try {
        return { claims: await authorizeAccess(ctx, request.headers.get('authorization'), requirements) };
      } catch (error) {
        return { response: finalizeResponse(errorResponse(error, onError)) };
      }
    },
    reportError: onError,
    createAccessToken: (user) => mintAccessToken(keys, config.jwt, events, user, now()),
    close: () => store.close(),
  };
}
