import type { JwtRefreshConfigInput } from '../config/schema.js';

/** The environment variables the standalone server and the CLI lay over the config file (SPEC §12). */
export interface OverridingVariables {
  JWT_SECRET_KEY?: string | undefined;
  JWT_PUBLIC_KEY?: string | undefined;
  JWT_PASSPHRASE?: string | undefined;
  REFRESH_TOKEN_SECRET?: string | undefined;
  REFRESH_TOKEN_PEPPER?: string | undefined;
}

/**
 * The config file's options with the environment's keys and secrets laid over
 * them, except the variables the file read itself through `%env()%`
 * (`LoadedConfigFile.environmentRead`): it took those already, resolved. The
 * Lexik recipe's `.env` holds `JWT_SECRET_KEY=%kernel.project_dir%/config/jwt/private.pem`,
 * which only `%env(resolve:JWT_SECRET_KEY)%` turns into a path; applied raw it names no file.
 *
 * @example
 * const config = withEnvironmentOverrides(loaded.config, process.env, loaded.environmentRead);
 */
export function withEnvironmentOverrides(
  config: JwtRefreshConfigInput,
  variables: OverridingVariables,
  readByFile: readonly string[] = [],
): JwtRefreshConfigInput {
  const take = (name: keyof OverridingVariables) => (readByFile.includes(name) ? undefined : variables[name]);
  const jwt = { ...config.jwt };
  const secretKey = take('JWT_SECRET_KEY');
  const publicKey = take('JWT_PUBLIC_KEY');
  const passphrase = take('JWT_PASSPHRASE');
  const secret = take('REFRESH_TOKEN_SECRET');
  const pepper = take('REFRESH_TOKEN_PEPPER');
  if (secretKey !== undefined) jwt.secretKey = secretKey;
  if (publicKey !== undefined) jwt.publicKey = publicKey;
  if (passphrase !== undefined) jwt.passphrase = passphrase;
  return { ...config, jwt, ...(secret === undefined ? {} : { secret }), ...(pepper === undefined ? {} : { pepper }) };
}
