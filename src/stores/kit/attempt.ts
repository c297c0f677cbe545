/**
 * How a store runs one operation: within its deadline, again while the backend rolled the work back for a transient
 * conflict (where the store gives a retry policy), and with a driver failure turned into a {@link StoreError} that
 * names the store and the operation and keeps the driver's message, which may quote SQL or values, in `cause` only.
 * A failure that means the store is unreachable or slow becomes a {@link StoreUnavailableError}, answered 503.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError, StoreUnavailableError } from '../../errors.js';
import { withDeadline } from './operation-timeout.js';
import { driverCodeOf, unavailableCode } from './unavailable.js';

export { errorProperty } from './error-property.js';

/** When, and how soon, a store runs failed work again. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  /** Whether the backend rolled the work back as a whole, so that running it again is safe. */
  readonly isRetryable: (error: unknown) => boolean;
  /** Pause before the try after `attempt`; random, so the losers of one conflict do not collide again in step. */
  readonly pauseMs: (attempt: number) => number;
}

/** How {@link attempt} runs an operation. */
export interface AttemptOptions {
  /** The backend (`postgres`, `redis`, ...), named in the error and so in the log line. */
  readonly store?: string;
  /** Runs the work again while it allows. */
  readonly retry?: RetryPolicy;
  /** Deadline of the whole operation, retries included, in milliseconds; none when absent. */
  readonly timeoutMs?: number;
}

/**
 * `error` itself when it is a StoreError already, else a StoreError for `operation` caused by it: a
 * {@link StoreUnavailableError} when it says the store is unreachable or slow.
 */
export function asStoreError(operation: string, error: unknown, store?: string): StoreError {
  if (error instanceof StoreError) return error;
  const unavailable = unavailableCode(error);
  if (unavailable !== null) return new StoreUnavailableError(operation, { cause: error, store, driverCode: unavailable });
  return new StoreError(operation, { cause: error, store, driverCode: driverCodeOf(error) });
}

/** Runs `work`, and again while `policy` allows. */
export async function retry<T>(work: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let tries = 1; ; tries += 1) {
    try {
      return await work();
    } catch (error) {
      if (tries >= policy.attempts || !policy.isRetryable(error)) throw error;
      await sleep(policy.pauseMs(tries));
    }
  }
}

/** Runs `work` as `operation` under `options`, rejecting with {@link asStoreError}. */
export async function attempt<T>(operation: string, work: () => Promise<T>, options: AttemptOptions = {}): Promise<T> {
  const policy = options.retry;
  const once = policy === undefined ? work : () => retry(work, policy);
  try {
    return await (options.timeoutMs === undefined ? once() : withDeadline(once, options.timeoutMs));
  } catch (error) {
    throw asStoreError(operation, error, options.store);
  }
}
