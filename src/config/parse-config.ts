import { ConfigError } from '../errors.js';
import { configSchema, type JwtRefreshConfig, type JwtRefreshConfigInput } from './schema.js';

/**
 * Validates options and applies defaults. Fails with a {@link ConfigError}
 * naming every bad option's path and what was expected.
 *
 * @example
 * const config = parseConfig({ ttl: 3600, jwt: { algorithm: 'ES256', secretKey: pem } });
 */
export function parseConfig(input: JwtRefreshConfigInput = {}): JwtRefreshConfig {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    return `${path}: ${issue.message}`;
  });
  throw new ConfigError(`Invalid jwt-refresh configuration: ${problems.join('; ')}`);
}
