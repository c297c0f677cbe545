import { dirname } from 'node:path';
import { ConfigError } from '../errors.js';
import type { RefreshTokenStore } from '../stores/store.js';

/** The store named by a URL, and the directory where dev files (keys, users) go beside it. */
export interface OpenedStore {
  store: RefreshTokenStore;
  dataDirectory: string;
  /** The URL's scheme, e.g. "sqlite" or "postgres", for logs. */
  kind: string;
}

/** Schemes the server and CLI accept, with the store each opens. */
const STORE_SCHEMES = ['sqlite', 'memory', 'postgres', 'postgresql', 'mysql', 'mariadb', 'redis', 'rediss', 'mongodb', 'mongodb+srv'];

/**
 * Opens the store a `DATABASE_URL` names (SPEC §10): `sqlite:<path>`,
 * `memory:`, `postgres://…`, `mysql://…` (or `mariadb://…`), `redis://…`,
 * `mongodb://…`. Drivers are imported on demand, so they stay optional peers:
 * a missing driver is a start-up error naming the package to install.
 */
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

export async function openStore(databaseUrl: string, options: { tableName?: string } = {}): Promise<OpenedStore> {
  const colon = databaseUrl.indexOf(':');
  if (colon < 1) throw new ConfigError('DATABASE_URL: expected a store URL such as sqlite:./var/jwt-refresh.db or postgres://host/db');
  const scheme = databaseUrl.slice(0, colon).toLowerCase();
  if (!STORE_SCHEMES.includes(scheme)) {
    throw new ConfigError(`DATABASE_URL: unsupported store "${scheme}:"; use one of ${STORE_SCHEMES.map((s) => `${s}:`).join(', ')}`);
  }
  const tableName = options.tableName === undefined ? {} : { tableName: options.tableName };
  const serverData = { dataDirectory: './var', kind: scheme };
  switch (scheme) {
    case 'sqlite': {
      const filename = sqliteFilename(databaseUrl);
      if (filename === '') throw new ConfigError('DATABASE_URL: sqlite: needs a file path, e.g. sqlite:./var/jwt-refresh.db');
      const { createSqliteStore } = await loadDriver(() => import('../stores/sqlite.js'), 'better-sqlite3');
      return { store: createSqliteStore({ filename, ...tableName }), dataDirectory: dirname(filename), kind: scheme };
    }
    case 'memory': {
      const { createMemoryStore } = await import('../stores/memory.js');
      return { store: createMemoryStore(), ...serverData };
    }
    case 'postgres':
    case 'postgresql': {
      const { createPostgresStore } = await loadDriver(() => import('../stores/postgres.js'), 'pg');
      return { store: createPostgresStore({ url: databaseUrl, ...tableName }), ...serverData };
    }
    case 'mysql':
    case 'mariadb': {
      const { createMysqlStore } = await loadDriver(() => import('../stores/mysql.js'), 'mysql2');
      return { store: createMysqlStore({ url: databaseUrl.replace(/^mariadb:/i, 'mysql:'), ...tableName }), ...serverData };
    }
    case 'redis':
    case 'rediss': {
      const { createRedisStore } = await loadDriver(() => import('../stores/redis.js'), 'ioredis');
      return { store: createRedisStore({ url: databaseUrl, ...tableName }), ...serverData };
    }
    default: {
      const { createMongoStore } = await loadDriver(() => import('../stores/mongodb.js'), 'mongodb');
      const collection = options.tableName === undefined ? {} : { collectionName: options.tableName };
      return { store: createMongoStore({ url: databaseUrl, ...collection }), ...serverData };
    }
  }
}

async function loadDriver<T>(load: () => Promise<T>, driver: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new ConfigError(`DATABASE_URL: this store needs the "${driver}" package: npm install ${driver}`);
    }
    throw error;
  }
}
