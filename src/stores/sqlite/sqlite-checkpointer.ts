/**
 * WAL checkpoints off the request thread.
 *
 * With `synchronous=NORMAL` in WAL mode a commit only appends frames to the WAL; the fsyncs
 * happen when the WAL is checkpointed into the database file. SQLite's auto-checkpoint runs
 * that checkpoint inside the COMMIT that crosses 1000 pages, on the connection that committed:
 * with better-sqlite3 that is the event loop, which then waits on two fsyncs. Here a worker
 * thread, on its own connection to the same file, checkpoints instead: PASSIVE on a timer (it
 * never blocks the writer), followed by a TRUNCATE once the WAL file passes half its bound (a
 * PASSIVE checkpoint cannot rewind a WAL that is being appended to, so under steady writes only
 * this keeps the file small). The TRUNCATE does not wait: it succeeds when it lands in a gap
 * between write transactions, and then holds the next one off for the frames written since the
 * PASSIVE pass and one fsync.
 *
 * The serving connection's auto-checkpoint is not 0 but the bound itself, as a backstop: a
 * writer that never leaves the worker a gap (a tight loop of commits) would otherwise grow the
 * WAL without end. While the worker keeps up, the WAL never gets there and the request thread
 * never checkpoints.
 *
 * Durability is SQLite's own for WAL + `synchronous=NORMAL`, whichever connection checkpoints.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** Background checkpointing of a store-owned WAL database (`checkpoint` option of the SQLite store). */
export interface SqliteCheckpointOptions {
  /** Milliseconds between two PASSIVE checkpoints. Default 200. */
  intervalMs?: number;
  /**
   * Bound of the WAL file in bytes (give or take one transaction). The worker truncates the WAL
   * past half of it; past all of it the serving connection checkpoints itself. Default 64 MiB.
   */
  walLimitBytes?: number;
}

/** A running checkpoint worker. */
export interface SqliteCheckpointer {
  /** Stops the worker (it closes its own connection first). Idempotent. */
  stop(): Promise<void>;
}

const DEFAULT_INTERVAL_MS = 200;
const DEFAULT_WAL_LIMIT_BYTES = 64 * 1024 * 1024;
/** SQLite's own default, on the serving connection if the worker cannot run. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

// CommonJS (an eval worker): the driver's entry is resolved by the main thread and passed in,
// so the worker loads the very copy of better-sqlite3 the store uses, whatever the cwd.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require(workerData.driver);
const db = new Database(workerData.filename);
// No waiting: a TRUNCATE that finds a writer does what PASSIVE would and lets go (SQLITE_BUSY),
// instead of holding the checkpoint lock while the writer keeps the WAL growing; the next tick tries again.
db.pragma('busy_timeout = 0');
db.pragma('wal_autocheckpoint = 0');
const walSize = () => { try { return statSync(workerData.filename + '-wal').size; } catch { return 0; } };
let stopping = false;
const tick = () => {
  if (stopping) return;
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    // Right after a PASSIVE pass, a TRUNCATE has only the frames of the last few ms left to copy
    // while it holds the writer off.
    if (walSize() > workerData.walLimitBytes / 2) db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (error) {
    // SQLITE_BUSY past busy_timeout: try again on the next tick.
    if (error && error.code !== 'SQLITE_BUSY' && error.code !== 'SQLITE_LOCKED') throw error;
  }
  timer = setTimeout(tick, workerData.intervalMs);
};
let timer = setTimeout(tick, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  stopping = true;
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
parentPort.postMessage('ready');
`;

/**
 * Raises `database`'s auto-checkpoint to the WAL bound and starts the worker that checkpoints `filename`.
 * If the worker fails (driver not loadable, disk error), the serving connection gets SQLite's
 * auto-checkpoint back, so the WAL stays bounded either way.
 */
export function startCheckpointer(
  database: Database.Database,
  filename: string,
  options: SqliteCheckpointOptions = {},
): SqliteCheckpointer {
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const walLimitBytes = options.walLimitBytes ?? DEFAULT_WAL_LIMIT_BYTES;
  let worker: Worker;
  try {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, filename, intervalMs, walLimitBytes } });
  } catch {
    // No worker here (a bundle without the driver on disk, a runtime without worker threads):
    // SQLite's own auto-checkpoint, as with `checkpoint: false`.
    return { stop: async () => undefined };
  }
  const pageSize = database.pragma('page_size', { simple: true }) as number;
  database.pragma(`wal_autocheckpoint = ${Math.max(1, Math.floor(walLimitBytes / pageSize))}`);
  // Not a reason for the process to stay alive: close() stops it, process exit ends it.
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('error', () => {
    if (database.open) database.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
  });
  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        worker.postMessage('stop');
        const timeout = setTimeout(() => void worker.terminate(), 5_000);
        await exited;
        clearTimeout(timeout);
      })();
      return stopped;
    },
  };
}
