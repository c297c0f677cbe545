import { BadRequestError, InvalidCredentialsError, UnsupportedMediaTypeError } from '../errors.js';
import type { RequestView } from '../lib/request-view.js';
import { enforceRateLimit } from '../sessions/enforce-rate-limit.js';
import { logInWithPassword } from '../sessions/log-in-with-password.js';
import { clientAddress } from './client-address.js';
import { assertCsrfProtected } from './csrf.js';
import { errorParts } from './error-response.js';
import { isPlainObject } from './extractors.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';
import { readBody } from './read-body.js';
import type { ResponseParts } from './response-parts.js';
import { tokenResponse } from './token-response.js';

/** Symfony's cap on identifiers (UserBadge::MAX_USERNAME_LENGTH); longer ones are bad credentials. */
const MAX_IDENTIFIER_LENGTH = 4096;

/**
 * `POST /api/login_check` (SPEC §2): JSON credentials in, a token pair out,
 * through {@link logInWithPassword}.
 */
export async function handleLogin(ctx: HandlerContext, request: RequestView, info: RequestInfo): Promise<ResponseParts> {
  try {
    assertCsrfProtected(request, ctx.config);
    const ip = clientAddress(ctx, request, info);
    await enforceRateLimit(ctx, 'login', ip, ctx.now());
    const { username, password } = await readCredentials(ctx, request, info);
    const session = await logInWithPassword(ctx, username, password, {
      client: { userAgent: request.header('user-agent'), ip },
      request,
    });
    return tokenResponse(ctx, session);
  } catch (error) {
    return errorParts(error, info.log ?? ctx.logger);
  }
}

async function readCredentials(
  ctx: HandlerContext,
  request: RequestView,
  info: RequestInfo,
): Promise<{ username: string; password: string }> {
  const body = await readBody(request, ctx.config.maxBodyBytes, info.body);
  if (body.kind === 'malformed' && body.reason === 'media-type') throw new UnsupportedMediaTypeError();
  if (body.kind === 'form') throw new UnsupportedMediaTypeError();
  if (body.kind !== 'json') throw new BadRequestError('Invalid JSON.');
  if (!isPlainObject(body.value)) throw new BadRequestError('Invalid JSON: the body must be a JSON object.');
  const { usernameField, passwordField } = ctx.config.login;
  const username = requireString(body.value, usernameField);
  const password = requireString(body.value, passwordField);
  if (username.length > MAX_IDENTIFIER_LENGTH) throw new InvalidCredentialsError();
  return { username, password };
}

function requireString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (value === undefined) throw new BadRequestError(`The key "${key}" must be provided.`);
  if (typeof value !== 'string' || value === '') throw new BadRequestError(`The key "${key}" must be a non-empty string.`);
  return value;
}
