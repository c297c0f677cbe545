import type { Command } from 'commander';
import { addStoreOptions, resolveCliSettings, type StoreOptions, withStore } from './cli-settings.js';

/**
 * `jwt-refresh migrate` (SPEC §7, §10): creates or upgrades the store's
 * schema with the migrations shipped in the package. Idempotent, and safe to
 * run from several deploy jobs at once (the stores take a lock per step).
 * With `serve`, the only command that creates a database or a table.
 */
export function registerMigrate(program: Command): void {
  addStoreOptions(program.command('migrate').description("create or upgrade the store's tables and indexes (idempotent)")).action(
    async (options: StoreOptions) => {
      const settings = resolveCliSettings(options, process.env);
      const applied = await withStore(settings, { ...options, migrate: true }, (store) => store.migrate());
      process.stdout.write(applied.length === 0 ? 'Schema is up to date\n' : `Applied migration(s): ${applied.join(', ')}\n`);
    },
  );
}
