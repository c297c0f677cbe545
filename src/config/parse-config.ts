import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { closestKey } from './did-you-mean.js';
import { configSchema, type JwtRefreshConfig, type JwtRefreshConfigInput } from './schema.js';

/**
 * Validates options and applies defaults. Fails with a {@link ConfigError}
 * naming every bad option's path and what was expected; an unknown key is
 * named with the option of its level it resembles (`ttlUpdte: unknown
 * option, did you mean ttlUpdate?`).
 *
 * @example
 * const config = parseConfig({ ttl: 3600, jwt: { algorithm: 'ES256', secretKey: pem } });
 */
export function parseConfig(input: JwtRefreshConfigInput = {}): JwtRefreshConfig {
  const result = configSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = configProblems(result.error.issues).map(
    ({ path, message }) => `${path.length > 0 ? path.join('.') : '(root)'}: ${message}`,
  );
  throw new ConfigError(`Invalid jwt-refresh configuration: ${problems.join('; ')}`);
}

/** One problem of a config: the option's path and what is wrong with it. */
export interface ConfigProblem {
  path: readonly PropertyKey[];
  message: string;
}

/**
 * The issues of {@link configSchema} as problems to report, in path order: one
 * per unknown key (zod groups them per object), with the known key of that
 * level it resembles. Shared with the config-file loader, which names paths as
 * the file wrote them. Not part of the public API.
 *
 * @example
 * const result = configSchema.safeParse(input);
 * if (!result.success) for (const { path, message } of configProblems(result.error.issues)) console.log(path.join('.'), message);
 */
export function configProblems(issues: readonly z.core.$ZodIssue[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = objectKeysAt(configSchema, issue.path);
      for (const key of issue.keys) {
        const suggestion = closestKey(key, known);
        problems.push({
          path: [...issue.path, key],
          message: `unknown option${suggestion === null ? '' : `, did you mean ${suggestion}?`}`,
        });
      }
    } else {
      problems.push({ path: issue.path, message: issue.message });
    }
  }
  // zod reports nested objects first; the order of the paths reads better.
  return problems
    .map((problem, index) => ({ problem, index, key: problem.path.map(String).join('\u0000') }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index))
    .map(({ problem }) => problem);
}

/** The keys of the object schema at `path` (through defaults, optionals and arrays), or none. */
function objectKeysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let node: z.core.$ZodType | undefined = unwrap(schema);
  for (const key of path) {
    const def: z.core.$ZodTypeDef = node._zod.def;
    if (def.type === 'object') node = (def as z.core.$ZodObjectDef).shape[String(key)];
    else if (def.type === 'array') node = (def as z.core.$ZodArrayDef).element;
    else return [];
    if (node === undefined) return [];
    node = unwrap(node);
  }
  const def = node._zod.def;
  return def.type === 'object' ? Object.keys((def as z.core.$ZodObjectDef).shape) : [];
}

/** Through `.default()`, `.prefault()`, `.optional()`, `.nullable()` to the schema they wrap. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let node = schema;
  for (;;) {
    const def = node._zod.def as { innerType?: z.core.$ZodType };
    if (def.innerType === undefined) return node;
    node = def.innerType;
  }
}
