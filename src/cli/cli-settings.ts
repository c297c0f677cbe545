import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { withEnvironmentOverrides } from '../config-file/environment-overrides.js';
import { loadConfigFileWithWarnings } from '../config-file/load-config-file.js';
import { parseConfig } from '../config/parse-config.js';
import type { JwtRefreshConfig, JwtRefreshConfigInput } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { openStore, sqliteFilename } from '../server/open-store.js';
import { readServerSettings } from '../server/server-settings.js';
import type { RefreshTokenStore } from '../stores/store.js';
import { assertSchemaReady, migrateHint } from './store-schema.js';

/**
 * What the CLI commands share: where the config and the store come from,
 * resolved the way the standalone server resolves them (SPEC §10, §12), so a
 * command sees the same store, pepper and keys as `jwt-refresh serve`.
 */

/** The store used when neither `--database-url`, `DATABASE_URL` nor the config file names one (as the server). */
export const DEFAULT_DATABASE_URL = 'sqlite:./var/jwt-refresh.db';

/** Options every command that reads the config file accepts. */
export interface ConfigOptions {
  /** `--config PATH`; else `JWT_REFRESH_CONFIG`. */
  config?: string;
}

/** Options every store command accepts. */
export interface StoreOptions extends ConfigOptions {
  /** `--database-url URL`; else `DATABASE_URL`, else the config file's `databaseUrl`, else {@link DEFAULT_DATABASE_URL}. */
  databaseUrl?: string;
  /** `--table NAME`: the token table (collection for MongoDB). */
  table?: string;
}

/** The config file and environment, merged and validated. */
export interface CliSettings {
  /** Options after the environment's overrides and the defaults. */
  config: JwtRefreshConfig;
  /** The store URL, by the precedence of {@link StoreOptions.databaseUrl}. */
  databaseUrl: string;
  /** NODE_ENV is `production`. */
  production: boolean;
}

/**
 * The second argument of `command.error()` for a wrong command line: exit 2,
 * as commander's own usage errors (which main.ts maps to 2).
 */
export const USAGE_ERROR = { exitCode: 2, code: 'jwt-refresh.usage' } as const;

// Same identifier rule as the stores': fits SQLite, PostgreSQL and MySQL.
const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** Adds `--config` to a command. */
export function addConfigOption(command: Command): Command {
  return command.option('--config <path>', 'YAML or JSON config file (default: $JWT_REFRESH_CONFIG)');
}

/** Adds `--database-url`, `--table` and `--config` to a store command. */
export function addStoreOptions(command: Command): Command {
  return addConfigOption(
    command
      .option(
        '--database-url <url>',
        `store URL (default: $DATABASE_URL, else databaseUrl in the config file, else ${DEFAULT_DATABASE_URL})`,
      )
      .option('--table <name>', 'token table or collection name (default: refresh_tokens)', parseTableName),
  );
}

function parseTableName(value: string): string {
  if (!TABLE_NAME.test(value)) {
    throw new InvalidArgumentError('expected an SQL identifier: a letter or "_", then letters, digits or "_", 63 characters at most.');
  }
  return value;
}

/**
 * Reads the config file (`--config`, else `JWT_REFRESH_CONFIG`) and the
 * environment the server reads (`DATABASE_URL`, `JWT_SECRET_KEY`,
 * `JWT_PUBLIC_KEY`, `JWT_PASSPHRASE`, `REFRESH_TOKEN_PEPPER`,
 * `REFRESH_TOKEN_SECRET`), the environment winning as in the server (except a
 * variable the file reads itself with `%env()%`). Warnings
 * about ignored bundle keys go to stderr.
 *
 * @throws ConfigError naming the file, option or variable at fault
 *
 * @example
 * const { config, databaseUrl } = resolveCliSettings({ config: 'config/jwt.yaml' }, process.env);
 */
