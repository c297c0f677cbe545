// Kept for the importers of this path (src/cli/store-schema.ts, test/cli.test.ts); the migrations live in ./sqlite/.
export * from './sqlite/sqlite-migrations.js';
