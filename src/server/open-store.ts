import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RefreshTokenStore } from '../stores/store.js';
import { redisClusterNodes } from './redis-cluster-url.js';

/** The store named by a URL, and the directory where dev files (keys, users) go beside it. */
export interface OpenedStore {
  store: RefreshTokenStore;
  dataDirectory: string;
  /** The URL's scheme, e.g. "sqlite" or "postgres", for logs. */
  kind: string;
}

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** The token table (collection for MongoDB); the store's default otherwise. */
  tableName?: string;
  /** The stores' `migrate` option: false opens without creating or upgrading the schema. Default true. */
  migrate?: boolean;
  /**
   * The server-backed stores' `operationTimeoutMs`: longest wait for one store operation before it fails with 503.
   * Default: the `STORE_TIMEOUT_MS` environment variable, else the stores' default (3000).
   */
  operationTimeoutMs?: number;
  /** Where the Redis store warns about missing persistence or an unsafe eviction policy. Default JSON lines on stderr. */
  logger?: Logger;
  /** Environment to read `STORE_TIMEOUT_MS` from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** Schemes the server and CLI accept, with the store each opens. */
const STORE_SCHEMES = [
  'sqlite',
  'memory',
  'postgres',
  'postgresql',
  'mysql',
  'mariadb',
  'redis',
  'rediss',
  'redis+cluster',
  'rediss+cluster',
  'mongodb',
  'mongodb+srv',
];

/** The optional package each server-backed scheme's store imports, and the store's name for messages. */
const DRIVERS: Record<string, { driver: string; store: string }> = {
  sqlite: { driver: 'better-sqlite3', store: 'SQLite' },
  postgres: { driver: 'pg', store: 'PostgreSQL' },
  postgresql: { driver: 'pg', store: 'PostgreSQL' },
  mysql: { driver: 'mysql2', store: 'MySQL' },
  mariadb: { driver: 'mysql2', store: 'MySQL' },
  redis: { driver: 'ioredis', store: 'Redis' },
  rediss: { driver: 'ioredis', store: 'Redis' },
  'redis+cluster': { driver: 'ioredis', store: 'Redis' },
  'rediss+cluster': { driver: 'ioredis', store: 'Redis' },
  mongodb: { driver: 'mongodb', store: 'MongoDB' },
  'mongodb+srv': { driver: 'mongodb', store: 'MongoDB' },
};

/**
 * An optional peer package (a store driver, Fastify for `serve`) is not
 * installed. A {@link ConfigError} for the library and the server; the CLI
 * answers it with exit code 2 and the message, which names the
 * `npm install` to run.
 */
export class MissingPackageError extends ConfigError {
  constructor(
    message: string,
    /** The packages to install. */
    readonly packages: readonly string[],
  ) {
    super(message);
  }
}

/**
 * The package a failed `import()` could not find, from Node's
 * `ERR_MODULE_NOT_FOUND` ("Cannot find package 'pg' imported from …"), or
 * null for any other failure (a missing file of our own is not a missing package).
 *
 * @example
 * try { await import('fastify'); } catch (error) { missingPackageOf(error); } // 'fastify'
 */
export function missingPackageOf(error: unknown): string | null {
  if ((error as NodeJS.ErrnoException | undefined)?.code !== 'ERR_MODULE_NOT_FOUND') return null;
  return /Cannot find package '((?:@[^/']+\/)?[^/']+)/.exec((error as Error).message)?.[1] ?? null;
}

/**
 * The driver package the store of a URL needs, or null (`memory:`, an unknown scheme).
 *
 * @example
 * storeDriverOf('postgres://db/app'); // 'pg'
 */
export function storeDriverOf(databaseUrl: string): string | null {
  const colon = databaseUrl.indexOf(':');
  return DRIVERS[databaseUrl.slice(0, Math.max(colon, 0)).toLowerCase()]?.driver ?? null;
}

/**
 * The file of a `sqlite:` URL: `sqlite:./var/db.sqlite` and `sqlite://./var/db.sqlite` are
 * relative, `sqlite:///var/db.sqlite` is absolute (the URL's empty host dropped).
 *
 * @example
 * sqliteFilename('sqlite://./var/jwt-refresh.db'); // './var/jwt-refresh.db'
 */
