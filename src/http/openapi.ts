import type { JsonSchema, NamedSchema, OperationDefinition, OperationResponse, OperationTag, RouteHandler } from './route-definition.js';
import { jsonParts } from './response-parts.js';

/** Options of {@link openApiDocument}. */
export interface OpenApiOptions {
  /** The prefix the host mounted the routes under (`RequestInfo.basePath`): paths are listed as mounted. */
  basePath?: string;
}

/** An OpenAPI 3.1 document. */
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string; license: { name: string; identifier: string } };
  servers: Array<{ url: string; description: string }>;
  tags: OperationTag[];
  paths: Record<string, Record<string, JsonSchema>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
}

const BEARER_SCHEME = 'bearerAuth';

/** `security` of an operation: none, a Bearer token, or a Bearer token that is read when sent. */
const SECURITY: Record<OperationDefinition['bearer'], Array<Record<string, string[]>>> = {
  none: [],
  required: [{ [BEARER_SCHEME]: [] }],
  optional: [{}, { [BEARER_SCHEME]: [] }],
};

/**
 * The OpenAPI 3.1 description of `operations`, built from the same
 * definitions the adapters route with. Each body shape is listed once under
 * `components.schemas` and referenced where it is used.
 *
 * @example
 * // An application that serves the document itself, with its own routes in it:
 * const document = openApiDocument([...jwtRefresh.routes, { name: 'me', method: 'GET', path: '/api/me', ... }]);
 */
export function openApiDocument(operations: readonly OperationDefinition[], options: OpenApiOptions = {}): OpenApiDocument {
  const prefix = (options.basePath ?? '').replace(/\/+$/, '');
  const schemas: Record<string, JsonSchema> = {};
  const reference = (named: NamedSchema): JsonSchema => {
    const listed = schemas[named.name];
    if (listed !== undefined && JSON.stringify(listed) !== JSON.stringify(named.schema)) {
      throw new Error(`Two different OpenAPI schemas are named ${named.name}`);
    }
    schemas[named.name] = named.schema;
    return { $ref: `#/components/schemas/${named.name}` };
  };
  const tags = new Map<string, OperationTag>();
  const paths: Record<string, Record<string, JsonSchema>> = {};

  for (const operation of operations) {
    tags.set(operation.tag.name, operation.tag);
    const described: JsonSchema = {
      operationId: operation.name,
      tags: [operation.tag.name],
      summary: operation.summary,
      description: operation.description,
      security: SECURITY[operation.bearer],
    };
    if (operation.parameters.length > 0) described.parameters = operation.parameters;
    if (operation.requestBody !== null) {
      const schema = reference(operation.requestBody.body);
      described.requestBody = {
        required: operation.requestBody.required,
        content: Object.fromEntries(operation.requestBody.mediaTypes.map((mediaType) => [mediaType, { schema }])),
      };
    }
    described.responses = Object.fromEntries(
      Object.entries(operation.responses).map(([status, response]) => [status, describeResponse(response, reference)]),
    );
    const path = `${prefix}${operation.path}`;
    paths[path] = { ...paths[path], [operation.method.toLowerCase()]: described };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'jwt-refresh',
      version: '1',
      description: 'Short-lived JWT access tokens and rotating refresh tokens: login, refresh, logout, sessions.',
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/', description: 'The server that serves this document' }],
    tags: [...tags.values()],
    paths,
    components: {
      schemas,
      securitySchemes: {
        [BEARER_SCHEME]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from login or refresh' },
      },
    },
  };
}

function describeResponse(response: OperationResponse, reference: (named: NamedSchema) => JsonSchema): JsonSchema {
  const described: JsonSchema = { description: response.description };
  if (response.headers !== undefined) described.headers = response.headers;
  if (response.body !== undefined) described.content = { 'application/json': { schema: reference(response.body) } };
  return described;
}

/**
 * `GET /api/openapi.json`: the document of `operations` (the list the route is
 * part of), its paths as the host mounted them.
 */
export function openApiHandler(operations: readonly OperationDefinition[]): RouteHandler {
  return async (_ctx, _request, info) =>
    jsonParts(200, openApiDocument(operations, { basePath: info.basePath }), { 'cache-control': 'public, max-age=300' });
}
