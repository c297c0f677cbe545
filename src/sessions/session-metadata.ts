import { SessionMetadataError } from '../errors.js';

/** A JSON value, as session metadata may hold. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * What an application keeps with a session (device name, login method,
 * tenant): a small JSON object stored with the token family, copied to every
 * rotated token and listed with the session. The analog of extending the
 * bundle's refresh token entity (`refresh_token_class`). Never put secrets
 * here: operators see it in `jwt-refresh sessions`.
 */
export type SessionMetadata = { [key: string]: JsonValue };

/** Deeper nesting than this is refused: metadata is a label, not a document. */
const MAX_DEPTH = 8;

/**
 * The metadata as the JSON text stores keep, or null for none.
 *
 * @throws SessionMetadataError when it is not a plain JSON object (functions,
 *   `undefined`, non-finite numbers, class instances, cycles or deep nesting
 *   would not survive a round trip) or its JSON is longer than `maxBytes`.
 */
export function serializeSessionMetadata(metadata: SessionMetadata | null | undefined, maxBytes: number): string | null {
  if (metadata === undefined || metadata === null) return null;
  if (!isPlainObject(metadata)) throw new SessionMetadataError('metadata must be a plain JSON object');
  assertJson(metadata, 0);
  const text = JSON.stringify(metadata);
  if (Buffer.byteLength(text) > maxBytes) throw new SessionMetadataError(`metadata is longer than ${maxBytes} bytes as JSON`);
  return text;
}

/** Stored metadata back as an object; text that is not a JSON object (a hand-edited row) reads as none. */
export function parseSessionMetadata(text: string | null): SessionMetadata | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    return isPlainObject(value) ? (value as SessionMetadata) : null;
  } catch {
    return null;
  }
}

function assertJson(value: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new SessionMetadataError(`metadata is nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new SessionMetadataError('metadata numbers must be finite');
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) assertJson(item, depth + 1);
    return;
  }
  if (isPlainObject(value)) {
    for (const item of Object.values(value)) assertJson(item, depth + 1);
    return;
  }
  throw new SessionMetadataError(`metadata values must be JSON (got ${typeof value})`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