export function resolveCliSettings(options: StoreOptions, env: NodeJS.ProcessEnv): CliSettings {
  // Only the variables the CLI uses: a HOST or PORT meant for another program must not stop a command.
  const settings = readServerSettings({
    DATABASE_URL: env.DATABASE_URL,
    JWT_REFRESH_CONFIG: env.JWT_REFRESH_CONFIG,
    JWT_SECRET_KEY: env.JWT_SECRET_KEY,
    JWT_PUBLIC_KEY: env.JWT_PUBLIC_KEY,
    JWT_PASSPHRASE: env.JWT_PASSPHRASE,
    REFRESH_TOKEN_SECRET: env.REFRESH_TOKEN_SECRET,
    REFRESH_TOKEN_PEPPER: env.REFRESH_TOKEN_PEPPER,
  });
  const configPath = options.config ?? settings.JWT_REFRESH_CONFIG;
  let input: JwtRefreshConfigInput = {};
  let configuredDatabaseUrl: string | undefined;
  let readByFile: string[] = [];
  if (configPath !== undefined) {
    const loaded = loadConfigFileWithWarnings(configPath, { env });
    for (const warning of loaded.warnings) process.stderr.write(`jwt-refresh: warning: ${warning}\n`);
    input = loaded.config;
    configuredDatabaseUrl = loaded.databaseUrl;
    readByFile = loaded.environmentRead;
  }
  const config = parseConfig(withEnvironmentOverrides(input, settings, readByFile));
  const databaseUrl = options.databaseUrl ?? settings.DATABASE_URL ?? configuredDatabaseUrl ?? DEFAULT_DATABASE_URL;
  return { config, databaseUrl, production: env.NODE_ENV === 'production' };
}

/**
 * The directory the server keeps its development files in (keys, secret,
 * users) for a store URL: beside the SQLite file, else `./var`.
 */
export function dataDirectoryOf(databaseUrl: string): string {
  if (!/^sqlite:/i.test(databaseUrl)) return './var';
  return dirname(sqliteFilename(databaseUrl));
}

/** How {@link withStore} treats a store's schema. */
export interface WithStoreOptions {
  /** `--table`: the token table (collection for MongoDB). */
  table?: string;
  /**
   * `migrate` opens the store as it is, a SQLite file included, for the command
   * to migrate. Without it the store must exist with its schema up to date: a
   * missing SQLite file, a missing table or a pending migration is refused
   * before anything is written, and nothing is created or migrated.
   */
  migrate?: boolean;
}

/**
 * Opens the store of `settings`, runs `work` on it and closes it, whatever
 * `work` did. The store is always opened with the stores' `migrate: false`:
 * only `jwt-refresh migrate` (with `{ migrate: true }`, calling
 * `store.migrate()`, which reports the versions it applies) and the server
 * create or upgrade a schema.
 *
 * @throws ConfigError when the store does not exist or lacks its schema (see {@link WithStoreOptions.migrate})
 *
 * @example
 * const total = await withStore(settings, { table: 'tokens' }, (store) => store.count());
 */
export async function withStore<T>(
  settings: CliSettings,
  options: WithStoreOptions,
  work: (store: RefreshTokenStore) => Promise<T>,
): Promise<T> {
  const { databaseUrl } = settings;
  if (options.migrate !== true && /^sqlite:/i.test(databaseUrl)) {
    // Checked before opening: opening a SQLite file creates it, and its directories.
    const filename = sqliteFilename(databaseUrl);
    if (filename !== '' && filename !== ':memory:' && !existsSync(filename)) {
      throw new ConfigError(`the database ${filename} does not exist; ${migrateHint(options.table)} creates it`);
    }
  }
  const { store, kind } = await openStore(databaseUrl, {
    ...(options.table === undefined ? {} : { tableName: options.table }),
    migrate: false,
  });
  try {
    if (options.migrate !== true) await assertSchemaReady(store, kind, options.table);
    return await work(store);
  } finally {
    await store.close();
  }
}
