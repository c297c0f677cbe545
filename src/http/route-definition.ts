import type { HandlerContext, RequestInfo } from './handler-context.js';
import type { ResponseParts } from './response-parts.js';

/** HTTP methods the routes use. */
export type RouteMethod = 'GET' | 'POST';

/** A route's handler: reads the request, calls one use case, renders its result or error. */
export type RouteHandler = (ctx: HandlerContext, request: Request, info: RequestInfo) => Promise<ResponseParts>;

/**
 * One route of jwt-refresh. The single source for routing in every adapter
 * and for the OpenAPI document, so neither can drift from the handlers.
 */
export interface RouteDefinition {
  /** Stable name, also the OpenAPI operationId. */
  name: string;
  method: RouteMethod;
  /** Path as configured. */
  path: string;
  /** One line for humans and the OpenAPI summary. */
  summary: string;
  /** Whether the route needs a valid access token. */
  authenticated: boolean;
  /** Body fields the route reads (all strings), for the OpenAPI document. */
  bodyFields: string[];
  /** Status codes it answers with, and what each means. */
  responses: Record<number, string>;
  handler: RouteHandler;
}
