import type { RequestView } from '../lib/request-view.js';
import { isPlainObject } from './extractors.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';
import { readBody } from './read-body.js';
import { jsonParts, type ResponseParts } from './response-parts.js';

/** RFC 6749 §5.2 error codes the OAuth-shaped routes answer. */
export type OAuthErrorCode = 'invalid_request' | 'invalid_grant' | 'unsupported_grant_type';

/** An RFC 6749 §5.2 error answer: 400 `{error, error_description}`. */
export function oauthError(error: OAuthErrorCode, description: string): ResponseParts {
  return jsonParts(400, { error, error_description: description });
}

/** The request's parameters: a form body as RFC 6749 §4.1.3 says, or a JSON object. Null when unreadable. */
export async function readParameters(ctx: HandlerContext, request: RequestView, info: RequestInfo): Promise<Map<string, unknown> | null> {
  const body = await readBody(request, ctx.config.maxBodyBytes, info.body);
  if (body.kind === 'form') return new Map(body.value.entries());
  if (body.kind === 'json' && isPlainObject(body.value)) return new Map(Object.entries(body.value));
  return body.kind === 'empty' ? new Map() : null;
}

/** Parameter `name` when it is a non-empty string no longer than `maxLength`, else null. */
export function stringParameter(parameters: Map<string, unknown>, name: string, maxLength: number): string | null {
  const value = parameters.get(name);
  return typeof value === 'string' && value !== '' && value.length <= maxLength ? value : null;
}
