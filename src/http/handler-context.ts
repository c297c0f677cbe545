import type { Logger } from '../logger.js';
import type { SessionContext } from '../sessions/session-context.js';
import type { PrioritizedExtractor } from './extractors.js';

/** Facts about a request that the Fetch `Request` does not carry; adapters fill them in. */
export interface RequestInfo {
  /** The client's address as the adapter determined it (proxy trust is the adapter's business). */
  clientIp?: string | null;
  /**
   * The body, when the host has read it already (a Node framework's buffer):
   * then the request's own stream is not read, and may be empty.
   */
  body?: Uint8Array | string;
  /** The request's logger (Fastify's `request.log`); the instance's logger otherwise. */
  log?: Logger;
  /** The path prefix the host mounted the routes under (Express req.baseUrl, Fastify prefix). */
  basePath?: string;
}

/** What the HTTP handlers need: the session use cases' context and the request-reading parts. */
export interface HandlerContext extends SessionContext {
  /** The refresh-token extractor chain, highest priority first. */
  readonly extractors: PrioritizedExtractor[];
}
