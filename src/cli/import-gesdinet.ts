import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '../errors.js';
import type { GesdinetColumns } from '../gesdinet-import/gesdinet-source.js';
import {
  DEFAULT_IMPORT_BATCH_SIZE,
  type GesdinetImportReport,
  type ImportProgress,
  importGesdinetTokens,
} from '../gesdinet-import/import-gesdinet-tokens.js';
import { openGesdinetSource } from '../gesdinet-import/open-gesdinet-source.js';
import { checkTimeZone } from '../gesdinet-import/source-datetime.js';
import { openUsersFile } from '../server/users-file.js';
import { addConfigOption, dataDirectoryOf, resolveCliSettings, withStore } from './cli-settings.js';

/** Largest `--batch-size`. */
const MAX_IMPORT_BATCH_SIZE = 10_000;
/** How often the TTY progress line is redrawn, at most. */
const PROGRESS_INTERVAL_MS = 200;
// Same identifier rule as the stores' and the readers'.
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** `--columns` keys: the bundle's own column names. */
const COLUMN_KEYS: Record<string, keyof GesdinetColumns> = {
  refresh_token: 'refreshToken',
  username: 'username',
  valid: 'valid',
  family: 'family',
  family_valid: 'familyValid',
};

interface ImportOptions {
  from: string;
  table: string;
  columns?: Partial<GesdinetColumns>;
  timezone: string;
  to?: string;
  toTable?: string;
  config?: string;
  usersFile?: string;
  batchSize: number;
  dryRun: boolean;
  json: boolean;
}

/**
 * `jwt-refresh import-gesdinet --from URL` (SPEC §7, §10, **beyond**): copies
 * the live rows of a gesdinet bundle's `refresh_tokens` table into the store
 * the server uses, so its clients' refresh tokens keep working after the
 * move. The store, config (pepper) and users file are resolved as `serve`
 * resolves them: the tokens must be hashed with the server's pepper and owned
 * by the ids of the server's users. The run is `importGesdinetTokens`; this
 * file reads the command line, draws the progress line and prints the report.
 */
export function registerImportGesdinet(program: Command): void {
  addConfigOption(
    program
      .command('import-gesdinet')
      .description("import the live rows of gesdinet/jwt-refresh-token-bundle's refresh_tokens table, so clients keep their sessions")
      .requiredOption('--from <url>', 'the Symfony database: mysql://, mariadb://, postgres:// or sqlite:<path>', parseSourceUrl)
      .option('--table <name>', "the bundle's table in it", parseIdentifier, 'refresh_tokens')
      .option(
        '--columns <list>',
        'column names that differ from the Doctrine mapping, e.g. refresh_token=token,username=email,valid=valid_until (also family, family_valid)',
        parseColumns,
      )
      .option('--timezone <zone>', "zone of the naive `valid` datetimes: PHP's date.timezone (IANA name)", parseTimeZone, 'UTC')
      .option(
        '--to <url>',
        'the store to import into (default: $DATABASE_URL, else databaseUrl in the config file, else the server default)',
      )
      .option('--to-table <name>', "the store's token table (default: refresh_tokens)", parseIdentifier)
      .option(
        '--users-file <path>',
        "the server's users file that maps usernames to user ids (default: $USERS_FILE, else users.json beside the store)",
      )
      .option('--batch-size <n>', `rows read per batch, 1 to ${MAX_IMPORT_BATCH_SIZE}`, parseBatchSize, DEFAULT_IMPORT_BATCH_SIZE)
      .option('--dry-run', 'read and report what would be imported; write nothing', false)
      .option('--json', 'print the report as one JSON object', false),
  ).action(async (options: ImportOptions) => {
    const settings = resolveCliSettings({ config: options.config, databaseUrl: options.to }, process.env);
    const usersPath = options.usersFile ?? process.env.USERS_FILE ?? join(dataDirectoryOf(settings.databaseUrl), 'users.json');
    if (!existsSync(usersPath)) {
      throw new ConfigError(
        `the users file ${usersPath} does not exist: the import maps each row's username to a user id through the server's users file (--users-file, USERS_FILE)`,
      );
    }
    const userProvider = openUsersFile(usersPath);
    const report = await withStore(settings, { ...(options.toTable === undefined ? {} : { table: options.toTable }) }, async (store) => {
      const source = await openGesdinetSource(options.from, {
        table: options.table,
        ...(options.columns ? { columns: options.columns } : {}),
      });
      const stop = new AbortController();
      const abort = () => stop.abort();
      process.once('SIGINT', abort);
      process.once('SIGTERM', abort);
      const progress = process.stderr.isTTY ? createProgressLine(options.dryRun) : null;
      try {
        return await importGesdinetTokens({
          source,
          store,
          userProvider,
          pepper: settings.config.pepper,
          timeZone: options.timezone,
          batchSize: options.batchSize,
          dryRun: options.dryRun,
          maxSessionLifetime: settings.config.maxSessionLifetime,
          maxTokenLength: settings.config.maxTokenLength,
          signal: stop.signal,
          onProgress: (at) => progress?.update(at),
        });
      } finally {
        progress?.done();
        process.off('SIGINT', abort);
        process.off('SIGTERM', abort);
        await source.close();
      }
    });
    printReport(report, options.json, settings.config.legacySha256Tokens);
    if (report.interrupted) {
      process.stderr.write('jwt-refresh: interrupted; run import-gesdinet again to import the rest (rows already imported are skipped)\n');
      process.exitCode = 130;
    }
  });
}

