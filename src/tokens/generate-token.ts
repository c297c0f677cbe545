import { randomBytes } from 'node:crypto';

/** Produces a new opaque refresh token. Replaceable through the `generateToken` option. */
export type RefreshTokenGenerator = () => string;

/**
 * 64 crypto-random bytes, hex encoded: 128 characters, 512 bits of entropy,
 * so no collision-check round trip to the store is needed (SPEC §7).
 *
 * @example
 * const token = generateRefreshToken(); // 'a3f0…' (128 hex chars)
 */
export const generateRefreshToken: RefreshTokenGenerator = () => randomBytes(64).toString('hex');
