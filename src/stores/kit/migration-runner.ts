/**
 * What the stores with a schema share about migrations: the shape of a step,
 * the table that records applied steps, and the loop that applies the missing
 * ones. Each store says how it keeps concurrent migrators apart and how it
 * reads and writes its records.
 */

/**
 * One schema step of a store. Append new steps; never edit one that has shipped,
 * since databases record which versions they applied, not what those contained.
 */
export interface Migration<Up> {
  /** Strictly increasing from 1; recorded in `jwt_refresh_migrations` once applied. */
  readonly version: number;
  /** Short description, recorded next to the version for operators. */
  readonly name: string;
  /** What the step does, in the store's own terms (SQL for a table name, indexes for a database). */
  readonly up: Up;
}

/** The table (collection) where every store records, per token table, the versions it applied. */
export const MIGRATIONS_TABLE = 'jwt_refresh_migrations';

/** How a store applies and records steps, on the session {@link MigrationLedger.guard} hands it. */
export interface MigrationLedger<M, Session> {
  /** Runs one step so that no other migrator acts between its check and its record (e.g. under a lock). */
  guard<T>(work: (session: Session) => Promise<T>): Promise<T>;
  isApplied(session: Session, migration: M): Promise<boolean>;
  apply(session: Session, migration: M): Promise<void>;
  /** Records the step; false when another migrator recorded it first. */
  record(session: Session, migration: M): Promise<boolean>;
}

/** Applies the steps a store lacks, oldest first, and answers the versions this call applied (none when up to date). */
export async function runMigrations<M extends Migration<unknown>, Session>(
  migrations: readonly M[],
  ledger: MigrationLedger<M, Session>,
): Promise<number[]> {
  const applied: number[] = [];
  for (const migration of migrations) {
    const didApply = await ledger.guard(async (session) => {
      if (await ledger.isApplied(session, migration)) return false;
      await ledger.apply(session, migration);
      return ledger.record(session, migration);
    });
    if (didApply) applied.push(migration.version);
  }
  return applied;
}
