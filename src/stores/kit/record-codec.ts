/**
 * The token table as the SQL stores share it: its columns, its rows with the
 * instant encoding as a parameter, and the mapping between rows and records.
 * Each store supplies only how its driver carries an instant (unix ms, SQL
 * text, a driver's Date, a decimal string). Not exported from the package.
 */
import type { FamilySummary, RefreshTokenRecord } from '../store.js';

/** Each column of the token table and the record field it holds, in the order of every INSERT. */
const FIELD_OF = {
  id: 'id',
  token_hash: 'tokenHash',
  user_id: 'userId',
  user_identifier: 'userIdentifier',
  family_id: 'familyId',
  generation: 'generation',
  valid_until: 'validUntil',
  family_deadline: 'familyDeadline',
  created_at: 'createdAt',
  last_used_at: 'lastUsedAt',
  rotated_at: 'rotatedAt',
  successor_hash: 'successorHash',
  revoked_at: 'revokedAt',
  user_agent: 'userAgent',
  ip: 'ip',
  metadata: 'metadata',
} as const satisfies Record<string, keyof RefreshTokenRecord>;

export type TokenColumn = keyof typeof FIELD_OF;

/** The token table's columns, in the order of every INSERT and of {@link insertValues}. */
export const TOKEN_COLUMNS = Object.keys(FIELD_OF) as TokenColumn[];

/** The columns that hold instants; of the others, `generation` is an integer and the rest text. */
export const INSTANT_COLUMNS: ReadonlySet<TokenColumn> = new Set<TokenColumn>([
  'valid_until',
  'family_deadline',
  'created_at',
  'last_used_at',
  'rotated_at',
  'revoked_at',
]);

/** The columns that may hold null; the others are always set. */
export const NULLABLE_COLUMNS: ReadonlySet<TokenColumn> = new Set<TokenColumn>([
  'family_deadline',
  'last_used_at',
  'rotated_at',
  'successor_hash',
  'revoked_at',
  'user_agent',
  'ip',
  'metadata',
]);

/** A value of a record field as a row holds it: an instant encoded as `Instant`. */
type Encoded<Value, Instant> = Value extends Date ? Instant : Value;

/** A row of the token table, its instants encoded as `Instant` (unix ms, SQL text, a driver's Date). */
export type TokenRow<Instant> = { [C in TokenColumn]: Encoded<RefreshTokenRecord[(typeof FIELD_OF)[C]], Instant> };

/** A row of the SQL stores' `listFamilies` query, its instants encoded as `Instant`. */
export interface FamilyRow<Instant> {
  family_id: string;
  user_id: string;
  user_identifier: string;
  first_created_at: Instant;
  last_used_at: Instant | null;
  valid_until: Instant;
  family_deadline: Instant | null;
  user_agent: string | null;
  ip: string | null;
  metadata: string | null;
}

export function toRow<Instant>(record: RefreshTokenRecord, encodeInstant: (date: Date) => Instant): TokenRow<Instant> {
  const row: Partial<Record<TokenColumn, unknown>> = {};
  for (const column of TOKEN_COLUMNS) {
    const value = record[FIELD_OF[column]];
    row[column] = value instanceof Date ? encodeInstant(value) : value;
  }
  return row as TokenRow<Instant>;
}

/** The record's values in {@link TOKEN_COLUMNS} order, for positional placeholders. */
export function insertValues<Instant>(
  record: RefreshTokenRecord,
  encodeInstant: (date: Date) => Instant,
): Array<TokenRow<Instant>[TokenColumn]> {
  const row = toRow(record, encodeInstant);
  return TOKEN_COLUMNS.map((column) => row[column]);
}

export function fromRow<Instant>(row: TokenRow<Instant>, decodeInstant: (value: Instant) => Date): RefreshTokenRecord {
  const record: Partial<Record<keyof RefreshTokenRecord, unknown>> = {};
  for (const column of TOKEN_COLUMNS) {
    const value = row[column];
    record[FIELD_OF[column]] = INSTANT_COLUMNS.has(column) && value !== null ? decodeInstant(value as Instant) : value;
  }
  return record as RefreshTokenRecord;
}

/** The record fields of `source`, an optional one it lacks (stored before the field existed) as null. */
export function recordFrom(source: Partial<RefreshTokenRecord>): RefreshTokenRecord {
  const record: Partial<Record<keyof RefreshTokenRecord, unknown>> = {};
  for (const field of Object.values(FIELD_OF)) {
    record[field] = source[field] ?? null;
  }
  return record as RefreshTokenRecord;
}

export function fromFamilyRow<Instant>(row: FamilyRow<Instant>, decodeInstant: (value: Instant) => Date): FamilySummary {
  return {
    familyId: row.family_id,
    userId: row.user_id,
    userIdentifier: row.user_identifier,
    createdAt: decodeInstant(row.first_created_at),
    lastUsedAt: decodeNullable(row.last_used_at, decodeInstant),
    validUntil: decodeInstant(row.valid_until),
    familyDeadline: decodeNullable(row.family_deadline, decodeInstant),
    userAgent: row.user_agent,
    ip: row.ip,
    metadata: row.metadata,
  };
}

function decodeNullable<Instant>(value: Instant | null, decodeInstant: (value: Instant) => Date): Date | null {
  return value === null ? null : decodeInstant(value);
}
