/**
 * The schema migration a server-backed store runs before its first operation,
 * since a constructor cannot await: started by whichever operation comes
 * first, shared by every operation meanwhile, and forgotten when it fails, so
 * that the next operation tries again (the server may be back by then).
 */
export class LazyMigration {
  readonly #migrate: () => Promise<unknown>;
  #pending: Promise<void> | undefined;

  /**
   * `migrate` must reject with the error operations should see. With
   * `enabled` false the schema is the app's affair and {@link ready} resolves at once.
   */
  constructor(migrate: () => Promise<unknown>, enabled: boolean) {
    this.#migrate = migrate;
    this.#pending = enabled ? undefined : Promise.resolve();
  }

  /** Settles once the schema is up to date, starting the migration on the first call. */
  ready(): Promise<void> {
    if (this.#pending === undefined) {
      const pending = this.#migrate().then(() => undefined);
      this.#pending = pending;
      pending.catch(() => {
        if (this.#pending === pending) this.#pending = undefined;
      });
    }
    return this.#pending;
  }

  /** Records that an explicit `migrate()` brought the schema up to date. */
  markDone(): void {
    this.#pending ??= Promise.resolve();
  }

  /** Settles when a migration in flight has, whatever its outcome. */
  settled(): Promise<void> {
    return this.#pending?.catch(() => undefined) ?? Promise.resolve();
  }
}
