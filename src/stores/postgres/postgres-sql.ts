/**
 * The SQL of the PostgreSQL store, built once per schema and table. Instants
 * go in as ISO 8601 text and come back as epoch milliseconds computed in SQL.
 */
import { INSTANT_COLUMNS, TOKEN_COLUMNS, type TokenColumn } from '../kit/record-codec.js';
import { qualified } from './postgres-migrations.js';

export type Statements = ReturnType<typeof buildStatements>;

/** Epoch milliseconds of a `timestamptz(3)` expression, computed in SQL so no session setting or type parser gets a say. */
function ms(expression: string): string {
  return `(extract(epoch FROM ${expression}) * 1000)::int8`;
}

function columnType(column: TokenColumn): string {
  if (INSTANT_COLUMNS.has(column)) return 'timestamptz';
  return column === 'generation' ? 'integer' : 'text';
}

/** Every statement for the token table `tableName` in `schema` (both validated) and its companions. */
export function buildStatements(schema: string, tableName: string) {
  const table = qualified(schema, tableName);
  const blocklist = qualified(schema, `${tableName}_blocklist`);
  const watermarks = qualified(schema, `${tableName}_watermarks`);
  const rateLimits = qualified(schema, `${tableName}_rate_limits`);
  const selectList = TOKEN_COLUMNS.map((column) => (INSTANT_COLUMNS.has(column) ? `${ms(column)} AS ${column}` : column)).join(', ');
  const placeholders = TOKEN_COLUMNS.map((_, i) => `$${i + 1}`).join(', ');
  return {
    insert: `INSERT INTO ${table} (${TOKEN_COLUMNS.join(', ')}) VALUES (${placeholders})`,
    findByHash: `SELECT ${selectList} FROM ${table} WHERE token_hash = $1`,
    touch: `UPDATE ${table} SET valid_until = $1, last_used_at = $2
            WHERE token_hash = $3 AND rotated_at IS NULL AND revoked_at IS NULL`,
    // ONE statement, so one round trip and atomic by itself. The UPDATE's WHERE is the
    // compare-and-set: under READ COMMITTED a racing rotation waits for the first one's row lock,
    // re-checks the WHERE on the committed row and matches nothing, so its INSERT (fed by the
    // UPDATE's rows) inserts nothing: 'conflict'. A taken successor hash fails the whole statement,
    // leaving the parent unrotated. Casts: parameters of a SELECT list are not typed by the INSERT.
    rotate: `WITH parent AS (
               UPDATE ${table} SET rotated_at = $${TOKEN_COLUMNS.length + 1}, successor_hash = $2, last_used_at = $${TOKEN_COLUMNS.length + 1}
               WHERE token_hash = $${TOKEN_COLUMNS.length + 2} AND rotated_at IS NULL AND revoked_at IS NULL
               RETURNING id
             )
             INSERT INTO ${table} (${TOKEN_COLUMNS.join(', ')})
             SELECT ${TOKEN_COLUMNS.map((column, i) => `$${i + 1}::${columnType(column)}`).join(', ')} FROM parent
             RETURNING id`,
    revokeFamily: `UPDATE ${table} SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL`,
    revokeUser: `UPDATE ${table} SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`,
    // One pass over the user's rows (user_id index) aggregates each family: its first creation,
    // its latest use and the generation of its live token; the join then fetches that token.
    listFamilies: `
      SELECT cur.family_id, cur.user_id, cur.user_identifier,
             ${ms('fam.first_created_at')} AS first_created_at, ${ms('fam.last_used_at')} AS last_used_at,
             ${ms('cur.valid_until')} AS valid_until, ${ms('cur.family_deadline')} AS family_deadline,
             cur.user_agent, cur.ip, cur.metadata
      FROM (
        SELECT family_id,
               MIN(created_at) AS first_created_at,
               MAX(last_used_at) AS last_used_at,
               MAX(CASE WHEN rotated_at IS NULL AND revoked_at IS NULL AND valid_until > $2
                        THEN generation END) AS live_generation
        FROM ${table} WHERE user_id = $1 GROUP BY family_id
      ) AS fam
      JOIN ${table} AS cur
        ON cur.family_id = fam.family_id AND cur.user_id = $1 AND cur.generation = fam.live_generation
      WHERE cur.rotated_at IS NULL AND cur.revoked_at IS NULL AND cur.valid_until > $2
      ORDER BY fam.first_created_at DESC, cur.family_id ASC`,
    // Oldest first through the valid_until index; SKIP LOCKED lets two purgers take disjoint
    // batches instead of queueing on the same rows (a locked row is the other purger's to delete).
    deleteExpired: `
      DELETE FROM ${table} WHERE id IN (
        SELECT id FROM ${table} WHERE valid_until < $1 ORDER BY valid_until LIMIT $2 FOR UPDATE SKIP LOCKED
      )`,
    count: `SELECT count(*) AS n FROM ${table}`,
    block: `INSERT INTO ${blocklist} AS b (jti, expires_at) VALUES ($1, $2)
            ON CONFLICT (jti) DO UPDATE SET expires_at = GREATEST(b.expires_at, EXCLUDED.expires_at)`,
    isBlocked: `SELECT 1 FROM ${blocklist} WHERE jti = $1 AND expires_at > $2`,
    setRevokedBefore: `INSERT INTO ${watermarks} AS w (user_id, revoked_before) VALUES ($1, $2)
                       ON CONFLICT (user_id) DO UPDATE SET revoked_before = GREATEST(w.revoked_before, EXCLUDED.revoked_before)`,
    getRevokedBefore: `SELECT ${ms('revoked_before')} AS revoked_before FROM ${watermarks} WHERE user_id = $1`,
    // One statement, so concurrent hits from several instances never lose a count: a racing
    // insert of the same new key waits for the first and then takes the DO UPDATE branch.
    hitRateLimit: `
      INSERT INTO ${rateLimits} AS r (key, window_start, reset_at, count) VALUES ($1, $2, $3, 1)
      ON CONFLICT (key) DO UPDATE SET
        count = CASE WHEN r.window_start = EXCLUDED.window_start THEN r.count + 1 ELSE 1 END,
        reset_at = EXCLUDED.reset_at,
        window_start = EXCLUDED.window_start
      RETURNING r.count, ${ms('r.reset_at')} AS reset_at`,
    purgeExpiredState: `
      WITH blocked AS (DELETE FROM ${blocklist} WHERE expires_at <= $1 RETURNING 1),
           windows AS (DELETE FROM ${rateLimits} WHERE reset_at <= $1 RETURNING 1),
           -- A null $2 (no cutoff given) matches no row: watermarks are kept.
           watermarks AS (DELETE FROM ${watermarks} WHERE revoked_before < $2 RETURNING 1)
      SELECT (SELECT count(*) FROM blocked) + (SELECT count(*) FROM windows) + (SELECT count(*) FROM watermarks) AS removed`,
  };
}
