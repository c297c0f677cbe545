import type { User, UserProvider } from '../auth/user.js';
import { StoreError } from '../errors.js';
import { type Clock, systemClock } from '../lib/clock.js';
import type { RefreshTokenRecord, RefreshTokenStore } from '../stores/store.js';
import { createTokenHasher } from '../tokens/hash-token.js';
import type { GesdinetSource } from './gesdinet-source.js';
import { type GesdinetSkipReason, importedRecord, type LiveGesdinetRow, mapGesdinetRow, type RowMapping } from './map-gesdinet-row.js';
import { wallClockToInstant } from './source-datetime.js';

/** Rows read per batch when `batchSize` is not given. */
export const DEFAULT_IMPORT_BATCH_SIZE = 1000;
/** Inserts in flight at once, per batch: enough to keep a server store's pool busy. */
const INSERT_CONCURRENCY = 8;
/** Usernames kept resolved between batches; past this the cache starts over, so memory stays bounded. */
const USER_CACHE_LIMIT = 10_000;
/** Unknown usernames named in the report, at most. */
const UNKNOWN_USER_SAMPLE = 10;

/** Options of {@link importGesdinetTokens}. */
export interface ImportGesdinetOptions {
  /** The bundle's table (see `openGesdinetSource`); the caller closes it. */
  source: GesdinetSource;
  /** Where the tokens go, migrated; the caller closes it. */
  store: RefreshTokenStore;
  /** Maps the bundle's `username` to a user with a stable id, as the server that will refresh them does. */
  userProvider: Pick<UserProvider, 'loadUserByIdentifier'>;
  /** The server's `pepper`; must be the same, or no imported token is ever found. */
  pepper?: string;
  /** Zone of the naive `valid` / `family_valid` datetimes (PHP's `date.timezone`). Default `UTC`. */
  timeZone?: string;
  /** Rows read per batch. Default {@link DEFAULT_IMPORT_BATCH_SIZE}. */
  batchSize?: number;
  /** Read, map and report; write nothing. */
  dryRun?: boolean;
  /** The server's `maxSessionLifetime` (seconds): the deadline, from now, of imported families that have none. */
  maxSessionLifetime?: number;
  /** The server's `maxTokenLength`: a longer plain token could never be presented. Default 512. */
  maxTokenLength?: number;
  /** The clock: rows valid until now or before are expired. */
  now?: Clock;
  /** Aborting stops the run after the current batch; the report says `interrupted`. */
  signal?: AbortSignal;
  /** Called after each batch. */
  onProgress?: (progress: ImportProgress) => void;
}

/** Where a run is, after a batch. */
export interface ImportProgress {
  /** Rows read so far. */
  read: number;
  /** Rows in the table when the run started. */
  total: number;
  /** Tokens imported so far (would be, on a dry run). */
  imported: number;
}

/** What a run did. */
export interface GesdinetImportReport {
  /** The table read. */
  table: string;
  /** Rows in the table when the run started. */
  total: number;
  /** Rows read. */
  read: number;
  /** Tokens imported (on a dry run: that would be). */
  imported: number;
  /** Rows not imported, by reason. */
  skipped: Record<GesdinetSkipReason, number>;
  /** Up to 10 usernames the user provider did not know. */
  unknownUsers: string[];
  /** Imported rows that were the bundle's `sha256$` hashes. */
  bundleHashed: number;
  /** Of those, the ones kept under the `sha256$` mark (a pepper is configured): they need `legacySha256Tokens`. */
  markedLegacy: number;
  /** The latest validity of a marked legacy token: `legacySha256Tokens` can be turned off after it. */
  markedLegacyValidUntil: Date | null;
  dryRun: boolean;
  /** The signal stopped the run before the end of the table. */
  interrupted: boolean;
}

/**
 * Imports a gesdinet/jwt-refresh-token-bundle `refresh_tokens` table into a
 * store, so a Symfony app moves to jwt-refresh without logging its users out
 * (SPEC §7, **beyond**): each live row becomes a refresh token the client's
 * plain token still refreshes (see `mapGesdinetRow` for hashes and families),
 * owned by the user id the user provider gives for its `username`.
 *
 * Batched by keyset over the token's unique index, so memory stays flat on
 * any table; idempotent: the token hash is unique in every store, so a row
 * already imported (by an earlier or interrupted run) is counted as
 * `alreadyImported` and nothing is written twice. Skipped and reported:
 * expired rows, rows whose user the provider no longer knows, unreadable rows.
 *
 * @throws StoreError (the store or the source failed; rows imported before stay, a rerun continues)
 *
 * @example
 * const source = await openGesdinetSource('mysql://root@db/symfony');
 * try {
 *   const report = await importGesdinetTokens({ source, store, userProvider, pepper: process.env.REFRESH_TOKEN_PEPPER });
 *   console.log(report.imported, report.skipped);
 * } finally { await source.close(); }
 */
