import { basename, dirname, resolve as resolvePath } from 'node:path';
import { configProblems } from '../config/parse-config.js';
import { configSchema, type JwtRefreshConfigInput } from '../config/schema.js';
import { GESDINET, LEXIK, OWN } from './bundle-keys.js';
import { readGesdinet } from './gesdinet-section.js';
import { readLexik } from './lexik-section.js';
import { sectionMapping } from './read-option.js';
import { merge } from './merge-options.js';
import { readDocument } from './read-document.js';
import { type Context, fail, isMapping, type Mapping, report } from './reading-context.js';

/**
 * Reads the standalone server's config file (SPEC §0) and turns it into options
 * for `parseConfig`.
 *
 * The file is YAML (`.yaml`, `.yml`) or JSON (`.json`) and holds a mapping with:
 *
 * - our own camelCase options (and `databaseUrl`, the store of the server and
 *   the CLI), either at the top level or all of them under a `jwt_refresh:` key (one or the other, not both, so no file has two places
 *   for one option);
 * - `gesdinet_jwt_refresh_token:`, the refresh-token bundle's section, verbatim;
 * - `lexik_jwt_authentication:`, the JWT bundle's section, verbatim.
 *
 * Bundle keys carry the bundle's meaning and defaults. An option set both by
 * our own keys and by a bundle key (or by two bundle keys) to different values
 * is an error naming both paths: neither silently wins.
 *
 * Every value is validated against the options schema here, before anything
 * uses it, and every problem of the file is reported at once, each under the
 * path the file wrote it at; a mistyped key comes with the key of its level it
 * resembles (`ttlUpdte: unknown option, did you mean ttlUpdate?`).
 *
 * In the bundle sections, Symfony's `%kernel.project_dir%` (the directory that
 * holds the file's `config/` directory, as in a Symfony project, else the
 * file's own directory), `%env(NAME)%` (with the `resolve:`, `int:`, `bool:`
 * and `string:` processors) and `%%` are resolved. Our own keys are taken as written.
 */

/** A store URL: a scheme, then anything (`sqlite:./var/db.sqlite`, `postgres://…`); the opener checks the rest. */
const DATABASE_URL = /^[a-z][a-z0-9+.-]*:/i;

/** The result of {@link loadConfigFileWithWarnings}. */
export interface LoadedConfigFile {
  /** Options to pass to `parseConfig`; our defaults are not applied yet. */
  config: JwtRefreshConfigInput;
  /** One line per bundle key that was accepted but ignored. Names keys only, never values. */
  warnings: string[];
  /**
   * The file's `databaseUrl`: the store of the standalone server and the CLI
   * (a library user passes a `store` to `createJwtRefresh` instead).
   */
  databaseUrl?: string;
  /**
   * The environment variables the file read through `%env()%`. The server and
   * the CLI do not apply these (`JWT_SECRET_KEY`, ...) over the file a second
   * time: the file already took them, resolved (`%env(resolve:JWT_SECRET_KEY)%`).
   */
  environmentRead: string[];
}

