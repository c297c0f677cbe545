import type { GesdinetSource, GesdinetSourceOptions } from './gesdinet-source.js';
import { readingSource, type SqlDialect, sourceTableOf, sqlGesdinetSource } from './source-sql.js';

const MYSQL: SqlDialect = {
  name: 'mysql',
  quote: (identifier) => `\`${identifier}\``,
  placeholder: () => '?',
  columnsOf: 'SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?',
};

/**
 * Reads the bundle's table from MySQL or MariaDB with `mysql2` (imported
 * here, so only an import from MySQL needs it). DATETIME values are read as
 * text (`dateStrings`): the driver would otherwise read them in the Node
 * process's own zone, not the one PHP wrote them in.
 *
 * @throws ConfigError (no such table or column), StoreError (connection, query)
 *
 * @example
 * const source = await openMysqlSource('mysql://app@db/symfony', { table: 'refresh_tokens' });
 */
export async function openMysqlSource(url: string, options: GesdinetSourceOptions = {}): Promise<GesdinetSource> {
  const source = sourceTableOf(options);
  const { createConnection } = await import('mysql2/promise');
  const connection = await readingSource('mysql', () =>
    createConnection({ uri: url.replace(/^mariadb:/i, 'mysql:'), dateStrings: true, supportBigNumbers: true, bigNumberStrings: true }),
  );
  return sqlGesdinetSource(MYSQL, source, {
    select: async (sql, parameters) =>
      readingSource('mysql', async () => (await connection.query(sql, parameters))[0] as Array<Record<string, unknown>>),
    close: () => connection.end().catch(() => undefined),
  });
}
