import { createHash } from 'node:crypto';

/**
 * The mark of a legacy hash: the gesdinet bundle (2.2+, `hash_tokens`) stores
 * `sha256$` + hex SHA-256 of the token. Imported as is under a pepper, such a
 * row keeps the `$`, which no HMAC hex digest contains, so a marked hash can
 * never equal (or be mistaken for) one of our own.
 */
export const LEGACY_SHA256_PREFIX = 'sha256$';

const LEGACY_SHA256_HASH = /^sha256\$[0-9a-f]{64}$/;

/**
 * The marked SHA-256 of a plain token, as the gesdinet bundle stored it
 * (`sha256$<hex>`), the form under which an imported legacy row is found.
 *
 * @example
 * legacySha256Hash('abc'); // 'sha256$ba7816bf…'
 */
export function legacySha256Hash(plainToken: string): string {
  return `${LEGACY_SHA256_PREFIX}${createHash('sha256').update(plainToken).digest('hex')}`;
}

/**
 * Whether a stored value is a marked legacy hash (`sha256$` and 64 lowercase
 * hex digits). Upper-case hex is normalised by the import before this test.
 *
 * @example
 * isLegacySha256Hash('sha256$' + 'a'.repeat(64)); // true
 */
export function isLegacySha256Hash(value: string): boolean {
  return LEGACY_SHA256_HASH.test(value);
}
