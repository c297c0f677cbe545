import type { User } from './auth/user.js';
import type { JwtRefreshError } from './errors.js';
import type { RefreshTokenRecord } from './stores/store.js';

/**
 * Every event jwt-refresh fires, with its payload (SPEC §8). Listeners are
 * awaited in registration order. Payload fields marked mutable may be changed
 * by a listener and the change takes effect.
 *
 * Payloads carry token RECORDS (hash, family id), never a plain refresh
 * token, except the response `body` of `authenticationSuccess`, which is what
 * the client receives.
 */
export interface JwtRefreshEvents {
  /** An access token is about to be signed. Mutable: `claims`, `header`. */
  jwtCreated: { claims: Record<string, unknown>; header: Record<string, unknown>; user: User };
  /** Login, refresh or renewal succeeded. Mutable: `body` (holding the refresh token unless cookie mode removed it). */
  authenticationSuccess: { user: User; body: Record<string, unknown>; request: Request };
  /** Login failed at the credentials check (unknown user, wrong password, refused by the user checker). */
  authenticationFailure: { error: JwtRefreshError; request: Request };
  /** A refresh token was accepted. `record` is the presented token's record before the refresh. */
  refresh: { user: User; record: RefreshTokenRecord; request: Request };
  /** A presented refresh token was refused. Mutable: `response` (set one to replace the 401). */
  refreshFailure: { error: JwtRefreshError; request: Request; response: Response | null };
  /** A refresh request carried no refresh token. Mutable: `response`. */
  refreshTokenNotFound: { request: Request; response: Response | null };
  /** A logout request was handled. `record` is null when the token was unknown. */
  logout: { record: RefreshTokenRecord | null; revoked: boolean; request: Request };
  /** A rotated-away token was presented again outside the grace window; its family is revoked (RFC 9700 §4.14.2). */
  refreshTokenReused: { record: RefreshTokenRecord; request: Request };
  /** Tokens were revoked. `familyId` is `'*'` when every family of the user was ("log out everywhere"). */
  refreshTokenRevoked: { familyId: string; userId: string; reason: 'logout' | 'reuse' | 'evicted'; count: number };
}

/** The name of one event. */
export type JwtRefreshEventName = keyof JwtRefreshEvents;

/** A listener of event `E`. */
export type JwtRefreshListener<E extends JwtRefreshEventName> = (payload: JwtRefreshEvents[E]) => void | Promise<void>;

/** Called with a listener's error; the default writes a line without the payload to stderr. */
export type ListenerErrorReporter = (error: unknown, event: JwtRefreshEventName) => void;

const defaultReporter: ListenerErrorReporter = (error, event) => {
  // Only the class and code, as for request errors: a message may quote a driver error with a token hash.
  const name = error instanceof Error ? error.name : typeof error;
  const code = (error as { code?: unknown } | null)?.code;
  process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'jwt-refresh listener failed', event, error: name, code })}\n`);
};

/**
 * Typed, awaited event dispatcher.
 *
 * A throwing listener is reported and skipped: the operation it listened to has
 * already been written to the store consistently, and the remaining listeners
 * still run.
 *
 * @example
 * jwtRefresh.events.on('refreshTokenReused', ({ record }) => alert(record.userId));
 */
export class EventDispatcher {
  readonly #listeners = new Map<JwtRefreshEventName, Array<JwtRefreshListener<JwtRefreshEventName>>>();
  readonly #report: ListenerErrorReporter;

  constructor(report: ListenerErrorReporter = defaultReporter) {
    this.#report = report;
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

  /** Runs every listener of `event` in order, awaiting each. */
  async emit<E extends JwtRefreshEventName>(event: E, payload: JwtRefreshEvents[E]): Promise<void> {
    const list = this.#listeners.get(event);
    if (list === undefined) return;
    for (const listener of [...list]) {
      try {
        await listener(payload);
      } catch (error) {
        this.#report(error, event);
      }
    }
  }
}
