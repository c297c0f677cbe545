import type { CredentialsContext } from '../auth/authenticate-credentials.js';
import type { UserProvider } from '../auth/user.js';
import type { JwtRefreshConfig } from '../config/schema.js';
import type { EventDispatcher } from '../events.js';
import type { AccessTokenKeys } from '../jwt/load-keys.js';
import type { Clock } from '../lib/clock.js';
import type { RefreshTokenStore } from '../stores/store.js';
import type { RefreshTokenGenerator } from '../tokens/generate-token.js';
import type { TokenHasher } from '../tokens/hash-token.js';

/** What the session use cases work with, assembled once by `createJwtRefresh`. */
export interface SessionContext extends CredentialsContext {
  readonly config: JwtRefreshConfig;
  readonly store: RefreshTokenStore;
  readonly events: EventDispatcher;
  readonly now: Clock;
  readonly hashToken: TokenHasher;
  readonly generateToken: RefreshTokenGenerator;
  /** Server secret from which successors are derived. */
  readonly secret: string;
  readonly keys: AccessTokenKeys;
}

/**
 * What the operator use cases (revoking, listing, purging) need: no keys and
 * no password checks, so the CLI runs them with a config and a store alone.
 * A user provider, when there is one, helps "log out everywhere" name a
 * user's access tokens.
 */
export type OperatorContext = Pick<SessionContext, 'config' | 'store' | 'events' | 'now' | 'hashToken'> & {
  readonly userProvider?: UserProvider;
};

/** The client a session is used from, recorded with its tokens and listed with the session. */
export interface SessionClient {
  userAgent?: string | null;
  ip?: string | null;
}
