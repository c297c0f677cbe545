/**
 * The token table as the SQL stores share it: its columns, its rows with the
 * instant encoding as a parameter, and the mapping between rows and records.
 * Each store supplies only how its driver carries an instant. Not exported
 * from the package.
 */
import type { FamilySummary, RefreshTokenRecord } from './store.js';

/** The token table's columns, in the order of every INSERT and of {@link insertValues}. */
export const TOKEN_COLUMNS = [
  'id',
  'token_hash',
  'user_id',
  'user_identifier',
  'family_id',
  'generation',
  'valid_until',
  'family_deadline',
  'created_at',
  'last_used_at',
  'rotated_at',
  'successor_hash',
  'revoked_at',
  'user_agent',
  'ip',
  'metadata',
] as const;

export type TokenColumn = (typeof TOKEN_COLUMNS)[number];

/** The columns that hold instants; of the others, `generation` is an integer and the rest text. */
export const INSTANT_COLUMNS: ReadonlySet<TokenColumn> = new Set<TokenColumn>([
  'valid_until',
  'family_deadline',
  'created_at',
  'last_used_at',
  'rotated_at',
  'revoked_at',
]);

/** A row of the token table, its instants encoded as `Instant` (unix ms, SQL text, a driver's Date). */
export interface TokenRow<Instant> {
  id: string;
  token_hash: string;
  user_id: string;
  user_identifier: string;
  family_id: string;
  generation: number;
  valid_until: Instant;
  family_deadline: Instant | null;
  created_at: Instant;
  last_used_at: Instant | null;
  rotated_at: Instant | null;
  successor_hash: string | null;
  revoked_at: Instant | null;
  user_agent: string | null;
  ip: string | null;
  metadata: string | null;
}

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
  const encodeNullable = (date: Date | null): Instant | null => (date === null ? null : encodeInstant(date));
  return {
    id: record.id,
    token_hash: record.tokenHash,
    user_id: record.userId,
    user_identifier: record.userIdentifier,
    family_id: record.familyId,
    generation: record.generation,
    valid_until: encodeInstant(record.validUntil),
    family_deadline: encodeNullable(record.familyDeadline),
    created_at: encodeInstant(record.createdAt),
    last_used_at: encodeNullable(record.lastUsedAt),
    rotated_at: encodeNullable(record.rotatedAt),
    successor_hash: record.successorHash,
    revoked_at: encodeNullable(record.revokedAt),
    user_agent: record.userAgent,
    ip: record.ip,
    metadata: record.metadata,
  };
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
  return {
    id: row.id,
    tokenHash: row.token_hash,
    userId: row.user_id,
    userIdentifier: row.user_identifier,
    familyId: row.family_id,
    generation: row.generation,
    validUntil: decodeInstant(row.valid_until),
    familyDeadline: decodeNullable(row.family_deadline, decodeInstant),
    createdAt: decodeInstant(row.created_at),
    lastUsedAt: decodeNullable(row.last_used_at, decodeInstant),
    rotatedAt: decodeNullable(row.rotated_at, decodeInstant),
    successorHash: row.successor_hash,
    revokedAt: decodeNullable(row.revoked_at, decodeInstant),
    userAgent: row.user_agent,
    ip: row.ip,
    metadata: row.metadata,
  };
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