export function sqliteFilename(databaseUrl: string): string {
  return databaseUrl.slice('sqlite:'.length).replace(/^\/\//, '');
}

/**
 * Opens the store a `DATABASE_URL` names (SPEC §10): `sqlite:<path>`,
 * `memory:`, `postgres://…`, `mysql://…` (or `mariadb://…`), `redis://…`,
 * `redis+cluster://host:port,host:port` (a Redis Cluster, see
 * {@link redisClusterNodes}), `mongodb://…`. Drivers are imported on demand,
 * so they stay optional peers: a missing driver is a
 * {@link MissingPackageError} naming the package to install.
 *
 * @example
 * const { store } = await openStore('postgres://app@db/app', { tableName: 'jwt_refresh_tokens', migrate: false });
 */
export async function openStore(databaseUrl: string, options: OpenStoreOptions = {}): Promise<OpenedStore> {
  const colon = databaseUrl.indexOf(':');
  if (colon < 1) throw new ConfigError('DATABASE_URL: expected a store URL such as sqlite:./var/jwt-refresh.db or postgres://host/db');
  const scheme = databaseUrl.slice(0, colon).toLowerCase();
  if (!STORE_SCHEMES.includes(scheme)) {
    throw new ConfigError(`DATABASE_URL: unsupported store "${scheme}:"; use one of ${STORE_SCHEMES.map((s) => `${s}:`).join(', ')}`);
  }
  const storeOptions = {
    ...(options.tableName === undefined ? {} : { tableName: options.tableName }),
    ...(options.migrate === undefined ? {} : { migrate: options.migrate }),
  };
  const operationTimeoutMs = options.operationTimeoutMs ?? storeTimeoutFromEnv(options.env ?? process.env);
  const serverStoreOptions = {
    ...storeOptions,
    ...(operationTimeoutMs === undefined ? {} : { operationTimeoutMs }),
  };
  const serverData = { dataDirectory: './var', kind: scheme };
  const loadDriver = <T>(load: () => Promise<T>) => loadStoreModule(load, scheme);
  switch (scheme) {
    case 'sqlite': {
      const filename = sqliteFilename(databaseUrl);
      if (filename === '') throw new ConfigError('DATABASE_URL: sqlite: needs a file path, e.g. sqlite:./var/jwt-refresh.db');
      const { createSqliteStore } = await loadDriver(() => import('../stores/sqlite.js'));
      return { store: createSqliteStore({ filename, ...storeOptions }), dataDirectory: dirname(filename), kind: scheme };
    }
    case 'memory': {
      const { createMemoryStore } = await import('../stores/memory.js');
      return { store: createMemoryStore(), ...serverData };
    }
    case 'postgres':
    case 'postgresql': {
      const { createPostgresStore } = await loadDriver(() => import('../stores/postgres.js'));
      return { store: createPostgresStore({ url: databaseUrl, ...serverStoreOptions }), ...serverData };
    }
    case 'mysql':
    case 'mariadb': {
      const { createMysqlStore } = await loadDriver(() => import('../stores/mysql.js'));
      return { store: createMysqlStore({ url: databaseUrl.replace(/^mariadb:/i, 'mysql:'), ...serverStoreOptions }), ...serverData };
    }
    case 'redis':
    case 'rediss': {
      const { createRedisStore } = await loadDriver(() => import('../stores/redis.js'));
      const logger = options.logger === undefined ? {} : { logger: options.logger };
      return { store: createRedisStore({ url: databaseUrl, ...serverStoreOptions, ...logger }), ...serverData };
    }
    case 'redis+cluster':
    case 'rediss+cluster': {
      // Parsed before the driver loads, so a malformed URL is reported as such even without ioredis.
      const cluster = redisClusterNodes(databaseUrl);
      const { createRedisStore } = await loadDriver(() => import('../stores/redis.js'));
      const logger = options.logger === undefined ? {} : { logger: options.logger };
      return { store: createRedisStore({ cluster, ...serverStoreOptions, ...logger }), ...serverData };
    }
    default: {
      const { createMongoStore } = await loadDriver(() => import('../stores/mongodb.js'));
      const collection = {
        ...(options.tableName === undefined ? {} : { collectionName: options.tableName }),
        ...(options.migrate === undefined ? {} : { migrate: options.migrate }),
        ...(operationTimeoutMs === undefined ? {} : { operationTimeoutMs }),
      };
      return { store: createMongoStore({ url: databaseUrl, ...collection }), ...serverData };
    }
  }
}

/** `STORE_TIMEOUT_MS` as milliseconds, undefined when unset; a ConfigError when it is not a whole number from 1 to 120000. */
function storeTimeoutFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.STORE_TIMEOUT_MS;
  if (text === undefined || text === '') return undefined;
  const value = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= 1 && value <= 120_000)) {
    throw new ConfigError('STORE_TIMEOUT_MS: expected a whole number of milliseconds from 1 to 120000');
  }
  return value;
}

/** Imports a store's module; a missing package (its driver, or one the driver needs) names the driver to install. */
async function loadStoreModule<T>(load: () => Promise<T>, scheme: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const missing = missingPackageOf(error);
    const { driver, store } = DRIVERS[scheme] ?? { driver: missing, store: scheme };
    if (missing === null || driver === null) throw error;
    throw new MissingPackageError(`the ${store} store needs the "${missing}" package: npm install ${driver}`, [driver]);
  }
}
