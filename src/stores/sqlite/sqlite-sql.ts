/**
 * The SQL of the SQLite store, prepared once per connection and table. Instants
 * are unix milliseconds; the compare-and-set of rotation is the guarded UPDATE
 * in {@link prepareStatements}'s `rotate` transaction.
 */
import type Database from 'better-sqlite3';
import { TOKEN_COLUMNS, type FamilyRow, type TokenRow } from '../kit/record-codec.js';
import type { RotateOutcome } from '../store.js';

/** The token table's row: instants are unix milliseconds. */
export type SqliteTokenRow = TokenRow<number>;

export interface Statements {
  insert: Database.Statement<[SqliteTokenRow], void>;
  findByHash: Database.Statement<[string], SqliteTokenRow>;
  touch: Database.Statement<[number, number, string], void>;
  rotate: Database.Transaction<(parentHash: string, successor: SqliteTokenRow, rotatedAt: number) => RotateOutcome>;
  /** The body of `rotate` without its own transaction, for a caller that already holds one (group commit). */
  rotateInTransaction: (parentHash: string, successor: SqliteTokenRow, rotatedAt: number) => RotateOutcome;
  revokeFamily: Database.Statement<[number, string], void>;
  revokeUser: Database.Statement<[number, string], void>;
  listFamilies: Database.Statement<[{ userId: string; now: number }], FamilyRow<number>>;
  deleteExpired: Database.Statement<[number, number], void>;
  count: Database.Statement<[], number>;
  block: Database.Statement<[string, number], void>;
  isBlocked: Database.Statement<[string, number], number>;
  setRevokedBefore: Database.Statement<[string, number], void>;
  getRevokedBefore: Database.Statement<[string], number>;
  hitRateLimit: Database.Statement<[string, number, number], { count: number; reset_at: number }>;
  purgeBlocklist: Database.Statement<[number], void>;
  purgeRateLimits: Database.Statement<[number], void>;
  purgeWatermarks: Database.Statement<[number], void>;
}

/** Prepares every statement for the token table `tableName` (validated) and its companions. */
export function prepareStatements(database: Database.Database, tableName: string): Statements {
  const table = `"${tableName}"`;
  const markRotated = database.prepare<[number, string, number, string], void>(
    `UPDATE ${table} SET rotated_at = ?, successor_hash = ?, last_used_at = ?
     WHERE token_hash = ? AND rotated_at IS NULL AND revoked_at IS NULL`,
  );
  const insert = database.prepare<[SqliteTokenRow], void>(
    `INSERT INTO ${table} (${TOKEN_COLUMNS.join(', ')}) VALUES (${TOKEN_COLUMNS.map((column) => `@${column}`).join(', ')})`,
  );
  const rotateInTransaction = (parentHash: string, successor: SqliteTokenRow, rotatedAt: number): RotateOutcome => {
    // The WHERE clause is the compare-and-set: of racing rotations only one finds the parent unrotated.
    if (markRotated.run(rotatedAt, successor.token_hash, rotatedAt, parentHash).changes !== 1) return 'conflict';
    insert.run(successor);
    return 'rotated';
  };
  const blocklist = `"${tableName}_blocklist"`;
  const watermarks = `"${tableName}_watermarks"`;
  const rateLimits = `"${tableName}_rate_limits"`;
  return {
    block: database.prepare<[string, number], void>(
      `INSERT INTO ${blocklist} (jti, expires_at) VALUES (?, ?)
       ON CONFLICT (jti) DO UPDATE SET expires_at = MAX(expires_at, excluded.expires_at)`,
    ),
    isBlocked: database.prepare<[string, number], number>(`SELECT 1 FROM ${blocklist} WHERE jti = ? AND expires_at > ?`).pluck(),
    setRevokedBefore: database.prepare<[string, number], void>(
      `INSERT INTO ${watermarks} (user_id, revoked_before) VALUES (?, ?)
       ON CONFLICT (user_id) DO UPDATE SET revoked_before = MAX(revoked_before, excluded.revoked_before)`,
    ),
    getRevokedBefore: database.prepare<[string], number>(`SELECT revoked_before FROM ${watermarks} WHERE user_id = ?`).pluck(),
    // One statement, so concurrent hits from several processes never lose a count.
    hitRateLimit: database.prepare<[string, number, number], { count: number; reset_at: number }>(
      `INSERT INTO ${rateLimits} (key, window_start, reset_at, count) VALUES (?, ?, ?, 1)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN window_start = excluded.window_start THEN count + 1 ELSE 1 END,
         reset_at = excluded.reset_at,
         window_start = excluded.window_start
       RETURNING count, reset_at`,
    ),
    purgeBlocklist: database.prepare<[number], void>(`DELETE FROM ${blocklist} WHERE expires_at <= ?`),
    purgeRateLimits: database.prepare<[number], void>(`DELETE FROM ${rateLimits} WHERE reset_at <= ?`),
    purgeWatermarks: database.prepare<[number], void>(`DELETE FROM ${watermarks} WHERE revoked_before < ?`),
    insert,
    findByHash: database.prepare<[string], SqliteTokenRow>(`SELECT * FROM ${table} WHERE token_hash = ?`),
    touch: database.prepare<[number, number, string], void>(
      `UPDATE ${table} SET valid_until = ?, last_used_at = ?
       WHERE token_hash = ? AND rotated_at IS NULL AND revoked_at IS NULL`,
    ),
    rotate: database.transaction(rotateInTransaction),
    rotateInTransaction,
    revokeFamily: database.prepare<[number, string], void>(`UPDATE ${table} SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`),
    revokeUser: database.prepare<[number, string], void>(`UPDATE ${table} SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`),
    // One pass over the user's rows (user_id index) aggregates each family: its first creation,
    // its latest use and the generation of its live token; the join then fetches that token.
    listFamilies: database.prepare<[{ userId: string; now: number }], FamilyRow<number>>(
      `SELECT cur.family_id, cur.user_id, cur.user_identifier, fam.first_created_at, fam.last_used_at,
              cur.valid_until, cur.family_deadline, cur.user_agent, cur.ip, cur.metadata
       FROM (
         SELECT family_id,
                MIN(created_at) AS first_created_at,
                MAX(last_used_at) AS last_used_at,
                MAX(CASE WHEN rotated_at IS NULL AND revoked_at IS NULL AND valid_until > @now
                         THEN generation END) AS live_generation
         FROM ${table} WHERE user_id = @userId GROUP BY family_id
       ) AS fam
       JOIN ${table} AS cur
         ON cur.family_id = fam.family_id AND cur.user_id = @userId AND cur.generation = fam.live_generation
       WHERE cur.rotated_at IS NULL AND cur.revoked_at IS NULL AND cur.valid_until > @now
       ORDER BY fam.first_created_at DESC, cur.family_id ASC`,
    ),
    deleteExpired: database.prepare<[number, number], void>(
      `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE valid_until < ? LIMIT ?)`,
    ),
    count: database.prepare<[], number>(`SELECT COUNT(*) FROM ${table}`).pluck(),
  };
}
