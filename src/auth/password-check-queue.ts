import { availableParallelism } from 'node:os';
import { RateLimitedError } from '../errors.js';

/** Options of {@link createPasswordCheckQueue}. */
export interface PasswordCheckQueueOptions {
  /** Checks running at once. */
  concurrency: number;
  /** Checks waiting for a slot; one more is refused. 0: none wait. */
  maxQueued: number;
  /** `Retry-After` of the refusal, in seconds. */
  retryAfterSeconds: number;
}

/**
 * Bounds the password checks of one process: at most `concurrency` run, at
 * most `maxQueued` wait (first come, first served), and the next one is
 * refused at once with a RateLimitedError (429 with `Retry-After`) instead of
 * queueing without end. Password hashing is slow on purpose and runs on the
 * libuv thread pool, which access-token signing and verification (WebCrypto),
 * `fs` and `dns.lookup` share: unbounded, a login flood would make every
 * token route wait behind it (docs/passwords.md).
 *
 * @example
 * const checks = createPasswordCheckQueue({ concurrency: 2, maxQueued: 32, retryAfterSeconds: 1 });
 * const valid = await checks.run(() => hasher.verify(stored, password)); // throws RateLimitedError when full
 */
export interface PasswordCheckQueue {
  /** Runs `check` when a slot is free; throws RateLimitedError without running it when the queue is full. */
  run<T>(check: () => Promise<T>): Promise<T>;
  /** Checks running now. */
  readonly running: number;
  /** Checks waiting now. */
  readonly waiting: number;
}

/** Creates a {@link PasswordCheckQueue}. */
export function createPasswordCheckQueue(options: PasswordCheckQueueOptions): PasswordCheckQueue {
  const { concurrency, maxQueued, retryAfterSeconds } = options;
  let running = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    const next = waiting.shift();
    // The slot passes straight to the next in line, so a newcomer cannot overtake it.
    if (next === undefined) running -= 1;
    else next();
  };
  return {
    async run(check) {
      if (running < concurrency) running += 1;
      else if (waiting.length < maxQueued) await new Promise<void>((resolve) => waiting.push(resolve));
      else throw new RateLimitedError(retryAfterSeconds);
      try {
        return await check();
      } finally {
        release();
      }
    },
    get running() {
      return running;
    },
    get waiting() {
      return waiting.length;
    },
  };
}

/** libuv's thread pool size in this process: `UV_THREADPOOL_SIZE` as libuv reads it (1 to 1024), else 4. */
export function threadPoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const size = Number(env.UV_THREADPOOL_SIZE);
  return Number.isInteger(size) && size >= 1 ? Math.min(size, 1024) : 4;
}

/**
 * The default number of concurrent password checks: one less than the CPU
 * cores (the event loop keeps one), and at most the thread pool size minus 2,
 * so that hashing never holds every pool thread and access-token signing
 * (WebCrypto, on the same pool) always finds one free. At least 1.
 */
export function defaultPasswordCheckConcurrency(cores = availableParallelism(), poolSize = threadPoolSize()): number {
  return Math.max(1, Math.min(cores - 1, poolSize - 2));
}