export async function importGesdinetTokens(options: ImportGesdinetOptions): Promise<GesdinetImportReport> {
  const { source, store, userProvider } = options;
  const batchSize = options.batchSize ?? DEFAULT_IMPORT_BATCH_SIZE;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`importGesdinetTokens: batchSize must be a positive integer`);
  const clock = options.now ?? systemClock;
  const now = clock();
  const dryRun = options.dryRun === true;
  const mapping: RowMapping = {
    hashToken: createTokenHasher(options.pepper),
    peppered: options.pepper !== undefined,
    toInstant: wallClockToInstant(options.timeZone ?? 'UTC'),
    now,
    maxTokenLength: options.maxTokenLength ?? 512,
    maxSessionLifetime: options.maxSessionLifetime,
    forkedPrimaries: await source.forkedFamilyPrimaries(),
  };
  const report: GesdinetImportReport = {
    table: source.table,
    total: await source.count(),
    read: 0,
    imported: 0,
    skipped: { expired: 0, unknownUser: 0, alreadyImported: 0, invalid: 0 },
    unknownUsers: [],
    bundleHashed: 0,
    markedLegacy: 0,
    markedLegacyValidUntil: null,
    dryRun,
    interrupted: false,
  };
  const users = new Map<string, User | null>();
  const userOf = async (username: string): Promise<User | null> => {
    const known = users.get(username);
    if (known !== undefined) return known;
    if (users.size >= USER_CACHE_LIMIT) users.clear();
    const user = await userProvider.loadUserByIdentifier(username);
    users.set(username, user);
    return user;
  };

  let after: string | null = null;
  let previousBatchMostlyImported = false;
  for (;;) {
    if (options.signal?.aborted === true) {
      report.interrupted = true;
      break;
    }
    const rows = await source.readBatch(after, batchSize);
    if (rows.length === 0) break;
    after = rows[rows.length - 1]?.refreshToken ?? null;
    report.read += rows.length;

    const pending: Array<{ row: LiveGesdinetRow; record: RefreshTokenRecord }> = [];
    for (const row of rows) {
      const live = mapGesdinetRow(row, mapping);
      if (live === 'expired' || live === 'invalid') {
        report.skipped[live] += 1;
        continue;
      }
      const user = await userOf(live.username);
      if (user === null) {
        report.skipped.unknownUser += 1;
        if (report.unknownUsers.length < UNKNOWN_USER_SAMPLE && !report.unknownUsers.includes(live.username)) {
          report.unknownUsers.push(live.username);
        }
        continue;
      }
      pending.push({ row: live, record: importedRecord(live, user, now) });
    }
    // A rerun (the cut-over's second pass) finds most rows imported already: then a lookup
    // first costs one round trip per row where a refused insert costs two and an error.
    const lookUpFirst = dryRun || previousBatchMostlyImported;
    const alreadyBefore = report.skipped.alreadyImported;
    await inParallel(pending, INSERT_CONCURRENCY, async ({ row, record }) => {
      const written = lookUpFirst ? await insertIfAbsent(store, record, dryRun) : await insertOnce(store, record);
      if (!written) {
        report.skipped.alreadyImported += 1;
        return;
      }
      report.imported += 1;
      if (row.bundleHashed) report.bundleHashed += 1;
      if (row.markedLegacy) {
        report.markedLegacy += 1;
        if (report.markedLegacyValidUntil === null || row.validUntil > report.markedLegacyValidUntil) {
          report.markedLegacyValidUntil = row.validUntil;
        }
      }
    });
    previousBatchMostlyImported = report.skipped.alreadyImported - alreadyBefore > pending.length / 2;
    options.onProgress?.({ read: report.read, total: report.total, imported: report.imported });
    if (rows.length < batchSize) break;
  }
  return report;
}

/**
 * Inserts a record unless its hash is stored already: true when written. The
 * insert is tried first (one round trip for a new row); a refusal is a
 * duplicate only if the hash is then found, else the store's error stands.
 */
async function insertOnce(store: RefreshTokenStore, record: RefreshTokenRecord): Promise<boolean> {
  try {
    await store.insert(record);
    return true;
  } catch (error) {
    if (!(error instanceof StoreError)) throw error;
    if ((await store.findByHash(record.tokenHash)) !== null) return false;
    throw error;
  }
}

/**
 * Inserts a record after a lookup found its hash absent (nothing on a dry run): true when
 * it was (or would be) written. A row a concurrent writer stores in between is caught by
 * {@link insertOnce}.
 */
async function insertIfAbsent(store: RefreshTokenStore, record: RefreshTokenRecord, dryRun: boolean): Promise<boolean> {
  if ((await store.findByHash(record.tokenHash)) !== null) return false;
  return dryRun ? true : insertOnce(store, record);
}

/** Runs `work` over `items` with at most `limit` calls in flight. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
