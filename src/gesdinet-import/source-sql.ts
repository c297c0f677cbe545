import { ConfigError, JwtRefreshError, StoreError } from '../errors.js';
import {
  DEFAULT_GESDINET_COLUMNS,
  type GesdinetColumns,
  type GesdinetRow,
  type GesdinetSource,
  type GesdinetSourceOptions,
} from './gesdinet-source.js';

/**
 * What the three SQL readers share: the checks on table and column names, the
 * choice of columns from those the table has, and the statements, written
 * once with the dialect's identifier quotes and placeholders.
 */

// Names are spliced into SQL (quoted), so they are held to plain identifiers.
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** How a dialect quotes identifiers, numbers its placeholders and lists a table's columns. */
export interface SqlDialect {
  /** Its name in error messages (`mysql`, `postgres`, `sqlite`). */
  name: string;
  quote(identifier: string): string;
  /** The n-th placeholder, from 1. */
  placeholder(position: number): string;
  /** A statement answering one row `{ name }` per column of the table given as its one parameter. */
  columnsOf: string;
}

/** The statements a reader runs. Parameters: nextBatch (afterToken, limit), firstBatch (limit). */
export interface SourceStatements {
  count: string;
  firstBatch: string;
  nextBatch: string;
  /** Rows of the families with more than one row; null without a family column. */
  forkedFamilies: string | null;
}

/** The table and the columns to read, checked. */
export interface SourceTable {
  table: string;
  columns: GesdinetColumns;
}

/**
 * The table and column names of `options`, defaults filled in and each held
 * to a plain identifier.
 *
 * @throws ConfigError naming the offending name
 */
export function sourceTableOf(options: GesdinetSourceOptions): SourceTable {
  const table = options.table ?? 'refresh_tokens';
  if (!IDENTIFIER.test(table)) throw new ConfigError(`import-gesdinet: the table name "${table}" is not a plain SQL identifier`);
  const columns = { ...DEFAULT_GESDINET_COLUMNS, ...options.columns };
  for (const [key, name] of Object.entries(columns)) {
    if (!IDENTIFIER.test(name)) throw new ConfigError(`import-gesdinet: the ${key} column name "${name}" is not a plain SQL identifier`);
  }
  return { table, columns };
}

/**
 * Which of the 3.0 columns the table has, given the names of its columns;
 * the 1.x columns must all be there.
 *
 * @throws ConfigError when the table does not exist or lacks a required column
 */
export function presentColumns(source: SourceTable, existing: readonly string[]): { family: boolean; familyValid: boolean } {
  if (existing.length === 0) throw new ConfigError(`import-gesdinet: the source database has no table ${source.table}`);
  const has = (name: string) => existing.some((column) => column.toLowerCase() === name.toLowerCase());
  const { refreshToken, username, valid, family, familyValid } = source.columns;
  for (const [option, name] of [
    ['refresh_token', refreshToken],
    ['username', username],
    ['valid', valid],
  ] as const) {
    if (!has(name)) {
      throw new ConfigError(
        `import-gesdinet: the table ${source.table} has no column ${name}; name the bundle's ${option} column with --columns ${option}=<column>`,
      );
    }
  }
  return { family: has(family), familyValid: has(familyValid) };
}

/** The statements for a table, with NULL read in place of a 3.0 column it lacks. */
export function sourceStatements(
  dialect: SqlDialect,
  source: SourceTable,
  present: { family: boolean; familyValid: boolean },
): SourceStatements {
  const q = dialect.quote;
  const { columns } = source;
  const table = q(source.table);
  const token = q(columns.refreshToken);
  const select = [
    `${token} AS refresh_token`,
    `${q(columns.username)} AS username`,
    `${q(columns.valid)} AS valid`,
    present.family ? `${q(columns.family)} AS family` : 'NULL AS family',
    present.familyValid ? `${q(columns.familyValid)} AS family_valid` : 'NULL AS family_valid',
  ].join(', ');
  const family = q(columns.family);
  return {
    count: `SELECT COUNT(*) AS total FROM ${table}`,
    firstBatch: `SELECT ${select} FROM ${table} ORDER BY ${token} LIMIT ${dialect.placeholder(1)}`,
    nextBatch: `SELECT ${select} FROM ${table} WHERE ${token} > ${dialect.placeholder(1)} ORDER BY ${token} LIMIT ${dialect.placeholder(2)}`,
    forkedFamilies: present.family
      ? `SELECT ${family} AS family, ${q(columns.valid)} AS valid, ${token} AS refresh_token FROM ${table} ` +
        `WHERE ${family} IN (SELECT ${family} FROM ${table} WHERE ${family} IS NOT NULL GROUP BY ${family} HAVING COUNT(*) > 1)`
      : null,
  };
}

