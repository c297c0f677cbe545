import type { RouteDefinition } from './route-definition.js';
import { jsonParts, type ResponseParts } from './response-parts.js';

/** The OpenAPI 3.1 description of `routes`, built from the same definitions the adapters route with. */
export function openApiDocument(routes: readonly Omit<RouteDefinition, 'handler'>[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const operation: Record<string, unknown> = {
      operationId: route.name,
      summary: route.summary,
      responses: Object.fromEntries(
        Object.entries(route.responses).map(([status, description]) => [
          status,
          { description, content: { 'application/json': { schema: { type: 'object' } } } },
        ]),
      ),
    };
    if (route.authenticated) operation.security = [{ bearerAuth: [] }];
    if (route.bodyFields.length > 0) {
      const schema = {
        type: 'object',
        properties: Object.fromEntries(route.bodyFields.map((field) => [field, { type: 'string' }])),
      };
      operation.requestBody = {
        content: { 'application/json': { schema }, 'application/x-www-form-urlencoded': { schema } },
      };
    }
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'jwt-refresh', version: '1' },
    components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    paths,
  };
}

/** `GET /api/openapi.json`: the document of `routes` (the list the handler is part of). */
export function openApiHandler(routes: readonly RouteDefinition[]): () => Promise<ResponseParts> {
  return async () => jsonParts(200, openApiDocument(routes), { 'cache-control': 'public, max-age=300' });
}
