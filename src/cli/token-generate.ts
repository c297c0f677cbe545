import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { User } from '../auth/user.js';
import type { JwtRefreshConfig } from '../config/schema.js';
import { buildAccessTokenClaims } from '../jwt/build-claims.js';
import { loadAccessTokenKeys } from '../jwt/load-keys.js';
import { signAccessToken } from '../jwt/sign.js';
import { addConfigOption, type ConfigOptions, dataDirectoryOf, resolveCliSettings, USAGE_ERROR } from './cli-settings.js';

interface TokenGenerateOptions extends ConfigOptions {
  ttl?: number;
  role: string[];
  userId?: string;
}

/** Roles of a generated token when no `--role` is given. */
const DEFAULT_ROLES = ['ROLE_USER'];

/**
 * `jwt-refresh token generate <username> [--ttl N] [--role R]...` (SPEC §1,
 * Lexik's `lexik:jwt:generate-token`): mints an access token for scripts and
 * API clients with the server's keys and claims, and prints only the JWT.
 */
export function registerTokenGenerate(program: Command): void {
  addConfigOption(
    program
      .command('token')
      .description('access tokens')
      .command('generate')
      .description('sign an access token for a user with the configured key and print it')
      .argument('<username>', 'the user identifier, put in the jwt.userIdClaim claim (default "username")')
      .option('--ttl <seconds>', 'lifetime in seconds (default: jwt.tokenTtl, 3600)', parsePositiveInteger)
      .option('--role <role>', 'a role for the roles claim; repeat for several (default: ROLE_USER)', collect, [])
      .option('--user-id <id>', 'the stable user id, put in sub (default: the username)'),
  ).action(async (username: string, options: TokenGenerateOptions, command: Command) => {
    if (username === '') command.error('error: the username is empty', USAGE_ERROR);
    const settings = resolveCliSettings(options, process.env);
    const jwt: JwtRefreshConfig['jwt'] = { ...settings.config.jwt };
    if (options.ttl !== undefined) jwt.tokenTtl = options.ttl;
    if (jwt.secretKey === undefined && !settings.production) {
      // The server signs with a generated development key when none is configured; so do we.
      const developmentKey = readDevelopmentKey(dataDirectoryOf(settings.databaseUrl), jwt.algorithm);
      if (developmentKey !== null) jwt.secretKey = developmentKey;
    }
    if (jwt.secretKey === undefined) {
      command.error(
        `error: no signing key: set jwt.secretKey in the config file (--config or JWT_REFRESH_CONFIG) or JWT_SECRET_KEY (${jwt.algorithm})`,
        USAGE_ERROR,
      );
    }
    const keys = await loadAccessTokenKeys(jwt);
    const user: User = {
      id: options.userId ?? username,
      identifier: username,
      roles: options.role.length === 0 ? DEFAULT_ROLES : options.role,
    };
    const token = await signAccessToken(keys, buildAccessTokenClaims(user, jwt, new Date()));
    process.stdout.write(`${token}\n`);
  });
}

/** The key `jwt-refresh serve` generated beside the database outside production (see server/dev-material.ts), or null. */
function readDevelopmentKey(dataDirectory: string, algorithm: JwtRefreshConfig['jwt']['algorithm']): string | null {
  const path = join(dataDirectory, `jwt-${algorithm.toLowerCase()}-private.pem`);
  if (!existsSync(path)) return null;
  process.stderr.write(`jwt-refresh: using the development signing key ${path}\n`);
  // HS* keys are kept as a file of the secret itself; the option wants the secret.
  return algorithm.startsWith('HS') ? readFileSync(path, 'utf8').trim() : path;
}

function parsePositiveInteger(value: string): number {
  const number = /^\d{1,10}$/.test(value) ? Number(value) : Number.NaN;
  if (!(number >= 1 && Number.isSafeInteger(number))) throw new InvalidArgumentError('expected a positive whole number of seconds.');
  return number;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
