import { existsSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { GesdinetSource, GesdinetSourceOptions } from './gesdinet-source.js';
import { readingSource, type SqlDialect, sourceTableOf, sqlGesdinetSource } from './source-sql.js';

const SQLITE: SqlDialect = {
  name: 'sqlite',
  quote: (identifier) => `"${identifier}"`,
  placeholder: () => '?',
  columnsOf: 'SELECT name FROM pragma_table_info(?)',
};

/**
 * Reads the bundle's table from a SQLite file with `better-sqlite3`
 * (imported here), opened read-only: the import never writes to its source.
 * Doctrine stores SQLite datetimes as `YYYY-MM-DD HH:MM:SS` text.
 *
 * @throws ConfigError (no such file, table or column), StoreError (a query failed)
 *
 * @example
 * const source = await openSqliteSource('./var/data.db');
 */
export async function openSqliteSource(filename: string, options: GesdinetSourceOptions = {}): Promise<GesdinetSource> {
  const source = sourceTableOf(options);
  if (!existsSync(filename)) throw new ConfigError(`import-gesdinet: the SQLite file ${filename} does not exist`);
  const { default: Database } = await import('better-sqlite3');
  const database = await readingSource('sqlite', async () => new Database(filename, { readonly: true, fileMustExist: true }));
  return sqlGesdinetSource(SQLITE, source, {
    select: (sql, parameters) =>
      readingSource('sqlite', async () => database.prepare(sql).all(...parameters) as Array<Record<string, unknown>>),
    close: async () => void database.close(),
  });
}