/** A result row of the batch statements as a {@link GesdinetRow}; tokens and names are read as text. */
export function rowOf(raw: Record<string, unknown>): GesdinetRow {
  return {
    refreshToken: textOf(raw.refresh_token),
    username: textOf(raw.username),
    valid: raw.valid,
    family: raw.family === null || raw.family === undefined ? null : textOf(raw.family),
    familyValid: raw.family_valid ?? null,
  };
}

/**
 * The primaries of forked families from the rows of {@link SourceStatements.forkedFamilies}:
 * the latest `valid` wins, then the greater token. Datetimes compare as the
 * text the driver returns, which orders as time in Doctrine's fixed format.
 */
export function primariesOf(rows: ReadonlyArray<Record<string, unknown>>): Map<string, string> {
  const best = new Map<string, { valid: string; token: string }>();
  for (const raw of rows) {
    const family = textOf(raw.family);
    const candidate = { valid: textOf(raw.valid), token: textOf(raw.refresh_token) };
    const current = best.get(family);
    if (
      current === undefined ||
      candidate.valid > current.valid ||
      (candidate.valid === current.valid && candidate.token > current.token)
    ) {
      best.set(family, candidate);
    }
  }
  return new Map([...best].map(([family, { token }]) => [family, token]));
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return value.toISOString();
  return value === null || value === undefined ? '' : String(value);
}

/**
 * Runs a reader's driver call, turning a driver failure into a
 * {@link StoreError} that names the operation and the driver's code, never
 * its message (which may quote SQL or values). Our own errors pass through.
 */
export async function readingSource<T>(dialect: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof JwtRefreshError) throw error;
    const code = (error as { code?: unknown } | null)?.code;
    throw new StoreError('read the gesdinet table', {
      cause: error,
      store: dialect,
      ...(typeof code === 'string' || typeof code === 'number' ? { driverCode: code } : {}),
    });
  }
}

/** Runs one statement with its parameters and answers its rows. */
export type SelectRows = (sql: string, parameters: unknown[]) => Promise<Array<Record<string, unknown>>>;

/** A reader's connection: how it runs a statement and closes, and any step that opens it. */
export interface SourceConnection {
  connect?: () => Promise<void>;
  select: SelectRows;
  close: () => Promise<void>;
}

/**
 * The {@link GesdinetSource} over a dialect's connection: connects, finds the
 * table's columns and prepares the statements; the connection is closed when
 * any of that fails. Only the connection differs between dialects.
 *
 * @throws ConfigError when the table does not exist or lacks a required column
 */
export async function sqlGesdinetSource(dialect: SqlDialect, source: SourceTable, connection: SourceConnection): Promise<GesdinetSource> {
  const { select, close } = connection;
  try {
    if (connection.connect !== undefined) await readingSource(dialect.name, connection.connect);
    const existing = await select(dialect.columnsOf, [source.table]);
    const present = presentColumns(
      source,
      existing.map((row) => String(row.name)),
    );
    const statements = sourceStatements(dialect, source, present);
    return {
      table: source.table,
      hasFamilies: present.family,
      async count() {
        const [row] = await select(statements.count, []);
        return Number(row?.total ?? 0);
      },
      async readBatch(afterToken, limit) {
        const rows =
          afterToken === null ? await select(statements.firstBatch, [limit]) : await select(statements.nextBatch, [afterToken, limit]);
        return rows.map(rowOf);
      },
      async forkedFamilyPrimaries() {
        return statements.forkedFamilies === null ? new Map() : primariesOf(await select(statements.forkedFamilies, []));
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
