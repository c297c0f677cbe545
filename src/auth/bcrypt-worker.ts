import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** One bcrypt operation, as the worker runs it. */
export type BcryptJob = { op: 'compare'; password: string; hash: string } | { op: 'hash'; password: string; cost: number };

// bcryptjs is JavaScript: on the main thread it would hold the event loop for up to 100 ms
// per slice (0.45 s per cost-13 check), and every request would wait behind it. In a worker
// thread it holds only that thread. The worker is an eval'd CommonJS script that requires
// bcryptjs by absolute path, so it needs no file of its own next to the compiled module.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptjs);
parentPort.on('message', ({ id, job }) => {
  try {
    const result = job.op === 'compare' ? bcrypt.compareSync(job.password, job.hash) : bcrypt.hashSync(job.password, job.cost);
    parentPort.postMessage({ id, result });
  } catch {
    parentPort.postMessage({ id, failed: true });
  }
});
`;

interface Pending {
  resolve(result: string | boolean): void;
  reject(error: Error): void;
}

let worker: Worker | null = null;
let nextId = 0;
const pending = new Map<number, Pending>();

/**
 * Runs `job` in the process's bcrypt worker thread, started on first use and
 * unreferenced while idle (it never keeps the process alive). Jobs run one at
 * a time, in order; callers bound how many they submit (the login queue).
 *
 * @throws Error when bcryptjs refuses the input or the worker dies (it is restarted at the next job)
 */
export function runBcryptJob(job: BcryptJob & { op: 'compare' }): Promise<boolean>;
export function runBcryptJob(job: BcryptJob & { op: 'hash' }): Promise<string>;
export function runBcryptJob(job: BcryptJob): Promise<string | boolean> {
  const thread = startedWorker();
  const id = nextId++;
  return new Promise<string | boolean>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    if (pending.size === 1) thread.ref();
    thread.postMessage({ id, job });
  });
}

function startedWorker(): Worker {
  if (worker !== null) return worker;
  const thread = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { bcryptjs: createRequire(import.meta.url).resolve('bcryptjs') },
    // A bcrypt check needs little memory; the default heap limits of a worker are far above it.
    resourceLimits: { maxOldGenerationSizeMb: 64 },
  });
  thread.unref();
  thread.on('message', ({ id, result, failed }: { id: number; result?: string | boolean; failed?: boolean }) => {
    const job = pending.get(id);
    if (job === undefined) return;
    pending.delete(id);
    if (pending.size === 0) thread.unref();
    if (failed === true || result === undefined) job.reject(new Error('bcrypt refused the input'));
    else job.resolve(result);
  });
  const fail = () => {
    if (worker === thread) worker = null;
    for (const job of pending.values()) job.reject(new Error('the bcrypt worker stopped'));
    pending.clear();
  };
  thread.on('error', fail);
  thread.on('exit', fail);
  worker = thread;
  return thread;
}
