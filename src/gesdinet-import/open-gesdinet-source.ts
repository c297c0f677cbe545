import { ConfigError } from '../errors.js';
import { MissingPackageError, missingPackageOf, sqliteFilename } from '../server/open-store.js';
import type { GesdinetSource, GesdinetSourceOptions } from './gesdinet-source.js';

/** The source schemes, with the driver each reader imports. */
const SOURCE_DRIVERS: Record<string, string> = {
  mysql: 'mysql2',
  mariadb: 'mysql2',
  postgres: 'pg',
  postgresql: 'pg',
  sqlite: 'better-sqlite3',
};

/**
 * Opens the bundle's table in the database a URL names: `mysql://…` or
 * `mariadb://…`, `postgres://…` (or `postgresql://`), `sqlite:<path>` (the
 * same forms as DATABASE_URL). The reader and its driver are imported on
 * demand, so an import from PostgreSQL needs only `pg`; a missing driver is a
 * {@link MissingPackageError} naming the `npm install` to run.
 *
 * @throws ConfigError (unsupported URL, no such table or column), MissingPackageError, StoreError (cannot connect)
 *
 * @example
 * const source = await openGesdinetSource('mysql://root@127.0.0.1/symfony', { table: 'refresh_tokens' });
 * try { console.log(await source.count()); } finally { await source.close(); }
 */
export async function openGesdinetSource(url: string, options: GesdinetSourceOptions = {}): Promise<GesdinetSource> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase() ?? '';
  const driver = SOURCE_DRIVERS[scheme];
  if (driver === undefined) {
    throw new ConfigError('import-gesdinet: --from must be a mysql://, mariadb://, postgres:// or sqlite: URL of the Symfony database');
  }
  const load = async <T>(importReader: () => Promise<T>): Promise<T> => {
    try {
      return await importReader();
    } catch (error) {
      if (missingPackageOf(error) === null) throw error;
      throw new MissingPackageError(`reading the bundle's table from ${scheme}: needs the "${driver}" package: npm install ${driver}`, [
        driver,
      ]);
    }
  };
  switch (scheme) {
    case 'mysql':
    case 'mariadb': {
      const { openMysqlSource } = await load(() => import('./mysql-source.js'));
      // The reader imports its driver when called: a missing driver shows there.
      return load(() => openMysqlSource(url, options));
    }
    case 'postgres':
    case 'postgresql': {
      const { openPostgresSource } = await load(() => import('./postgres-source.js'));
      return load(() => openPostgresSource(url, options));
    }
    default: {
      const filename = sqliteFilename(url);
      if (filename === '') throw new ConfigError('import-gesdinet: sqlite: needs a file path, e.g. sqlite:./var/data.db');
      const { openSqliteSource } = await load(() => import('./sqlite-source.js'));
      return load(() => openSqliteSource(filename, options));
    }
  }
}
