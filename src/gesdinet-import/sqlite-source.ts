import { existsSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import type { GesdinetSource, GesdinetSourceOptions } from './gesdinet-source.js';
import { readingSource, type SqlDialect, sourceTableOf, sqlGesdinetSource } from './source-sql.js';

const SQLITE: SqlDialect = {
  quote: (identifier) => `"${identifier}"`,
  placeholder: () => '?',
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
  const close = async () => void database.close();
  try {
    const select = (sql: string, parameters: unknown[]) =>
      readingSource('sqlite', async () => database.prepare(sql).all(...parameters) as Array<Record<string, unknown>>);
    const existing = await select('SELECT name FROM pragma_table_info(?)', [source.table]);
    return sqlGesdinetSource(
      SQLITE,
      source,
      existing.map((row) => String(row.name)),
      select,
      close,
    );
  } catch (error) {
    await close();
    throw error;
  }
}
