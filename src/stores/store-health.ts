import { StoreUnavailableError } from '../errors.js';
import { describeError, type Logger } from '../logger.js';
import type { RefreshTokenStore } from './store.js';

/** What {@link checkStoreHealth} found: the body of the standalone server's `/health`. */
export interface StoreHealth {
  /** `ok` when the store answered its ping in time, else `unavailable`. */
  status: 'ok' | 'unavailable';
  /** The store's own state; the only dependency checked, so the same as `status` today. */
  store: 'ok' | 'unavailable';
}

/**
 * Longest wait for a store's ping. Our stores already give up after their `operationTimeoutMs`; this bounds a custom
 * store that has no timeout of its own, so that a readiness probe never hangs.
 */
export const HEALTH_TIMEOUT_MS = 5000;

/**
 * Pings the store (`SELECT 1`, `PING`, `{ ping: 1 }`) within `timeoutMs`. A failure is logged at `warn` under the
 * redaction rules of `describeError` (store, operation, driver code) and answered, never thrown.
 *
 * @example
 * const health = await checkStoreHealth(store, logger);
 * reply.code(health.status === 'ok' ? 200 : 503).send(health);
 */
export async function checkStoreHealth(store: RefreshTokenStore, logger: Logger, timeoutMs = HEALTH_TIMEOUT_MS): Promise<StoreHealth> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError('ping', { driverCode: 'HEALTH_TIMEOUT' })), timeoutMs);
  });
  try {
    await Promise.race([store.ping(), deadline]);
    return { status: 'ok', store: 'ok' };
  } catch (error) {
    logger.warn({ error: describeError(error) }, 'jwt-refresh health check failed: store unavailable');
    return { status: 'unavailable', store: 'unavailable' };
  } finally {
    clearTimeout(timer);
  }
}
