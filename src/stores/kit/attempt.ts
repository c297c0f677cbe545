/**
 * How a store runs one operation: a driver failure becomes a {@link StoreError}
 * that names the operation and keeps the driver's message, which may quote SQL
 * or values, in `cause` only. Work the backend rolled back as a whole for a
 * transient conflict runs again first, where the store gives a retry policy.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StoreError } from '../../errors.js';

/** When, and how soon, a store runs failed work again. */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly attempts: number;
  /** Whether the backend rolled the work back as a whole, so that running it again is safe. */
  readonly isRetryable: (error: unknown) => boolean;
  /** Pause before the try after `attempt`; random, so the losers of one conflict do not collide again in step. */
  readonly pauseMs: (attempt: number) => number;
}

/** `error` itself when it is a StoreError already, else a StoreError for `operation` caused by it. */
export function asStoreError(operation: string, error: unknown): StoreError {
  return error instanceof StoreError ? error : new StoreError(operation, { cause: error });
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

/** Runs `work` as `operation` (again while `policy` allows), rejecting with {@link asStoreError}. */
export async function attempt<T>(operation: string, work: () => Promise<T>, policy?: RetryPolicy): Promise<T> {
  try {
    return await (policy === undefined ? work() : retry(work, policy));
  } catch (error) {
    throw asStoreError(operation, error);
  }
}

/** `error[property]` when `error` is an object: where drivers put a SQLSTATE, an errno or a server code. */
export function errorProperty(error: unknown, property: string): unknown {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[property] : undefined;
}
