import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PasswordHasher } from '../auth/password-hasher.js';
import { parseConfig } from '../config/parse-config.js';
import type { JwtRefreshConfigInput, SignatureAlgorithm } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { generateKeyPair } from '../jwt/generate-key-pair.js';
import type { openUsersFile } from './users-file.js';

/** Writes one warning line; the server passes its logger. */
export type Warn = (message: string, details?: Record<string, unknown>) => void;

/**
 * Outside production, fills in what a first start lacks (SPEC §12): a key
 * pair and a server secret kept beside the database, each announced with a
 * warning. In production a missing key or secret stops the start. The
 * options are validated first, so an invalid one (say `jwt.algorithm`) is
 * reported by its path, never used to name or make a key.
 *
 * @throws ConfigError naming every invalid option, or what production lacks
 */
export async function ensureKeysAndSecret(
  config: JwtRefreshConfigInput,
  dataDirectory: string,
  production: boolean,
  warn: Warn,
): Promise<JwtRefreshConfigInput> {
  const valid = parseConfig(config);
  const jwt = { ...config.jwt };
  let secret = config.secret;
  if (jwt.secretKey === undefined) {
    // The server signs tokens at every login: a public key alone would start, then answer 500s.
    if (jwt.publicKey !== undefined)
      throw new ConfigError('jwt.secretKey (or JWT_SECRET_KEY) is required: the server signs tokens, a public key alone cannot');
    if (production) throw new ConfigError('jwt.secretKey (or JWT_SECRET_KEY) is required when NODE_ENV=production');
    const algorithm: SignatureAlgorithm = valid.jwt.algorithm;
    jwt.algorithm = algorithm;
    jwt.secretKey = await devKey(dataDirectory, algorithm, warn);
  }
  if (secret === undefined) {
    if (production) throw new ConfigError('secret (or REFRESH_TOKEN_SECRET) is required when NODE_ENV=production');
    secret = devFile(join(dataDirectory, 'server-secret'), () => randomBytes(32).toString('hex'), warn, 'server secret');
  }
  return { ...config, jwt, secret };
}

async function devKey(dataDirectory: string, algorithm: SignatureAlgorithm, warn: Warn): Promise<string> {
  const path = join(dataDirectory, `jwt-${algorithm.toLowerCase()}-private.pem`);
  if (existsSync(path)) {
    // HS* keys are kept as a file of the secret itself; the option wants the secret.
    return algorithm.startsWith('HS') ? readFileSync(path, 'utf8').trim() : path;
  }
  const generated = await generateKeyPair(algorithm);
  const material = generated.secret ?? generated.privateKeyPem;
  devFile(path, () => material, warn, `${algorithm} signing key`);
  if (generated.publicKeyPem !== null)
    writeFileSync(join(dataDirectory, `jwt-${algorithm.toLowerCase()}-public.pem`), generated.publicKeyPem);
  return generated.secret ?? path;
}

function devFile(path: string, make: () => string, warn: Warn, what: string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(join(path, '..'), { recursive: true });
  const value = make();
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  warn(`Generated a development ${what}; set your own before production`, { path });
  return value;
}

/** Seeds the demo user `demo` / `demo` into an empty users file, outside production, with a warning. */
export async function seedDemoUser(
  users: ReturnType<typeof openUsersFile>,
  hasher: PasswordHasher,
  production: boolean,
  warn: Warn,
): Promise<void> {
  if (production || users.users.length > 0) return;
  users.users.push({ id: '1', identifier: 'demo', roles: ['ROLE_USER'], passwordHash: await hasher.hash('demo'), enabled: true });
  users.save();
  warn('Seeded the demo user "demo" with password "demo"; remove it before production');
}
