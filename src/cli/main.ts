#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { JwtRefreshError } from '../errors.js';
import { registerClear } from './clear.js';
import { registerHashPassword } from './hash-password.js';
import { registerKeysGenerate } from './keys-generate.js';
import { registerMigrate } from './migrate.js';
import { registerRevoke } from './revoke.js';
import { registerServe } from './serve.js';
import { registerSessions } from './sessions.js';
import { registerTokenGenerate } from './token-generate.js';

/**
 * The `jwt-refresh` operator CLI (SPEC §10). Exit codes: 0 done; 1 the
 * operation failed (unknown token, store or config error); 2 the command line
 * is wrong (unknown option, missing or invalid argument, missing signing key).
 * Errors are one line on stderr, never a stack trace.
 */
const program = new Command('jwt-refresh')
  .description('JWT access tokens with rotating refresh tokens')
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

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    // Commander has printed its message (or the help) already. Help asked for is success.
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  process.stderr.write(`jwt-refresh: ${describeError(error)}\n`);
  process.exit(1);
});

/**
 * Our errors carry a message written for operators, plus the driver's error
 * code when there is one (`ECONNREFUSED`, a SQLSTATE); anything else shows
 * only its class. Driver messages can quote SQL or values, so they stay out.
 */
function describeError(error: unknown): string {
  if (!(error instanceof JwtRefreshError)) return `unexpected ${error instanceof Error ? error.name : 'error'}`;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? `${error.message} (${code})` : error.message;
}
