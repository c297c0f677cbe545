import type { RequestView } from '../lib/request-view.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';
import type { ResponseParts } from './response-parts.js';

/** HTTP methods the routes use. */
export type RouteMethod = 'GET' | 'POST';

/** A route's handler: reads the request, calls one use case, renders its result or error. */
export type RouteHandler = (ctx: HandlerContext, request: RequestView, info: RequestInfo) => Promise<ResponseParts>;

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1). */
export type JsonSchema = Record<string, unknown>;

/** A body shape: listed once under `components.schemas` by its name, referenced wherever it is used. */
export interface NamedSchema {
  /** Component name, e.g. `TokenPair`. Two shapes of one document never share a name. */
  name: string;
  schema: JsonSchema;
}

/** A group of operations in the document, with what it is for. */
export interface OperationTag {
  name: string;
  description: string;
}

/** A header, cookie or query parameter an operation reads. */
export interface OperationParameter {
  name: string;
  in: 'header' | 'cookie' | 'query';
  required: boolean;
  description: string;
  schema: JsonSchema;
}

/** Body media types the routes read. */
export type RequestMediaType = 'application/json' | 'application/x-www-form-urlencoded';

/** The request body an operation reads: one shape, under each media type it accepts. */
export interface OperationRequestBody {
  /** Exactly the media types the handler accepts, the preferred one first. */
  mediaTypes: readonly RequestMediaType[];
  /** False when what the body carries may come from elsewhere (the refresh cookie, the query string). */
  required: boolean;
  body: NamedSchema;
}

/** A header an answer carries. */
export interface ResponseHeader {
  description: string;
  schema: JsonSchema;
}

/** One answer of an operation: what it means, its JSON body (none for an answer the route does not build) and headers. */
export interface OperationResponse {
  description: string;
  body?: NamedSchema;
  headers?: Record<string, ResponseHeader>;
}

/**
 * What the OpenAPI document says of one operation: everything about a route but
 * its handler. Applications describe their own routes with it too (the
 * standalone server adds `GET /api/me` and `GET /health`).
 */
export interface OperationDefinition {
  /** Stable name, also the OpenAPI operationId. */
  name: string;
  method: RouteMethod;
  /** Path as configured, without the prefix a host mounts the routes under. */
  path: string;
  tag: OperationTag;
  /** One line for humans and the OpenAPI summary. */
  summary: string;
  /** What the operation does and when it answers what (CommonMark). */
  description: string;
  /**
   * Whether it reads an access token from `Authorization: Bearer`: `required` (401
   * without a valid one), `optional` (used when sent, e.g. blocklisted on logout) or `none`.
   */
  bearer: 'required' | 'optional' | 'none';
  parameters: readonly OperationParameter[];
  /** Null when the route reads no body. */
  requestBody: OperationRequestBody | null;
  /** Answers by status code (`'200'`, `'401'`, or a range such as `'4XX'`). */
  responses: Record<string, OperationResponse>;
}

/**
 * One route of jwt-refresh. The single source for routing in every adapter
 * and for the OpenAPI document, so neither can drift from the handlers.
 */
export interface RouteDefinition extends OperationDefinition {
  handler: RouteHandler;
}