/** Options of {@link loadConfigFileWithWarnings}. */
export interface LoadConfigFileOptions {
  /** Where `%env(NAME)%` is looked up. Defaults to `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * Loads a config file and reports the bundle keys it ignored.
 *
 * @throws ConfigError naming the file and, when keys are at fault, every one
 *   of them with what is wrong: the extension is not supported, the file
 *   cannot be read or parsed, a key is unknown (with the known key it
 *   resembles) or its value invalid, an `%env()%` variable is missing, or two
 *   keys set one option to different values. Messages never quote the file's content.
 *
 * @example
 * const { config, warnings } = loadConfigFileWithWarnings('config/jwt-refresh.yaml');
 * for (const warning of warnings) logger.warn(warning);
 * const options = parseConfig(config);
 */
export function loadConfigFileWithWarnings(path: string, options: LoadConfigFileOptions = {}): LoadedConfigFile {
  const ctx: Context = {
    file: path,
    projectDir: projectDirectoryOf(path),
    env: options.env ?? process.env,
    explicit: [],
    defaults: [],
    warnings: [],
    problems: [],
    written: new Map(),
    environmentRead: new Set(),
  };

  const document = readDocument(ctx);
  const { [GESDINET]: gesdinet, [LEXIK]: lexik, [OWN]: ownSection, ...topLevel } = document;

  let own: Mapping;
  let ownPrefix = '';
  if (ownSection === undefined) {
    own = topLevel;
  } else {
    if (Object.keys(topLevel).length > 0) {
      fail(
        ctx,
        `options are either at the top level or under ${OWN}, not both (found ${Object.keys(topLevel).join(', ')} at the top level)`,
      );
    }
    if (ownSection !== null && !isMapping(ownSection)) fail(ctx, `${OWN} must be a mapping`);
    own = { ...(ownSection ?? {}) };
    ownPrefix = `${OWN}.`;
  }

  if (gesdinet !== undefined) readGesdinet(ctx, sectionMapping(ctx, gesdinet, GESDINET));
  if (lexik !== undefined) readLexik(ctx, sectionMapping(ctx, lexik, LEXIK));

  const { databaseUrl, ...config } = merge(ctx, own, ownPrefix);
  if (databaseUrl !== undefined && !(typeof databaseUrl === 'string' && DATABASE_URL.test(databaseUrl))) {
    report(ctx, `${ownPrefix}databaseUrl: expected a URL such as sqlite:./var/jwt-refresh.db`);
  }
  validate(ctx, config, ownPrefix);
  if (ctx.problems.length > 0) fail(ctx, ctx.problems.join('; '));
  // Validated above; the defaults are applied by parseConfig, after the environment's overrides.
  return {
    config: config as JwtRefreshConfigInput,
    warnings: ctx.warnings,
    environmentRead: [...ctx.environmentRead],
    ...(typeof databaseUrl === 'string' ? { databaseUrl } : {}),
  };
}

/**
 * Symfony's `kernel.project_dir` for a config file: the parent of the nearest
 * `config` directory above it (`app/config/packages/lexik.yaml` → `app`), so the
 * Flex recipe's `%kernel.project_dir%/config/jwt/private.pem` finds the key; a
 * file outside any `config` directory has its own directory as the project.
 */
function projectDirectoryOf(path: string): string {
  const own = dirname(resolvePath(path));
  for (let directory = own; dirname(directory) !== directory; directory = dirname(directory)) {
    if (basename(directory) === 'config') return dirname(directory);
  }
  return own;
}

/**
 * Checks the merged options against the schema, so an invalid value stops
 * here, named with this file, before the server or the CLI reads it. A
 * problem at an option a bundle key set is named by that key.
 */
function validate(ctx: Context, config: Mapping, ownPrefix: string): void {
  const result = configSchema.safeParse(config);
  if (result.success) return;
  for (const { path, message } of configProblems(result.error.issues)) {
    const key = path.map(String).join('.');
    const source = ctx.written.get(key) ?? `${ownPrefix}${key === '' ? '(root)' : key}`;
    report(ctx, `${source}: ${message}`);
  }
}

/**
 * Loads a config file into options for `parseConfig`, dropping the warnings.
 * See {@link loadConfigFileWithWarnings} for the format and the errors.
 *
 * @example
 * // config.yaml:
 * //   gesdinet_jwt_refresh_token:
 * //     ttl: 86400
 * //     cookie: { enabled: true, same_site: strict }
 * const options = parseConfig(loadConfigFile('config.yaml'));
 * options.singleUse; // false: the bundle's default, since its section is present
 */
export function loadConfigFile(path: string, options: LoadConfigFileOptions = {}): JwtRefreshConfigInput {
  return loadConfigFileWithWarnings(path, options).config;
}
