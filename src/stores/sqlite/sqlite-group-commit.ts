/**
 * Group commit for a synchronous driver.
 *
 * What a commit costs in WAL mode is writing every page the transaction changed to the WAL,
 * once per transaction: a rotation dirties a table leaf and a leaf of each of five indexes,
 * most of which the next rotation dirties again (the table's and `valid_until`'s rightmost
 * leaves, the interior pages). Committing the writes that arrive in the same event-loop turn
 * in one transaction writes those shared pages once, and pays the per-commit work once.
 *
 * better-sqlite3 blocks, so nothing is ever "in flight"; a turn is the unit instead. The first
 * write of a turn commits at once, alone (no added wait when the store is idle). Writes that
 * arrive later in the same turn, while that commit has just happened, are queued and committed
 * together on `setImmediate`, i.e. right after the I/O callbacks of the turn, or as soon as
 * `maxBatch` are queued. Each queued write runs in its own SAVEPOINT, so its own guarded
 * compare-and-set decides its own outcome, and a write that throws is rolled back alone and
 * rejects alone. Its promise settles only after the COMMIT of its batch.
 */
import type Database from 'better-sqlite3';

/** Group commit settings (`groupCommit` option of the SQLite store). */
export interface SqliteGroupCommitOptions {
  /** Most writes committed in one transaction. Default 32. */
  maxBatch?: number;
}

interface QueuedWrite {
  operation: string;
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Runs writes, committing those of one event-loop turn together. */
export interface WriteBatcher {
  /** Runs `work` in a transaction shared with the other writes of this turn; settles after that transaction commits. */
  write<T>(operation: string, work: () => T): Promise<T>;
  /** Commits the queued writes now (before a write that must not overtake them, or close). */
  flush(): void;
}

export const DEFAULT_MAX_BATCH = 32;

/** A {@link WriteBatcher} over `database`; `wrapError` turns a driver error into the store's error for `operation`. */
export function createWriteBatcher(
  database: Database.Database,
  maxBatch: number,
  wrapError: (operation: string, error: unknown) => unknown,
): WriteBatcher {
  let queue: QueuedWrite[] = [];
  // Set by a commit made in this turn, cleared (and the queue committed) on setImmediate.
  let turnScheduled = false;
  // Nested in the batch's transaction, better-sqlite3 runs this as a SAVEPOINT: a throw rolls back that write only.
  const savepoint = database.transaction((work: () => unknown) => work());
  const alone = database.transaction((work: () => unknown) => work());
  const batch = database.transaction((writes: QueuedWrite[]) => {
    let aborted: unknown;
    return writes.map((write) => {
      // An error SQLite answers by rolling back the whole transaction (disk full, I/O error): the rest
      // is not run, since it would commit on its own; the batch's COMMIT then fails and rejects them all.
      if (aborted !== undefined) return { ok: false as const, error: aborted };
      try {
        return { ok: true as const, value: savepoint(write.work) };
      } catch (error) {
        if (!database.inTransaction) aborted = error;
        return { ok: false as const, error };
      }
    });
  });

  function endOfTurn(): void {
    turnScheduled = false;
    flush();
  }

  function scheduleTurn(): void {
    if (turnScheduled) return;
    turnScheduled = true;
    setImmediate(endOfTurn);
  }

  function flush(): void {
    if (queue.length === 0) return;
    const writes = queue;
    queue = [];
    let outcomes: ReturnType<typeof batch>;
    try {
      // IMMEDIATE: the write lock is taken at BEGIN, as for the store's single writes.
      outcomes = batch.immediate(writes);
    } catch (error) {
      // BEGIN or COMMIT failed (busy past busy_timeout, disk error): nothing of the batch is committed.
      for (const write of writes) write.reject(wrapError(write.operation, error));
      return;
    }
    // This commit counts for the turn too: writes arriving before setImmediate queue behind it.
    scheduleTurn();
    outcomes.forEach((outcome, i) => {
      const write = writes[i] as QueuedWrite;
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(wrapError(write.operation, outcome.error));
    });
  }

  return {
    write<T>(operation: string, work: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        if (!turnScheduled && queue.length === 0) {
          // Idle: commit now, alone, and open the turn's batch for whatever follows.
          scheduleTurn();
          try {
            resolve(alone.immediate(work) as T);
          } catch (error) {
            reject(wrapError(operation, error));
          }
          return;
        }
        queue.push({ operation, work, resolve: resolve as (value: unknown) => void, reject });
        if (queue.length >= maxBatch) flush();
      });
    },
    flush,
  };
}