/** The report: a few lines on stdout (or one JSON object), and what the operator must do about legacy rows on stderr. */
function printReport(report: GesdinetImportReport, json: boolean, legacyLookupOn: boolean): void {
  const { skipped } = report;
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ ...report, markedLegacyValidUntil: report.markedLegacyValidUntil?.toISOString() ?? null, legacySha256Tokens: legacyLookupOn })}\n`,
    );
  } else {
    const would = report.dryRun ? 'Dry run: would import' : 'Imported';
    if (report.imported === 0 && skipped.alreadyImported > 0) {
      process.stdout.write(
        `${report.dryRun ? 'Dry run: nothing' : 'Nothing'} to import: ${skipped.alreadyImported} live row(s) of ${report.table} already imported\n`,
      );
    } else {
      process.stdout.write(`${would} ${report.imported} refresh token(s) from ${report.table}\n`);
    }
    process.stdout.write(`Read ${report.read} of ${report.total} row(s)\n`);
    const total = skipped.expired + skipped.unknownUser + skipped.alreadyImported + skipped.invalid;
    process.stdout.write(
      `Skipped ${total} row(s): ${skipped.expired} expired, ${skipped.unknownUser} unknown user, ` +
        `${skipped.alreadyImported} already imported, ${skipped.invalid} invalid\n`,
    );
    if (report.unknownUsers.length > 0) {
      const more = skipped.unknownUser > report.unknownUsers.length ? ', …' : '';
      process.stdout.write(`Unknown users: ${report.unknownUsers.join(', ')}${more}\n`);
    }
    if (report.bundleHashed > 0) {
      process.stdout.write(`Of the imported, ${report.bundleHashed} were the bundle's sha256$ hashes (hash_tokens)\n`);
    }
    if (report.markedLegacy > 0) {
      process.stdout.write(
        `${report.markedLegacy} are kept as SHA-256 (a pepper is configured): they verify while legacySha256Tokens is on, ` +
          `at the latest until ${report.markedLegacyValidUntil?.toISOString() ?? 'their expiry'}\n`,
      );
    }
  }
  if (report.markedLegacy > 0 && !legacyLookupOn) {
    const until = report.markedLegacyValidUntil?.toISOString() ?? 'their expiry';
    process.stderr.write(
      `jwt-refresh: warning: ${report.markedLegacy} imported token(s) are the bundle's SHA-256 hashes and a pepper is configured: ` +
        `set legacySha256Tokens: true in the server's config (until ${until}) or those clients must log in again\n`,
    );
  }
}

/** A `\r`-redrawn progress line on stderr (total, rate), erased when done so stdout stays the record. */
function createProgressLine(dryRun: boolean): { update(progress: ImportProgress): void; done(): void } {
  const started = Date.now();
  let lastDrawn = 0;
  let drawn = false;
  return {
    update({ read, total, imported }) {
      const at = Date.now();
      if (at - lastDrawn < PROGRESS_INTERVAL_MS) return;
      lastDrawn = at;
      drawn = true;
      const rate = Math.round((read * 1000) / Math.max(at - started, 1));
      const percent = total > 0 ? Math.min(100, Math.floor((read * 100) / total)) : 100;
      process.stderr.write(
        `\rRead ${read}/${total} row(s) (${percent}%), ${imported} ${dryRun ? 'importable' : 'imported'}, ${rate} row(s)/s\x1b[K`,
      );
    },
    done() {
      if (drawn) process.stderr.write('\r\x1b[K');
    },
  };
}

function parseSourceUrl(value: string): string {
  if (!/^(mysql|mariadb|postgres|postgresql):\/\/./i.test(value) && !/^sqlite:./i.test(value)) {
    throw new InvalidArgumentError('expected a mysql://, mariadb://, postgres:// or sqlite:<path> URL.');
  }
  return value;
}

function parseIdentifier(value: string): string {
  if (!IDENTIFIER.test(value)) {
    throw new InvalidArgumentError('expected an SQL identifier: a letter or "_", then letters, digits or "_", 63 characters at most.');
  }
  return value;
}

function parseColumns(value: string): Partial<GesdinetColumns> {
  const columns: Partial<GesdinetColumns> = {};
  for (const pair of value.split(',')) {
    const [key = '', name = '', ...rest] = pair.split('=').map((part) => part.trim());
    const option = COLUMN_KEYS[key];
    if (option === undefined || rest.length > 0) {
      throw new InvalidArgumentError(`expected ${Object.keys(COLUMN_KEYS).join('|')}=<column>, comma-separated; got "${pair}".`);
    }
    columns[option] = parseIdentifier(name);
  }
  return columns;
}

function parseTimeZone(value: string): string {
  try {
    return checkTimeZone(value);
  } catch {
    throw new InvalidArgumentError('expected an IANA time zone such as UTC, Europe/Paris or America/New_York.');
  }
}

function parseBatchSize(value: string): number {
  const size = /^\d{1,9}$/.test(value) ? Number(value) : Number.NaN;
  if (!(size >= 1 && size <= MAX_IMPORT_BATCH_SIZE)) {
    throw new InvalidArgumentError(`expected an integer from 1 to ${MAX_IMPORT_BATCH_SIZE}.`);
  }
  return size;
}
