#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { JwtRefreshError } from '../errors.js';
import { MissingPackageError } from '../server/open-store.js';
import { registerClear } from './clear.js';
import { registerDoctor } from './doctor.js';
import { registerHashPassword } from './hash-password.js';
import { registerImportGesdinet } from './import-gesdinet.js';
import { registerKeysGenerate } from './keys-generate.js';
import { registerMigrate } from './migrate.js';
import { registerRevoke } from './revoke.js';
import { registerServe } from './serve.js';
import { registerSessions } from './sessions.js';
import { registerTokenGenerate } from './token-generate.js';

/**
 * The `jwt-refresh` operator CLI (SPEC §10). Exit codes: 0 done; 1 the
 * operation failed (unknown token, store or config error, a store that does
 * not exist or was never migrated); 2 the command line is wrong (unknown
 * option, missing or invalid argument, missing signing key) or an optional
 * package the command needs is not installed (a store driver, Fastify for
 * `serve`). Errors are one line on stderr, never a stack trace.
 *
 * Only what every command needs is imported here: `serve` imports the server
 * (Fastify) when it runs, and stores import their driver when opened, so the
 * other commands work with the optional packages missing.
 */
const program = new Command('jwt-refresh')
  .description('JWT access tokens with rotating refresh tokens')
  .version(packageVersion(), '-V, --version', 'print the version of jwt-refresh')
  // Set before the commands are added, which inherit them: commander then throws
  // instead of exiting, and the catch below picks the exit code.
  .exitOverride()
  .configureOutput({ outputError: (message, write) => write(message) });

registerServe(program);
registerKeysGenerate(program);
registerTokenGenerate(program);
registerClear(program);
registerRevoke(program);
registerSessions(program);
registerMigrate(program);
registerHashPassword(program);
registerImportGesdinet(program);
registerDoctor(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // Commander has printed its message (or the help) already. Help asked for is success.
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  process.stderr.write(`jwt-refresh: ${describeError(error)}\n`);
  process.exit(error instanceof MissingPackageError ? 2 : 1);
});

/** The version in the package's own package.json (dist/cli/main.js → ../../package.json), installed or not. */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

/**
 * Our errors carry a message written for operators, plus the driver's error
 * code when there is one (`ECONNREFUSED`, a SQLSTATE); anything else shows
 * only its class. Driver messages can quote SQL or values, so they stay out.
 */
function describeError(error: unknown): string {
  if (!(error instanceof JwtRefreshError)) return `unexpected ${error instanceof Error ? error.name : 'error'}`;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  // Some messages name the code already ("… a readable file (ENOENT).").
  if (typeof code !== 'string' || !/^[A-Z0-9_]{1,40}$/.test(code) || error.message.includes(`(${code})`)) return error.message;
  return `${error.message} (${code})`;
}
