// Kept for the importers of this path (src/cli/store-schema.ts, test/cli.test.ts); the migrations live in ./postgres/.
export * from './postgres/postgres-migrations.js';
