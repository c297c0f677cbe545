import { z } from 'zod';
import { ConfigError } from '../errors.js';

/** An interface to listen on (`HOST`, `serve --host`): any non-empty name or address. */
export const hostSchema = z.string().min(1);

/** A port to listen on (`PORT`, `serve --port`), 0 for a free one. */
// Digits only: Number() would also take "0x1F90", "1e3" and " 8080".
export const portSchema = z
  .string()
  .regex(/^\d{1,5}$/, 'a port number, digits only')
  .transform(Number)
  .pipe(z.number().int().min(0).max(65535));

const settingsSchema = z.object({
  /** Interface to listen on. */
  HOST: hostSchema.default('127.0.0.1'),
  /** Port to listen on; 0 picks a free one. */
  PORT: z.preprocess((value) => (value === '' ? undefined : value), portSchema.default(8080)),
  /** Store URL (see open-store.ts); else the config file's `databaseUrl`; else `sqlite:./var/jwt-refresh.db`. */
  DATABASE_URL: z
    .string()
    .regex(/^[a-z][a-z0-9+.-]*:/i, 'a URL such as sqlite:./var/jwt-refresh.db')
    .optional(),
  /** Path of a YAML or JSON config file (our options and/or the bundles' sections). */
  JWT_REFRESH_CONFIG: z.string().min(1).optional(),
  /** Users file (JSON); default `users.json` beside the SQLite file, or ./var. */
  USERS_FILE: z.string().min(1).optional(),
  /** `production` turns off the demo user and generated keys. */
  NODE_ENV: z.string().optional(),
  /** Signing key (PEM or path) and its passphrase; override the config file. */
  JWT_SECRET_KEY: z.string().min(1).optional(),
  JWT_PUBLIC_KEY: z.string().min(1).optional(),
  JWT_PASSPHRASE: z.string().optional(),
  /** Server secret for successor derivation; overrides the config file. */
  REFRESH_TOKEN_SECRET: z.string().min(16).optional(),
  /** Pepper for token hashes; overrides the config file. */
  REFRESH_TOKEN_PEPPER: z.string().min(16).optional(),
  /** `silent` turns request logs off. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The standalone server's environment, validated. */
export type ServerSettings = z.output<typeof settingsSchema>;

/**
 * Reads and validates the server's environment variables (SPEC §12); a bad
 * one stops the start with its name and what was expected.
 */
export function readServerSettings(env: NodeJS.ProcessEnv): ServerSettings {
  const result = settingsSchema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new ConfigError(`Invalid environment: ${problems.join('; ')}`);
}
