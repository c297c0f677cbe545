/**
 * The port the import reads the bundle's table through, and the column names
 * it reads. One reader per SQL dialect implements it (mysql-source.ts,
 * postgres-source.ts, sqlite-source.ts); open-gesdinet-source.ts picks one by URL.
 */

/** One row of the bundle's table, as the source holds it. */
export interface GesdinetRow {
  /** `refresh_token`: the plain token, or `sha256$` + hex SHA-256 of it (2.2+ `hash_tokens`). */
  refreshToken: string;
  /** `username`: the user identifier (the bundle's `user_identity_field`) at issue time. */
  username: string;
  /** `valid`: the datetime as the driver reads it (text: naive, or with an offset for timestamptz). */
  valid: unknown;
  /** `family` (3.0), or null: the table has no such column, or the row has none. */
  family: string | null;
  /** `family_valid` (3.0), the family's absolute deadline, or null. */
  familyValid: unknown;
}

/**
 * Column names of the bundle's table. The defaults are the Doctrine mapping's;
 * the DBAL backend (and a custom `refresh_token_class`) may name them otherwise.
 */
export interface GesdinetColumns {
  refreshToken: string;
  username: string;
  valid: string;
  /** Read when the table has it (3.0); a 1.x table has none. */
  family: string;
  /** Read when the table has it (3.0). */
  familyValid: string;
}

/** The Doctrine mapping's column names. */
export const DEFAULT_GESDINET_COLUMNS: Readonly<GesdinetColumns> = Object.freeze({
  refreshToken: 'refresh_token',
  username: 'username',
  valid: 'valid',
  family: 'family',
  familyValid: 'family_valid',
});

/** The bundle's table in a source database, read in batches. */
export interface GesdinetSource {
  /** The table read, for reports. */
  readonly table: string;
  /** Whether the table has the 3.0 `family` column. */
  readonly hasFamilies: boolean;
  /** Rows in the table. */
  count(): Promise<number>;
  /**
   * Up to `limit` rows whose token sorts after `afterToken` (from the start
   * when null), in token order: keyset pagination over the token's unique
   * index, so each batch costs the same however far the import has gone.
   */
  readBatch(afterToken: string | null, limit: number): Promise<GesdinetRow[]>;
  /**
   * For each family with more than one row, the token of the row that keeps
   * the family's id: the one with the latest `valid`, ties broken by the
   * greater token. Only forked families are returned (the bundle's
   * non-atomic rotation can leave two live tokens in one family), so the map
   * stays small. Empty for a table without families.
   */
  forkedFamilyPrimaries(): Promise<Map<string, string>>;
  /** Closes the connection. */
  close(): Promise<void>;
}

/** Options of a source reader. */
export interface GesdinetSourceOptions {
  /** The bundle's table. Default `refresh_tokens`. */
  table?: string;
  /** Column names that differ from the Doctrine mapping's. */
  columns?: Partial<GesdinetColumns>;
}
