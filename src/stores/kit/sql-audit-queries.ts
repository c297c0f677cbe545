/**
 * The invariants of `audit` in SQL, shared by the SQL stores: each dialect
 * differs only in how it writes the audit's instant and a null record id.
 */
import type { StoreInvariant } from '../store.js';

/** The rows of one invariant's offenders (`from`), their ids and their order. */
export interface InvariantQuery {
  from: string;
  family: string;
  record: string;
  order: string;
}

/** How a dialect writes the audit's instant (`$1::timestamptz`, `?`, `@now`) and a null id (`NULL::text`). */
export interface AuditDialect {
  instant: string;
  nullRecord: string;
}

/** The offender queries of every invariant on the token table `table` (already quoted). */
export function invariantQueries(table: string, { instant, nullRecord }: AuditDialect): Array<[StoreInvariant, InvariantQuery]> {
  const live = `t.rotated_at IS NULL AND t.revoked_at IS NULL AND t.valid_until > ${instant}`;
  return [
    [
      'several-current-tokens',
      {
        from: `(SELECT t.family_id FROM ${table} AS t WHERE ${live} GROUP BY t.family_id HAVING COUNT(*) > 1) AS f`,
        family: 'f.family_id',
        record: nullRecord,
        order: 'f.family_id',
      },
    ],
    [
      'missing-successor',
      {
        // The anti-join probes the unique token_hash index once per rotated record.
        from: `${table} AS t WHERE t.successor_hash IS NOT NULL AND t.valid_until > ${instant}
             AND NOT EXISTS (SELECT 1 FROM ${table} AS s WHERE s.token_hash = t.successor_hash)`,
        family: 't.family_id',
        record: 't.id',
        order: 't.id',
      },
    ],
    [
      'live-past-family-deadline',
      {
        from: `${table} AS t WHERE ${live} AND t.family_deadline IS NOT NULL AND t.family_deadline <= ${instant}`,
        family: 't.family_id',
        record: 't.id',
        order: 't.id',
      },
    ],
  ];
}
