import { createHash, createHmac } from 'node:crypto';

/** Maps a plain refresh token to the only form the store ever sees. */
export type TokenHasher = (plainToken: string) => string;

/**
 * HMAC-SHA-256 with the server-side `pepper` when one is configured (a stolen
 * table then reveals nothing usable), SHA-256 otherwise. Hex output.
 *
 * @example
 * const hash = createTokenHasher(process.env.REFRESH_PEPPER)(token);
 */
export function createTokenHasher(pepper: string | undefined): TokenHasher {
  if (pepper === undefined) {
    return (plainToken) => createHash('sha256').update(plainToken).digest('hex');
  }
  return (plainToken) => createHmac('sha256', pepper).update(plainToken).digest('hex');
}
