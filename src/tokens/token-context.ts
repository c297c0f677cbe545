import type { JwtRefreshConfig } from '../config/schema.js';
import type { EventDispatcher } from '../events.js';
import type { Clock } from '../lib/clock.js';
import type { RefreshTokenRecord, RefreshTokenStore } from '../stores/store.js';
import type { RefreshTokenGenerator } from './generate-token.js';
import type { TokenHasher } from './hash-token.js';

/** What the refresh-token operations need, assembled once by `createJwtRefresh`. */
export interface TokenContext {
  readonly config: JwtRefreshConfig;
  readonly store: RefreshTokenStore;
  readonly events: EventDispatcher;
  readonly now: Clock;
  readonly hashToken: TokenHasher;
  readonly generateToken: RefreshTokenGenerator;
  /** Server secret from which successors are derived. */
  readonly secret: string;
}

/** Client metadata recorded with a new token. */
export interface ClientMetadata {
  userAgent: string | null;
  ip: string | null;
}

/** A refresh token handed to a client, with its stored record. */
export interface IssuedRefreshToken {
  /** The plain token: goes to the client, never to the store or a log. */
  token: string;
  record: RefreshTokenRecord;
}
