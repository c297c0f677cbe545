import type { Command } from 'commander';
import { createScryptHasher, MAX_PASSWORD_LENGTH } from '../auth/password-hasher.js';
import { USAGE_ERROR } from './cli-settings.js';
import { readStdinLine } from './read-stdin.js';

/**
 * `jwt-refresh hash-password [--password P]` (SPEC §10): prints the scrypt
 * hash of a password for the server's users file (`passwordHash`). Without
 * `--password` it reads one line from stdin, which keeps the password out of
 * `ps` and shell history.
 */
export function registerHashPassword(program: Command): void {
  program
    .command('hash-password')
    .description('print the scrypt hash of a password (read from stdin unless --password), for users.json')
    .option('--password <password>', 'the password (visible to other local users in ps; prefer stdin)')
    .action(async (options: { password?: string }, command: Command) => {
      const password = options.password ?? (await readStdinLine('Password: '));
      if (password === '') command.error('error: the password is empty', USAGE_ERROR);
      if (password.length > MAX_PASSWORD_LENGTH) {
        command.error(`error: the password is longer than ${MAX_PASSWORD_LENGTH} characters`, USAGE_ERROR);
      }
      process.stdout.write(`${await createScryptHasher().hash(password)}\n`);
    });
}
