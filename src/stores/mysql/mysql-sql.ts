/**
 * The SQL of the MySQL / MariaDB store and how it runs on mysql2. The SQL
 * avoids what either server lacks (`RETURNING`, `VALUES()` in upserts, CHECK
 * constraints, index hints in DELETE); instants go in and come out as UTC
 * `DATETIME(3)` text the store formats and parses itself.
 */
import type { Pool, PoolConnection, QueryOptions, ResultSetHeader, RowDataPacket } from 'mysql2/promise';
import { TOKEN_COLUMNS } from '../kit/record-codec.js';

/** What the store's queries bind: strings (instants formatted by the store), numbers and nulls only. */
export type SqlValue = string | number | null;

/** A pool or one of its connections: both run queries. */
type Queryable = Pool | PoolConnection;

// mysql2 does not export its typeCast callback's types; they are taken from QueryOptions.
type TypeCastFunction = Extract<NonNullable<QueryOptions['typeCast']>, (...args: never[]) => unknown>;
type CastField = Parameters<TypeCastFunction>[0];
type CastNext = Parameters<TypeCastFunction>[1];

export type Statements = ReturnType<typeof statements>;

/** Every statement for the token table `tableName` (validated) and its companions. */
export function statements(tableName: string) {
  const table = `\`${tableName}\``;
  const blocklist = `\`${tableName}_blocklist\``;
  const watermarks = `\`${tableName}_watermarks\``;
  const rateLimits = `\`${tableName}_rate_limits\``;
  return {
    insert: `INSERT INTO ${table} (${TOKEN_COLUMNS.join(', ')}) VALUES (${TOKEN_COLUMNS.map(() => '?').join(', ')})`,
    findByHash: `SELECT ${TOKEN_COLUMNS.join(', ')} FROM ${table} WHERE token_hash = ?`,
    touch: `UPDATE ${table} SET valid_until = ?, last_used_at = ?
            WHERE token_hash = ? AND rotated_at IS NULL AND revoked_at IS NULL`,
    // The WHERE clause is the compare-and-set: of racing rotations only one finds the parent unrotated.
    markRotated: `UPDATE ${table} SET rotated_at = ?, successor_hash = ?, last_used_at = ?
                  WHERE token_hash = ? AND rotated_at IS NULL AND revoked_at IS NULL`,
    revokeFamily: `UPDATE ${table} SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`,
    revokeUser: `UPDATE ${table} SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`,
    // One pass over the user's rows (user_id index) aggregates each family: its first creation,
    // its latest use and the generation of its live token; the join then fetches that token.
    // Parameters: now, userId, userId, now.
    listFamilies: `SELECT cur.family_id, cur.user_id, cur.user_identifier, fam.first_created_at, fam.last_used_at,
                          cur.valid_until, cur.family_deadline, cur.user_agent, cur.ip, cur.metadata
                   FROM (
                     SELECT family_id,
                            MIN(created_at) AS first_created_at,
                            MAX(last_used_at) AS last_used_at,
                            MAX(CASE WHEN rotated_at IS NULL AND revoked_at IS NULL AND valid_until > ?
                                     THEN generation END) AS live_generation
                     FROM ${table} WHERE user_id = ? GROUP BY family_id
                   ) AS fam
                   JOIN ${table} AS cur
                     ON cur.family_id = fam.family_id AND cur.user_id = ? AND cur.generation = fam.live_generation
                   WHERE cur.rotated_at IS NULL AND cur.revoked_at IS NULL AND cur.valid_until > ?
                   ORDER BY fam.first_created_at DESC, cur.family_id ASC`,
    // MySQL refuses `DELETE ... WHERE id IN (SELECT ... LIMIT)` on the same table, but a
    // single-table DELETE takes `ORDER BY ... LIMIT` itself (through the valid_until index).
    deleteExpired: `DELETE FROM ${table} WHERE valid_until < ? ORDER BY valid_until LIMIT ?`,
    count: `SELECT COUNT(*) AS n FROM ${table}`,
    // The new value is bound again instead of VALUES(expires_at), which MySQL 8.0.20+ deprecates
    // and whose replacement (a row alias) MariaDB lacks.
    block: `INSERT INTO ${blocklist} (jti, expires_at) VALUES (?, ?)
            ON DUPLICATE KEY UPDATE expires_at = GREATEST(expires_at, ?)`,
    isBlocked: `SELECT 1 AS blocked FROM ${blocklist} WHERE jti = ? AND expires_at > ?`,
    setRevokedBefore: `INSERT INTO ${watermarks} (user_id, revoked_before) VALUES (?, ?)
                       ON DUPLICATE KEY UPDATE revoked_before = GREATEST(revoked_before, ?)`,
    getRevokedBefore: `SELECT revoked_before FROM ${watermarks} WHERE user_id = ?`,
    // Assignments run left to right and see earlier ones, so `count` must read the old
    // window_start before it is overwritten. Parameters: key, start, reset, start, reset, start.
    hitRateLimit: `INSERT INTO ${rateLimits} (\`key\`, window_start, reset_at, count) VALUES (?, ?, ?, 1)
                   ON DUPLICATE KEY UPDATE
                     count = IF(window_start = ?, count + 1, 1),
                     reset_at = ?,
                     window_start = ?`,
    readRateLimit: `SELECT count, reset_at FROM ${rateLimits} WHERE \`key\` = ?`,
    purgeBlocklist: `DELETE FROM ${blocklist} WHERE expires_at <= ?`,
    purgeRateLimits: `DELETE FROM ${rateLimits} WHERE reset_at <= ?`,
    purgeWatermarks: `DELETE FROM ${watermarks} WHERE revoked_before < ?`,
  };
}

