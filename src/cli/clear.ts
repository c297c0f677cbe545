import { statSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import type { SqliteRefreshTokenStore } from '../stores/sqlite.js';
import type { RefreshTokenStore } from '../stores/store.js';
import { clearExpiredTokens, type ClearedTokens } from '../sessions/clear-expired-tokens.js';
import type { OperatorContext } from '../sessions/session-context.js';
import { addStoreOptions, resolveCliSettings, type StoreOptions, USAGE_ERROR, withStore } from './cli-settings.js';
import { operatorContext } from './operator-context.js';
import { parseDateArgument } from './parse-date.js';

/** Largest `--batch-size`: a bigger batch holds the write lock long enough to stall live refreshes. */
export const MAX_CLEAR_BATCH_SIZE = 100_000;
/** WAL size past which clear empties the SQLite WAL between batches (see createWalGuard). */
const WAL_CHECKPOINT_BYTES = 64 * 1024 * 1024;
/** How often the TTY progress line is redrawn, at most. */
const PROGRESS_INTERVAL_MS = 100;

interface ClearOptions extends StoreOptions {
  /** Else the config's `clearBatchSize` (the bundle's `default_invalid_batch_size`). */
  batchSize?: number;
  dryRun: boolean;
}

/**
 * `jwt-refresh clear [date] [--batch-size N]` (SPEC §10, the bundle's
 * `gesdinet:jwt:clear`): deletes the tokens whose validity ended before now
 * or `date`, in batches, then the expired blocklist entries and rate-limit
 * windows, and the "revoked before" watermarks older than `jwt.tokenTtl +
 * jwt.clockSkew` (no access token they could refuse is still valid).
 * Prints the cutoff it resolved (ISO 8601, UTC) first, warns on stderr when
 * it is in the future (live tokens are deleted then), and ends with
 * `Revoked N invalid token(s)`. `--dry-run` prints the cutoff and deletes
 * nothing: the store port counts only all tokens, not those past a date, so
 * the dry run shows that total and says so rather than guess.
 */
export function registerClear(program: Command): void {
  addStoreOptions(
    program
      .command('clear')
      .description('delete refresh tokens whose validity ended before now or <date>, in batches')
      // Variadic so `clear -1 day` works unquoted; the words are joined again.
      .argument('[date...]', 'ISO 8601 date, "yesterday", or relative like "-1 day", "-2 weeks" (default: now)')
      .option(
        '--batch-size <n>',
        `rows deleted per statement, 1 to ${MAX_CLEAR_BATCH_SIZE} (default: clearBatchSize, 1000)`,
        parseBatchSize,
      )
      .option('--dry-run', 'print the cutoff and delete nothing', false)
      // "-1 day" starts with a dash: without this commander would take it for an unknown option.
      // Real unknown options are still refused in the action.
      .allowUnknownOption(),
  ).action(async (dateWords: string[], options: ClearOptions, command: Command) => {
    const text = dateWords.join(' ');
    const unknownOption = dateWords.find((word) => /^-(?![\d\s])/.test(word));
    if (unknownOption !== undefined) {
      command.error(`error: unknown option '${unknownOption}'`, USAGE_ERROR);
    }
    const now = new Date();
    const before = text === '' ? now : parseDateArgument(text, now);
    if (before === null) {
      command.error(
        `error: invalid date "${text}": use ISO 8601 (2015-08-08, "2015-08-08 10:00:00", 2015-08-08T10:00:00Z), ` +
          'now, today, yesterday, or a relative time such as "-1 day", "-2 weeks", "+3 hours"',
        USAGE_ERROR,
      );
    }
    const settings = resolveCliSettings(options, process.env);
    const cutoff = before.toISOString();
    if (options.dryRun) {
      // Opened all the same: the dry run checks that the store exists, is migrated and answers.
      const total = await withStore(settings, options, (store) => store.count());
      process.stdout.write(`Dry run: would delete refresh tokens whose validity ended before ${cutoff}\n`);
      warnIfFuture(before, now, 'would be deleted');
      process.stdout.write(
        `Dry run: nothing deleted; the store holds ${total} refresh token(s) in all, expired or not (a dry run cannot count those past the cutoff)\n`,
      );
      return;
    }
    const cleared = await withStore(settings, options, async (store) => {
      process.stdout.write(`Deleting refresh tokens whose validity ended before ${cutoff}\n`);
      warnIfFuture(before, now, 'are deleted');
      return clearWithProgress(operatorContext(settings.config, store), before, options.batchSize ?? settings.config.clearBatchSize);
    });
    process.stdout.write(`Revoked ${cleared.deleted} invalid token(s)\n`);
    if (cleared.interrupted) {
      process.stderr.write('jwt-refresh: interrupted; run clear again to delete the rest\n');
      process.exitCode = 130;
    }
  });
}

/** A cutoff after now deletes tokens that are still valid, ending their sessions: say so, on stderr. */
function warnIfFuture(before: Date, now: Date, consequence: string): void {
  if (before <= now) return;
  const cutoff = before.toISOString();
  process.stderr.write(
    `jwt-refresh: warning: the cutoff ${cutoff} is in the future: refresh tokens still valid until then ${consequence}\n`,
  );
}

function parseBatchSize(value: string): number {
  const size = /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
  if (!(size >= 1 && size <= MAX_CLEAR_BATCH_SIZE)) {
    throw new InvalidArgumentError(`expected an integer from 1 to ${MAX_CLEAR_BATCH_SIZE}.`);
  }
  return size;
}

/**
 * Runs {@link clearExpiredTokens} as a command: SIGINT/SIGTERM stop it after
 * the current batch, a TTY gets a progress line, and a SQLite WAL is kept in
 * check between batches.
 */
async function clearWithProgress(ctx: OperatorContext, before: Date, batchSize: number): Promise<ClearedTokens> {
  const stop = new AbortController();
  const abort = () => stop.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  const progress = process.stderr.isTTY ? createProgressLine() : null;
  const walGuard = createWalGuard(ctx.store);
  try {
    return await clearExpiredTokens(ctx, {
      before,
      batchSize,
      signal: stop.signal,
      afterBatch: (deleted) => {
        walGuard?.afterBatch();
        progress?.update(deleted);
      },
    });
  } finally {
    progress?.done();
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
  }
}

/**
 * Keeps a SQLite WAL from growing without bound while clear runs beside a
 * live server. Each batch appends every page it touched to the WAL, and the
 * automatic checkpoints after each commit are PASSIVE: while another
 * connection keeps writing (live refreshes), they never catch up, SQLite
 * never restarts the log, and it grows by the size of every batch (measured:
 * 1.5 GB of WAL to clear 200,000 rows from a 90 MB database). A TRUNCATE
 * checkpoint, once the WAL passes {@link WAL_CHECKPOINT_BYTES}, copies it back
 * and empties it; it waits for readers (the connection's busy timeout) and
 * holds writers off about as long as one batch does.
 *
 * Duck-typed on the store's better-sqlite3 handle (`SqliteRefreshTokenStore.database`),
 * so the CLI loads no driver it does not use. Null for every other store.
 */
function createWalGuard(store: RefreshTokenStore): { afterBatch(): void } | null {
  const database = (store as Partial<Pick<SqliteRefreshTokenStore, 'database'>>).database;
  if (database === undefined || typeof database.pragma !== 'function') return null;
  if (database.pragma('journal_mode', { simple: true }) !== 'wal' || database.memory) return null;
  const walFile = `${database.name}-wal`;
  return {
    afterBatch() {
      let size = 0;
      try {
        size = statSync(walFile).size;
      } catch {
        return;
      }
      if (size <= WAL_CHECKPOINT_BYTES) return;
      try {
        database.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // Best effort: a reader that outlived the busy timeout only means the next batch tries again.
      }
    },
  };
}

/** A `\r`-redrawn "Deleted N token(s)…" line on stderr, erased when done so stdout stays the record. */
function createProgressLine(): { update(count: number): void; done(): void } {
  let lastDrawn = 0;
  let drawn = false;
  return {
    update(count) {
      const at = Date.now();
      if (at - lastDrawn < PROGRESS_INTERVAL_MS) return;
      lastDrawn = at;
      drawn = true;
      process.stderr.write(`\rDeleted ${count} token(s)…`);
    },
    done() {
      if (drawn) process.stderr.write('\r\x1b[K');
    },
  };
}
