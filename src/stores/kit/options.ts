/** The option checks every store makes, with the same rule and wording everywhere. */
import { ConfigError } from '../../errors.js';
import type { Clock } from '../../lib/clock.js';

/** The options every store with a schema (all but memory and Redis) takes alike. */
export interface SchemaStoreOptions {
  /**
   * Apply missing migrations before the first operation (SQLite: on
   * construction). Default true; with false, run `migrate()` yourself (e.g. in a deploy step).
   */
  migrate?: boolean;
  /** Source of the time each migration is recorded as applied at. Default the wall clock. */
  clock?: Clock;
}

/** The option every store on a server (PostgreSQL, MySQL, Redis, MongoDB) takes alike. */
export interface ServerStoreOptions {
  /**
   * Longest time one operation may take, in milliseconds (1 to 120000), waiting for a connection and retries
   * included; past it the operation fails with a `StoreUnavailableError` (HTTP 503 with `Retry-After`). Also sets the
   * driver's own connect and query timeouts on a connection the store opens itself. Default 3000.
   */
  operationTimeoutMs?: number;
}

/** A letter or "_", then letters, digits or "_": a table name valid for one store is valid for all. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `value` when it is an identifier of at most `maxLength` characters (63 by
 * default: PostgreSQL's limit, within MySQL's 64), else a ConfigError naming `option`.
 */
export function identifier(option: string, value: unknown, { maxLength = 63, kind = 'an SQL identifier' } = {}): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value) || value.length > maxLength) {
    throw new ConfigError(`${option}: expected ${kind} (a letter or "_", then letters, digits or "_", ${maxLength} characters at most)`);
  }
  return value;
}

/**
 * Refuses options giving both or neither of the two ways to reach a backend:
 * `owned`, which the store opens and closes, and `shared`, a handle the app owns.
 */
export function exactlyOne<O extends object>(store: string, options: O, owned: keyof O, shared: keyof O): void {
  if ((options[owned] === undefined) === (options[shared] === undefined)) {
    throw new ConfigError(`stores.${store}: expected exactly one of \`${String(owned)}\` and \`${String(shared)}\``);
  }
}