/**
 * Per-query options that make the store independent of how an app-owned
 * pool is configured: rows as objects, `?` placeholders, and a typeCast that
 * reads DATETIME as UTC text and BIGINT (COUNT) as a number.
 */
function queryOptions(sql: string, values: readonly SqlValue[]) {
  return { sql, values: [...values], rowsAsArray: false, nestTables: false, namedPlaceholders: false, typeCast };
}

function typeCast(field: CastField, next: CastNext): unknown {
  if (field.type === 'DATETIME') {
    const text = field.string('ascii');
    return text === null ? null : fromSql(text);
  }
  if (field.type === 'LONGLONG') {
    const value = next();
    return value === null ? null : Number(value);
  }
  return next();
}

/** Runs a query and answers its rows, DATETIME columns parsed as UTC Dates. */
export async function select<Row>(db: Queryable, sql: string, values: readonly SqlValue[]): Promise<Row[]> {
  const [rows] = await db.query<RowDataPacket[]>(queryOptions(sql, values));
  return rows as unknown as Row[];
}

/** Runs a write and answers its affected rows (matched rows for UPDATE, given mysql2's default FOUND_ROWS flag). */
export async function write(db: Queryable, sql: string, values: readonly SqlValue[]): Promise<number> {
  const [result] = await db.query<ResultSetHeader>(queryOptions(sql, values));
  return result.affectedRows;
}

/**
 * A Date as DATETIME(3) text in UTC (`2031-03-04 05:06:07.123`). The store
 * binds text, never a Date, so the pool's `timezone` cannot shift it.
 */
export function toSql(date: Date): string {
  const iso = date.toISOString();
  // Years outside 0000–9999 print with a sign and 6 digits; DATETIME cannot hold them.
  if (iso.length !== 24) throw new RangeError('instant outside the DATETIME range (years 1000–9999)');
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** DATETIME text as the server sends it, read as UTC. */
function fromSql(text: string): Date {
  const date = new Date(`${text.replace(' ', 'T')}Z`);
  if (Number.isNaN(date.getTime())) throw new RangeError('unreadable DATETIME value');
  return date;
}
