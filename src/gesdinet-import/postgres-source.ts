import type { GesdinetSource, GesdinetSourceOptions } from './gesdinet-source.js';
import { readingSource, type SqlDialect, sourceTableOf, sqlGesdinetSource } from './source-sql.js';

const POSTGRES: SqlDialect = {
  name: 'postgres',
  quote: (identifier) => `"${identifier}"`,
  placeholder: (position) => `$${position}`,
  columnsOf: 'SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
};

// timestamp and timestamptz: kept as the server's text, so a naive one is read in the zone PHP wrote it in.
const TIMESTAMP_OIDS = new Set([1114, 1184]);

/**
 * Reads the bundle's table from PostgreSQL with `pg` (imported here, so only
 * an import from PostgreSQL needs it). The table is looked up in the
 * connection's `current_schema()` (set `?options=-c search_path=…` in the URL for another).
 *
 * @throws ConfigError (no such table or column), StoreError (connection, query)
 *
 * @example
 * const source = await openPostgresSource('postgres://app@db/symfony');
 */
export async function openPostgresSource(url: string, options: GesdinetSourceOptions = {}): Promise<GesdinetSource> {
  const source = sourceTableOf(options);
  const { default: pg } = await import('pg');
  const getTypeParser = ((oid: number, format?: 'text' | 'binary') =>
    TIMESTAMP_OIDS.has(oid) ? (value: string) => value : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser;
  const client = new pg.Client({ connectionString: url, types: { getTypeParser } });
  return sqlGesdinetSource(POSTGRES, source, {
    connect: async () => void (await client.connect()),
    select: async (sql, parameters) =>
      readingSource('postgres', async () => (await client.query(sql, parameters)).rows as Array<Record<string, unknown>>),
    close: () => client.end().catch(() => undefined),
  });
}
