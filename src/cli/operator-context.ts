import type { JwtRefreshConfig } from '../config/schema.js';
import { EventDispatcher } from '../events.js';
import { systemClock } from '../lib/clock.js';
import { createJsonLogger } from '../logger.js';
import type { OperatorContext } from '../sessions/session-context.js';
import type { RefreshTokenStore } from '../stores/store.js';
import { createTokenHasher } from '../tokens/hash-token.js';

/**
 * The context the CLI runs the operator use cases in (revoke, sessions,
 * clear): the config and store of its settings, the wall clock, and tokens
 * hashed exactly as the server hashes them, or nothing would ever be found.
 */
export function operatorContext(config: JwtRefreshConfig, store: RefreshTokenStore): OperatorContext {
  return {
    config,
    store,
    events: new EventDispatcher(createJsonLogger('warn')),
    now: systemClock,
    hashToken: createTokenHasher(config.pepper),
  };
}
