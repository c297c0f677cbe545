import { authenticateCredentials } from '../auth/authenticate-credentials.js';
import { BadRequestError, InvalidCredentialsError, JwtRefreshError, UnsupportedMediaTypeError } from '../errors.js';
import { issueRefreshToken } from '../tokens/issue-refresh-token.js';
import { assertCsrfHeader } from './csrf.js';
import { errorResponse } from './error-response.js';
import { isPlainObject } from './extractors.js';
import type { HandlerContext, RequestInfo } from './handler-context.js';
import { clientAddress, enforceRateLimit } from './rate-limit.js';
import { readBody } from './read-body.js';
import { tokenResponse } from './token-response.js';

/** Symfony's cap on identifiers (UserBadge::MAX_USERNAME_LENGTH); longer ones are bad credentials. */
const MAX_IDENTIFIER_LENGTH = 4096;

/**
 * `POST /api/login_check` (SPEC §2): JSON credentials in, a token pair out.
 * Every login starts a new family; a refresh token in the request is ignored.
 */
export async function handleLogin(ctx: HandlerContext, request: Request, info: RequestInfo = {}): Promise<Response> {
  try {
    assertCsrfHeader(request, ctx.config);
    const ip = clientAddress(ctx, request, info);
    await enforceRateLimit(ctx, 'login', ip);
    const { username, password } = await readCredentials(ctx, request);
    const user = await authenticateCredentials(ctx.credentials, username, password).catch(async (error: unknown) => {
      if (error instanceof JwtRefreshError) await ctx.events.emit('authenticationFailure', { error, request });
      throw error;
    });
    const issued = await issueRefreshToken(ctx, user, {
      userAgent: request.headers.get('user-agent'),
      ip,
    });
    return await tokenResponse(ctx, user, issued.token, issued.record, request);
  } catch (error) {
    return errorResponse(error, ctx.reportError);
  }
}

async function readCredentials(ctx: HandlerContext, request: Request): Promise<{ username: string; password: string }> {
  const body = await readBody(request, ctx.config.maxBodyBytes);
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
