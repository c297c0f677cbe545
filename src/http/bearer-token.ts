import { JwtNotFoundError } from '../errors.js';

const BEARER = /^Bearer[ \t]+([^ \t]+)[ \t]*$/i;

/** The token of an `Authorization: Bearer <jwt>` header (SPEC §1: the prefix is case-insensitive), or null. */
export function bearerToken(authorization: string | null | undefined): string | null {
  const match = authorization == null ? null : BEARER.exec(authorization);
  return match?.[1] ?? null;
}

/**
 * Like {@link bearerToken}, for protected routes: no token is an error.
 *
 * @throws JwtNotFoundError
 */
export function requireBearerToken(authorization: string | null | undefined): string {
  const token = bearerToken(authorization);
  if (token === null) throw new JwtNotFoundError();
  return token;
}
