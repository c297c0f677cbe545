import type { CredentialsContext } from '../auth/authenticate-credentials.js';
import type { AccessTokenKeys } from '../jwt/load-keys.js';
import type { TokenContext } from '../tokens/token-context.js';
import type { ErrorReporter } from './error-response.js';
import type { PrioritizedExtractor } from './extractors.js';

/** Facts about a request that the Fetch `Request` does not carry; adapters fill them in. */
export interface RequestInfo {
  /** The client's address as the adapter determined it (proxy trust is the adapter's business). */
  clientIp?: string | null;
}

/** Everything the HTTP handlers need, assembled once by `createJwtRefresh`. */
export interface HandlerContext extends TokenContext {
  readonly credentials: CredentialsContext;
  readonly keys: AccessTokenKeys;
  /** The refresh-token extractor chain, highest priority first. */
  readonly extractors: PrioritizedExtractor[];
  readonly reportError: ErrorReporter;
}
