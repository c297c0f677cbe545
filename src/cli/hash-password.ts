import { type Command, InvalidArgumentError } from 'commander';
import { loadArgon2 } from '../auth/argon2-hasher.js';
import { createPasswordHasher, PASSWORD_ALGORITHMS, type PasswordAlgorithm } from '../auth/create-password-hasher.js';
import { MAX_PASSWORD_LENGTH } from '../auth/password-hasher.js';
import { MissingPackageError } from '../server/open-store.js';
import { addConfigOption, type ConfigOptions, resolveCliSettings, USAGE_ERROR } from './cli-settings.js';
import { readStdinLine } from './read-stdin.js';

interface HashPasswordOptions extends ConfigOptions {
  password?: string;
  algorithm?: PasswordAlgorithm;
}

/**
 * `jwt-refresh hash-password [--password P] [--algorithm A] [--config F]`
 * (SPEC §10): prints a hash of a password for the server's users file
 * (`passwordHash`), made as login would make it: the config file's
 * `passwordHashing` (scrypt by default), or `--algorithm`. Without
 * `--password` it reads one line from stdin, which keeps the password out of
 * `ps` and shell history.
 */
export function registerHashPassword(program: Command): void {
  addConfigOption(
    program
      .command('hash-password')
      .description('print the hash of a password (read from stdin unless --password), for users.json')
      .option('--password <password>', 'the password (visible to other local users in ps; prefer stdin)')
      .option(
        '--algorithm <name>',
        `${PASSWORD_ALGORITHMS.join(', ')} (default: passwordHashing.algorithm of the config file, else scrypt)`,
        parseAlgorithm,
      ),
  ).action(async (options: HashPasswordOptions, command: Command) => {
    const { passwordHashing } = resolveCliSettings(options, process.env).config;
    const algorithm = options.algorithm ?? passwordHashing.algorithm;
    const hasher = createPasswordHasher({ ...passwordHashing, algorithm });
    if (algorithm === 'argon2id') await requireArgon2();
    const password = options.password ?? (await readStdinLine('Password: '));
    if (password === '') command.error('error: the password is empty', USAGE_ERROR);
    if (password.length > MAX_PASSWORD_LENGTH) {
      command.error(`error: the password is longer than ${MAX_PASSWORD_LENGTH} characters`, USAGE_ERROR);
    }
    process.stdout.write(`${await hasher.hash(password)}\n`);
  });
}

/** Loads `argon2` before the password is asked for; a missing package exits 2 with the install line, as for a store driver. */
async function requireArgon2(): Promise<void> {
  try {
    await loadArgon2();
  } catch (error) {
    if ((error as { cause?: { code?: unknown } }).cause?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new MissingPackageError('hash-password --algorithm argon2id needs the "argon2" package: npm install argon2', ['argon2']);
  }
}

function parseAlgorithm(value: string): PasswordAlgorithm {
  const algorithm = PASSWORD_ALGORITHMS.find((name) => name === value);
  if (algorithm === undefined) throw new InvalidArgumentError(`expected one of ${PASSWORD_ALGORITHMS.join(', ')}.`);
  return algorithm;
}
