import type { User } from './auth/user.js';
import type { JwtRefreshError } from './errors.js';
import { isRequestView, type RequestView } from './lib/request-view.js';
import { createJsonLogger, describeError, type Logger } from './logger.js';
import type { RefreshTokenRecord } from './stores/store.js';

/**
 * Every event jwt-refresh fires, with its payload (SPEC §8). Listeners are
 * awaited in registration order. Payload fields marked mutable may be changed
 * by a listener and the change takes effect.
 *
 * The session use cases fire them whoever calls: an HTTP route, the CLI, or
 * the application's own code. `request` is the HTTP request when a route
 * started the use case, and undefined when code did (`issueSession` from a
 * social-login callback, `revokeAllSessions` from a password change).
 * `refreshFailure` and `refreshTokenNotFound` exist to replace an HTTP
 * response, so only the routes fire them; code gets the typed error instead.
 *
 * Payloads carry token RECORDS (hash, family id), never a plain refresh
 * token, except the response `body` of `authenticationSuccess`, which is what
 * the client receives.
 */
export interface JwtRefreshEvents {
  /** An access token is about to be signed. Mutable: `claims`, `header`. */
  jwtCreated: { claims: Record<string, unknown>; header: Record<string, unknown>; user: User };
  /** A session started, was refreshed, or an access token was renewed. Mutable: `body` (holding the refresh token unless cookie mode removed it). */
  authenticationSuccess: { user: User; body: Record<string, unknown>; request: Request | undefined };
  /** Login failed at the credentials check (unknown user, wrong password, refused by the user checker). */
  authenticationFailure: { error: JwtRefreshError; request: Request | undefined };
  /** A refresh token was accepted. `record` is the presented token's record before the refresh. */
  refresh: { user: User; record: RefreshTokenRecord; request: Request | undefined };
  /** A refresh route refused a presented refresh token. Mutable: `response` (set one to replace the 401). */
  refreshFailure: { error: JwtRefreshError; request: Request; response: Response | null };
  /** A refresh request carried no refresh token. Mutable: `response`. */
  refreshTokenNotFound: { request: Request; response: Response | null };
  /** A logout (or RFC 7009 revocation) of a refresh token was handled. `record` is null when the token was unknown. */
  logout: { record: RefreshTokenRecord | null; revoked: boolean; request: Request | undefined };
  /** A rotated-away token was presented again outside the grace window; its family is revoked (RFC 9700 §4.14.2). */
  refreshTokenReused: { record: RefreshTokenRecord; request: Request | undefined };
  /**
   * Tokens were revoked. `familyId` is `'*'` when every family of the user was
   * ("log out everywhere"); `userId` is null when an operator revoked a session by its id alone.
   */
  refreshTokenRevoked: { familyId: string; userId: string | null; reason: RevocationReason; count: number };
}

/** Why a session was ended, as `refreshTokenRevoked` reports it. */
export type RevocationReason = 'logout' | 'reuse' | 'evicted';

/** The name of one event. */
export type JwtRefreshEventName = keyof JwtRefreshEvents;

/**
 * The payload of event `E` as the core emits it: its `request` may still be
 * the routes' {@link RequestView}, which {@link EventDispatcher.emit} turns
 * into the Fetch `Request` listeners see, built only if one reads it.
 */
export type EmittedPayload<E extends JwtRefreshEventName> = {
  [K in keyof JwtRefreshEvents[E]]: K extends 'request' ? JwtRefreshEvents[E][K] | RequestView : JwtRefreshEvents[E][K];
};

/** A listener of event `E`. */
export type JwtRefreshListener<E extends JwtRefreshEventName> = (payload: JwtRefreshEvents[E]) => void | Promise<void>;

/**
 * Typed, awaited event dispatcher.
 *
 * A throwing listener is logged and skipped: the operation it listened to has
 * already been written to the store consistently, and the remaining listeners
 * still run.
 *
 * @example
 * jwtRefresh.events.on('refreshTokenReused', ({ record }) => alert(record.userId));
 */
export class EventDispatcher {
  readonly #listeners = new Map<JwtRefreshEventName, Array<JwtRefreshListener<JwtRefreshEventName>>>();
  readonly #logger: Logger;

  /** `logger` is told of listener errors (without the payload). Default: JSON lines on stderr. */
  constructor(logger: Logger = createJsonLogger()) {
    this.#logger = logger;
  }

  /** Adds a listener; returns a function that removes it. */
  on<E extends JwtRefreshEventName>(event: E, listener: JwtRefreshListener<E>): () => void {
    const list = this.#listeners.get(event) ?? [];
    list.push(listener as unknown as JwtRefreshListener<JwtRefreshEventName>);
    this.#listeners.set(event, list);
    return () => {
      const index = list.indexOf(listener as unknown as JwtRefreshListener<JwtRefreshEventName>);
      if (index >= 0) list.splice(index, 1);
    };
  }

  /** Whether anyone listens to `event` (lets hot paths skip building payloads). */
  has(event: JwtRefreshEventName): boolean {
    return (this.#listeners.get(event)?.length ?? 0) > 0;
  }

  /**
   * Runs every listener of `event` in order, awaiting each. A `request` given
   * as a {@link RequestView} reaches them as a Fetch `Request`, built when a
   * listener first reads it (the same one for every event of that request);
   * without listeners nothing is built. The payload object itself is what
   * listeners see, so what they set on it (`response`, `body`) is read back.
   */
  async emit<E extends JwtRefreshEventName>(event: E, payload: EmittedPayload<E>): Promise<void> {
    const list = this.#listeners.get(event);
    if (list === undefined || list.length === 0) return;
    deferRequest(payload);
    for (const listener of [...list]) {
      try {
        await listener(payload as JwtRefreshEvents[E]);
      } catch (error) {
        this.#logger.error({ event, error: describeError(error) }, 'jwt-refresh listener failed');
      }
    }
  }
}

/** Replaces a payload's view `request` by a getter that builds the Fetch `Request` on first read, then keeps it. */
function deferRequest(payload: object): void {
  const view = (payload as { request?: unknown }).request;
  if (typeof view !== 'object' || view === null || !isRequestView(view as RequestView)) return;
  const settle = (request: Request | undefined) =>
    Object.defineProperty(payload, 'request', { value: request, writable: true, enumerable: true, configurable: true });
  Object.defineProperty(payload, 'request', {
    enumerable: true,
    configurable: true,
    get: () => {
      const request = (view as RequestView).fetchRequest();
      settle(request);
      return request;
    },
    set: settle,
  });
}
