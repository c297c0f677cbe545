/**
 * The deadline of one store operation. Driver-level timeouts (connect, query, command) are set where the driver has
 * them, but none of them covers a whole operation: waiting for a pooled connection, a lazy migration, retries. This
 * guard does, so no request waits on the store longer than `operationTimeoutMs`, whatever the driver does.
 *
 * A timed-out write may still be applied by the server afterwards: the caller gets a StoreUnavailableError and must
 * treat the outcome as unknown (docs/stores.md, "When the store is down").
 */
import { ConfigError } from '../../errors.js';

/** Default of every server-backed store's `operationTimeoutMs`. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 3000;

/** Largest `operationTimeoutMs` accepted: a request waiting longer than this is a hang by any measure. */
const MAX_OPERATION_TIMEOUT_MS = 120_000;

/**
 * Operations that are maintenance, not requests: they may scan a whole table (`audit`, `count`, `purgeExpiredState`)
 * or a large batch (`deleteExpired`), so they get {@link MAINTENANCE_TIMEOUT_MS} rather than `operationTimeoutMs`.
 */
const MAINTENANCE_OPERATIONS = new Set(['audit', 'count', 'deleteExpired', 'purgeExpiredState']);

/** Deadline of a maintenance operation: still bounded, never shorter than `operationTimeoutMs`. */
export const MAINTENANCE_TIMEOUT_MS = 10 * 60 * 1000;

/** The deadline of `operation` in a store whose `operationTimeoutMs` is `timeoutMs`. */
export function deadlineOf(operation: string, timeoutMs: number): number {
  return MAINTENANCE_OPERATIONS.has(operation) ? Math.max(timeoutMs, MAINTENANCE_TIMEOUT_MS) : timeoutMs;
}

/** Our own timeout, as a driver error would report it: the log line shows its `code`. */
export class OperationTimeoutError extends Error {
  readonly code = 'OPERATION_TIMEOUT';
  constructor(timeoutMs: number) {
    super(`the store did not answer within ${timeoutMs} ms`);
    this.name = 'OperationTimeoutError';
  }
}

/**
 * `value` (default {@link DEFAULT_OPERATION_TIMEOUT_MS}) when it is a whole number of milliseconds from 1 to 120000,
 * else a ConfigError naming `stores.<store>.operationTimeoutMs`.
 */
export function operationTimeout(store: string, value: unknown): number {
  if (value === undefined) return DEFAULT_OPERATION_TIMEOUT_MS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_OPERATION_TIMEOUT_MS) {
    throw new ConfigError(
      `stores.${store}.operationTimeoutMs: expected a whole number of milliseconds from 1 to ${MAX_OPERATION_TIMEOUT_MS}`,
    );
  }
  return value;
}

/**
 * `work`'s outcome, or a rejection with {@link OperationTimeoutError} once `timeoutMs` have passed. The work itself
 * is not cancelled (no driver can take a statement back from the server); its late outcome is ignored.
 */
export function withDeadline<T>(work: () => Promise<T>, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new OperationTimeoutError(timeoutMs)), timeoutMs);
    // An idle store must not keep the process alive for the timer's sake.
    timer.unref();
    work().then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
