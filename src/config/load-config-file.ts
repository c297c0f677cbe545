import { readFileSync } from 'node:fs';
import { dirname, extname, resolve as resolvePath } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { closestKey } from './did-you-mean.js';
import { configProblems } from './parse-config.js';
import { configSchema, cookieSchema, jwtSchema, type JwtRefreshConfigInput } from './schema.js';

/**
 * Reads the standalone server's config file (SPEC §0) and turns it into options
 * for `parseConfig`.
 *
 * The file is YAML (`.yaml`, `.yml`) or JSON (`.json`) and holds a mapping with:
 *
 * - our own camelCase options, either at the top level or all of them under a
 *   `jwt_refresh:` key (one or the other, not both, so no file has two places
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
 * In the bundle sections, Symfony's `%kernel.project_dir%` (taken to be the
 * config file's directory), `%env(NAME)%` (with the `resolve:`, `int:`, `bool:`
 * and `string:` processors) and `%%` are resolved. Our own keys are taken as written.
 */

/** The result of {@link loadConfigFileWithWarnings}. */
export interface LoadedConfigFile {
  /** Options to pass to `parseConfig`; our defaults are not applied yet. */
  config: JwtRefreshConfigInput;
  /** One line per bundle key that was accepted but ignored. Names keys only, never values. */
  warnings: string[];
}

/** Options of {@link loadConfigFileWithWarnings}. */
export interface LoadConfigFileOptions {
  /** Where `%env(NAME)%` is looked up. Defaults to `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

const GESDINET = 'gesdinet_jwt_refresh_token';
const LEXIK = 'lexik_jwt_authentication';
const OWN = 'jwt_refresh';

/** Where a bundle key lands in our options, and how its value is read. */
interface Target {
  to: readonly string[];
  schema: z.ZodType;
  /** The bundle's null default means "not set" (Lexik's keys and passphrase). */
  nullMeansUnset?: boolean;
  /** Lexik's `pass_phrase` defaults to '' for "no passphrase". */
  emptyMeansUnset?: boolean;
  /** PHP juggles numeric strings (typically from `%env()%`) into integers; so do we. */
  integer?: boolean;
}

const GESDINET_OPTIONS = new Map<string, Target>([
  ['ttl', { to: ['ttl'], schema: configSchema.shape.ttl, integer: true }],
  ['ttl_update', { to: ['ttlUpdate'], schema: configSchema.shape.ttlUpdate }],
  ['token_parameter_name', { to: ['tokenParameterName'], schema: configSchema.shape.tokenParameterName }],
  ['return_expiration', { to: ['returnExpiration'], schema: configSchema.shape.returnExpiration }],
  [
    'return_expiration_parameter_name',
    { to: ['returnExpirationParameterName'], schema: configSchema.shape.returnExpirationParameterName },
  ],
  ['single_use', { to: ['singleUse'], schema: configSchema.shape.singleUse }],
]);

const GESDINET_COOKIE_OPTIONS = new Map<string, Target>([
  ['enabled', { to: ['cookie', 'enabled'], schema: cookieSchema.shape.enabled }],
  ['same_site', { to: ['cookie', 'sameSite'], schema: cookieSchema.shape.sameSite }],
  ['path', { to: ['cookie', 'path'], schema: cookieSchema.shape.path }],
  ['domain', { to: ['cookie', 'domain'], schema: cookieSchema.shape.domain }],
  ['http_only', { to: ['cookie', 'httpOnly'], schema: cookieSchema.shape.httpOnly }],
  ['secure', { to: ['cookie', 'secure'], schema: cookieSchema.shape.secure }],
  ['partitioned', { to: ['cookie', 'partitioned'], schema: cookieSchema.shape.partitioned }],
  ['remove_token_from_body', { to: ['cookie', 'removeTokenFromBody'], schema: cookieSchema.shape.removeTokenFromBody }],
]);

const STORE_HINT = 'the store is chosen by DATABASE_URL or in code';
const TABLE_HINT = 'the store defines its table';
const IDENTITY_HINT = 'the identifier comes from the UserProvider; its claim is jwt.userIdClaim';

/** Bundle keys whose job is done differently here: accepted so a pasted file loads, and reported. */
const GESDINET_IGNORED = new Map<string, string>([
  ['firewall', 'there are no firewalls; set the endpoint paths with routes'],
  ['user_provider', 'pass a UserProvider in code'],
  ['user_checker', 'pass a UserChecker in code'],
  ['manager_type', STORE_HINT],
  ['object_manager', STORE_HINT],
  ['refresh_token_class', TABLE_HINT],
  ['logout_firewall', 'logout is served at routes.invalidate'],
  ['doctrine_mappings', 'there is no Doctrine'],
  ['user_identity_field', IDENTITY_HINT],
  // 0.x names of refresh_token_class and object_manager, still read by 1.x.
  ['refresh_token_entity', TABLE_HINT],
  ['entity_manager', STORE_HINT],
]);

const LEXIK_OPTIONS = new Map<string, Target>([
  ['secret_key', { to: ['jwt', 'secretKey'], schema: jwtSchema.shape.secretKey, nullMeansUnset: true }],
  ['public_key', { to: ['jwt', 'publicKey'], schema: jwtSchema.shape.publicKey, nullMeansUnset: true }],
  [
    'pass_phrase',
    { to: ['jwt', 'passphrase'], schema: jwtSchema.shape.passphrase, nullMeansUnset: true, emptyMeansUnset: true },
  ],
  ['token_ttl', { to: ['jwt', 'tokenTtl'], schema: jwtSchema.shape.tokenTtl, integer: true }],
  ['clock_skew', { to: ['jwt', 'clockSkew'], schema: jwtSchema.shape.clockSkew, integer: true }],
  ['user_id_claim', { to: ['jwt', 'userIdClaim'], schema: jwtSchema.shape.userIdClaim, nullMeansUnset: true }],
  ['signature_algorithm', { to: ['jwt', 'algorithm'], schema: jwtSchema.shape.algorithm }],
]);

const LEXIK_ENCODER_OPTIONS = new Map<string, Target>([
  ['signature_algorithm', { to: ['jwt', 'algorithm'], schema: jwtSchema.shape.algorithm }],
]);

const LEXIK_HINTS = new Map<string, string>([
  ['private_key_path', 'use secret_key'],
  ['public_key_path', 'use public_key'],
  ['user_identity_field', IDENTITY_HINT],
  ['token_extractors', 'access tokens are read from the Authorization: Bearer header'],
  ['encoder.service', 'tokens are signed with jose'],
  ['encoder.crypto_engine', 'tokens are signed with jose'],
]);

/**
 * Lexik options that exist but that we do not map: ignored with a warning, so a pasted
 * configuration still starts. Any other key is a typo (say `toekn_ttl`) and fails, as in
 * the gesdinet section: a silently ignored TTL would be worse than a start-up error.
 */
const LEXIK_UNMAPPED = new Set([
  ...[...LEXIK_HINTS.keys()].filter((key) => !key.startsWith('encoder.')),
  'allow_no_expiration',
  'additional_public_keys',
  'remove_token_from_body_when_cookies_used',
  'set_cookies',
  'api_platform',
  'blocklist_token',
  'access_token_issuance',
  'access_token_verification',
]);

/** Every key of each bundle section, for "did you mean" on a typo. */
const GESDINET_KEYS = [...GESDINET_OPTIONS.keys(), 'cookie', ...GESDINET_IGNORED.keys()];
const LEXIK_KEYS = [...LEXIK_OPTIONS.keys(), 'encoder', ...LEXIK_UNMAPPED];
const LEXIK_ENCODER_KEYS = [
  ...LEXIK_ENCODER_OPTIONS.keys(),
  ...[...LEXIK_HINTS.keys()].filter((key) => key.startsWith('encoder.')).map((key) => key.slice('encoder.'.length)),
];

/** Lexik's default when its section is present (its `encoder.signature_algorithm`); ours is ES256. */
const LEXIK_DEFAULT_ALGORITHM = 'RS256';

interface Assignment {
  target: readonly string[];
  value: unknown;
  /** Path in the file that set it, for messages. */
  source: string;
}

interface Context {
  file: string;
  projectDir: string;
  env: Readonly<Record<string, string | undefined>>;
  /** Values the bundles set explicitly; they conflict with our own keys. */
  explicit: Assignment[];
  /** The bundles' defaults; our own keys override them silently. */
  defaults: Assignment[];
  warnings: string[];
  /** Problems found so far, each naming its path; reported together at the end. */
  problems: string[];
  /** The bundle key each option written from a bundle came from (by dotted option path), to name it in problems. */
  written: Map<string, string>;
}

/** A problem with one option, thrown by the helpers that read a value and caught per option. */
class OptionProblem extends Error {}

type Mapping = Record<string, unknown>;

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A problem that stops the reading at once: the file cannot be read, parsed or understood as a whole. */
function fail(ctx: Pick<Context, 'file'>, message: string): never {
  throw new ConfigError(`Config file ${ctx.file}: ${message}`);
}

/** A problem with one key; reading goes on so every problem of the file is reported together. */
function report(ctx: Context, message: string): void {
  ctx.problems.push(message);
}

/** `, did you mean X?` when `key` resembles one of `known`, else nothing. */
function suggestion(key: string, known: Iterable<string>): string {
  const closest = closestKey(key, known);
  return closest === null ? '' : `, did you mean ${closest}?`;
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
    projectDir: dirname(resolvePath(path)),
    env: options.env ?? process.env,
    explicit: [],
    defaults: [],
    warnings: [],
    problems: [],
    written: new Map(),
  };

  const document = readDocument(ctx);
  const { [GESDINET]: gesdinet, [LEXIK]: lexik, [OWN]: ownSection, ...topLevel } = document;

  let own: Mapping;
  let ownPrefix = '';
  if (ownSection === undefined) {
    own = topLevel;
  } else {
    if (Object.keys(topLevel).length > 0) {
      fail(ctx, `options are either at the top level or under ${OWN}, not both (found ${Object.keys(topLevel).join(', ')} at the top level)`);
    }
    if (ownSection !== null && !isMapping(ownSection)) fail(ctx, `${OWN} must be a mapping`);
    own = { ...(ownSection ?? {}) };
    ownPrefix = `${OWN}.`;
  }

  if (gesdinet !== undefined) readGesdinet(ctx, sectionMapping(ctx, gesdinet, GESDINET));
  if (lexik !== undefined) readLexik(ctx, sectionMapping(ctx, lexik, LEXIK));

  const config = merge(ctx, own, ownPrefix);
  validate(ctx, config, ownPrefix);
  if (ctx.problems.length > 0) fail(ctx, ctx.problems.join('; '));
  // Validated above; the defaults are applied by parseConfig, after the environment's overrides.
  return { config: config as JwtRefreshConfigInput, warnings: ctx.warnings };
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

function readDocument(ctx: Context): Mapping {
  const extension = extname(ctx.file).toLowerCase();
  if (extension !== '.yaml' && extension !== '.yml' && extension !== '.json') {
    fail(ctx, `unsupported extension "${extension}"; use .yaml, .yml or .json`);
  }

  let text: string;
  try {
    text = readFileSync(ctx.file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    fail(ctx, `cannot be read (${code})`);
  }
  // An editor's byte-order mark is not content; JSON.parse would choke on it.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);

  const parsed = extension === '.json' ? parseJson(ctx, text) : parseYaml(ctx, text);
  if (parsed === null || parsed === undefined) return {};
  if (!isMapping(parsed)) fail(ctx, 'must hold a mapping of options at the top level');
  return parsed;
}

/** "line L, column C" of a character offset, so a parse error points somewhere without quoting the file. */
function position(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  const column = offset - before.lastIndexOf('\n');
  return `line ${line}, column ${column}`;
}

function parseJson(ctx: Context, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    // V8's message may quote the text around the error, which can be a secret: keep only the offset.
    const offset = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    fail(ctx, `is not valid JSON${offset === undefined ? '' : ` (${position(text, Number(offset))})`}`);
  }
}

function parseYaml(ctx: Context, text: string): unknown {
  // Symfony's YAML understands `<<` merge keys, so pasted files may use them.
  const document = parseDocument(text, { prettyErrors: false, merge: true });
  const [error] = document.errors;
  if (error !== undefined) {
    // The yaml package's messages can quote the source; the code and position are enough.
    fail(ctx, `is not valid YAML (${error.code} at ${position(text, error.pos[0])})`);
  }
  try {
    return document.toJS() as unknown;
  } catch {
    // e.g. too many aliases (a "billion laughs" file).
    fail(ctx, 'is not valid YAML (it could not be converted to data)');
  }
}

/** Symfony treats `section: ~` as an empty section. Anything else but a mapping is reported, and read as empty. */
function sectionMapping(ctx: Context, value: unknown, path: string): Mapping {
  if (value === null) return {};
  if (!isMapping(value)) {
    report(ctx, `${path} must be a mapping`);
    return {};
  }
  return value;
}

function readGesdinet(ctx: Context, section: Mapping): void {
  for (const [key, value] of Object.entries(section)) {
    const source = `${GESDINET}.${key}`;
    const target = GESDINET_OPTIONS.get(key);
    if (target !== undefined) {
      readOption(ctx, target, value, source);
    } else if (key === 'cookie') {
      readGesdinetCookie(ctx, value, source);
    } else {
      const hint = GESDINET_IGNORED.get(key);
      if (hint === undefined) {
        report(ctx, `${source} is not an option of the gesdinet bundle${suggestion(key, GESDINET_KEYS)}`);
      } else {
        ctx.warnings.push(`${source} is ignored: ${hint}`);
      }
    }
  }
  // The bundle's defaults, where ours differ (SPEC §0): no rotation, and the
  // token is read from the query string too.
  ctx.defaults.push({ target: ['singleUse'], value: false, source: `${GESDINET} (bundle default)` });
  ctx.defaults.push({ target: ['bundleCompat'], value: true, source: `${GESDINET} (bundle default)` });
  // Written out although it equals the library's default: the standalone server turns cookie
  // mode on when a config says nothing, and a pasted section without `cookie` must stay off.
  // A `cookie` node that enables it pushed its own default first, and the first one wins.
  ctx.defaults.push({ target: ['cookie', 'enabled'], value: false, source: `${GESDINET}.cookie (bundle default)` });
}

/** The bundle's `cookie` node is Symfony's `canBeEnabled()`: `true`, `~` or a mapping without `enabled` turn it on. */
function readGesdinetCookie(ctx: Context, value: unknown, source: string): void {
  const enabledSource = `${source}.enabled`;
  if (typeof value === 'boolean') {
    ctx.explicit.push({ target: ['cookie', 'enabled'], value, source: enabledSource });
    return;
  }
  const cookie = sectionMapping(ctx, value, source);
  for (const [key, option] of Object.entries(cookie)) {
    const target = GESDINET_COOKIE_OPTIONS.get(key);
    if (target === undefined) {
      report(ctx, `${source}.${key} is not an option of the gesdinet bundle${suggestion(key, GESDINET_COOKIE_OPTIONS.keys())}`);
    } else {
      readOption(ctx, target, option, `${source}.${key}`);
    }
  }
  if (!('enabled' in cookie)) ctx.defaults.push({ target: ['cookie', 'enabled'], value: true, source: enabledSource });
}

function readLexik(ctx: Context, section: Mapping): void {
  for (const [key, value] of Object.entries(section)) {
    const source = `${LEXIK}.${key}`;
    const target = LEXIK_OPTIONS.get(key);
    if (target !== undefined) {
      readOption(ctx, target, value, source);
    } else if (key === 'encoder') {
      for (const [encoderKey, option] of Object.entries(sectionMapping(ctx, value, source))) {
        const encoderTarget = LEXIK_ENCODER_OPTIONS.get(encoderKey);
        if (encoderTarget !== undefined) readOption(ctx, encoderTarget, option, `${source}.${encoderKey}`);
        else if (LEXIK_HINTS.has(`encoder.${encoderKey}`)) warnLexik(ctx, `encoder.${encoderKey}`);
        else report(ctx, `${source}.${encoderKey} is not an option of the Lexik bundle${suggestion(encoderKey, LEXIK_ENCODER_KEYS)}`);
      }
    } else if (LEXIK_UNMAPPED.has(key)) {
      warnLexik(ctx, key);
    } else {
      report(ctx, `${source} is not an option of the Lexik bundle${suggestion(key, LEXIK_KEYS)}`);
    }
  }
  ctx.defaults.push({ target: ['jwt', 'algorithm'], value: LEXIK_DEFAULT_ALGORITHM, source: `${LEXIK} (bundle default)` });
}

function warnLexik(ctx: Context, key: string): void {
  ctx.warnings.push(`${LEXIK}.${key} is ignored: ${LEXIK_HINTS.get(key) ?? 'not supported'}`);
}

/** Resolves, converts and validates one bundle value, so a bad one is reported under the bundle's own path. */
function readOption(ctx: Context, target: Target, raw: unknown, source: string): void {
  if (raw === null && target.nullMeansUnset === true) return;
  let value: unknown;
  try {
    value = typeof raw === 'string' ? resolveParameters(ctx, raw, source, true) : raw;
  } catch (error) {
    if (!(error instanceof OptionProblem)) throw error;
    report(ctx, error.message);
    return;
  }
  if (value === '' && target.emptyMeansUnset === true) return;
  if (target.integer === true && typeof value === 'string' && /^\d+$/.test(value)) value = Number(value);

  const result = target.schema.safeParse(value);
  if (!result.success) {
    // zod's messages say what was expected without echoing the value.
    report(ctx, `${source}: ${result.error.issues.map((issue) => issue.message).join('; ')}`);
    return;
  }
  ctx.explicit.push({ target: target.to, value, source });
}

/** Stops reading one option: {@link readOption} reports it and goes on with the next. */
function optionProblem(message: string): never {
  throw new OptionProblem(message);
}

const PARAMETER = /%%|%([^%\s]+)%/g;
const WHOLE_ENV = /^%env\(([^()%\s]+)\)%$/;
const ENV_PARAMETER = /^env\(([^()%\s]+)\)$/;

/**
 * Symfony's parameter syntax: `%name%` is a parameter, `%%` a literal `%`.
 * A value that is one `%env()%` keeps the processor's type (e.g. `int:`).
 */
function resolveParameters(ctx: Context, value: string, source: string, allowEnv: boolean): unknown {
  if (!value.includes('%')) return value;
  const whole = allowEnv ? WHOLE_ENV.exec(value) : null;
  if (whole?.[1] !== undefined) return resolveEnv(ctx, whole[1], source);

  return value.replace(PARAMETER, (_match, name: string | undefined) => {
    if (name === undefined) return '%';
    if (name === 'kernel.project_dir') return ctx.projectDir;
    const env = allowEnv ? ENV_PARAMETER.exec(name)?.[1] : undefined;
    if (env !== undefined) return String(resolveEnv(ctx, env, source));
    // The name is not quoted: for a raw secret it would be a piece of the secret.
    return optionProblem(
      `${source}: a Symfony parameter in it cannot be resolved; only %kernel.project_dir% and %env(...)% are supported (write %% for a literal %)`,
    );
  });
}

/** `%env(processor:...:NAME)%`: processors apply from the one next to the name outwards, as in Symfony. */
function resolveEnv(ctx: Context, expression: string, source: string): unknown {
  const processors = expression.split(':');
  const name = processors.pop() ?? '';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) optionProblem(`${source}: "${name}" is not an environment variable name`);
  const raw = ctx.env[name];
  if (raw === undefined) optionProblem(`${source}: environment variable ${name} is not set`);

  let value: unknown = raw;
  for (const processor of processors.reverse()) {
    const text = String(value);
    switch (processor) {
      case 'string':
        value = text;
        break;
      case 'resolve':
        // Only parameters, not further %env()%, as Symfony resolves container parameters here.
        value = resolveParameters(ctx, text, source, false);
        break;
      case 'int':
        if (!/^-?\d+$/.test(text.trim())) optionProblem(`${source}: environment variable ${name} is not an integer`);
        value = Number(text.trim());
        break;
      case 'bool': {
        // Symfony: FILTER_VALIDATE_BOOL, else any non-zero number, else false.
        const flag = text.trim().toLowerCase();
        const number = Number(flag);
        value = ['1', 'true', 'on', 'yes'].includes(flag) || (flag !== '' && !Number.isNaN(number) && number !== 0);
        break;
      }
      default:
        optionProblem(`${source}: env processor "${processor}" is not supported (use resolve, int, bool or string)`);
    }
  }
  return value;
}

function merge(ctx: Context, own: Mapping, ownPrefix: string): Mapping {
  const config: Mapping = { ...own };

  // One option set by two bundle keys (Lexik's two places for the algorithm).
  const fromBundles = new Map<string, Assignment>();
  for (const assignment of ctx.explicit) {
    const key = assignment.target.join('.');
    const earlier = fromBundles.get(key);
    if (earlier === undefined) fromBundles.set(key, assignment);
    else if (earlier.value !== assignment.value) conflict(ctx, earlier.source, assignment.source);
  }

  for (const [key, assignment] of fromBundles) {
    const current = read(config, assignment.target);
    if (current === undefined) write(ctx, config, assignment, ownPrefix);
    else if (current !== assignment.value) conflict(ctx, `${ownPrefix}${key}`, assignment.source);
  }

  for (const assignment of ctx.defaults) {
    if (read(config, assignment.target) === undefined) {
      write(ctx, config, assignment, ownPrefix);
    }
  }
  return config;
}

function conflict(ctx: Context, first: string, second: string): void {
  // Values are not quoted: either may be a secret.
  report(ctx, `${first} and ${second} set the same option to different values; keep one`);
}

function read(config: Mapping, target: readonly string[]): unknown {
  let node: unknown = config;
  for (const key of target) {
    if (!isMapping(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/** Sets a nested option, copying the mappings on the way so the parsed document is left as it was. */
function write(ctx: Context, config: Mapping, assignment: Assignment, ownPrefix: string): void {
  const { target, value } = assignment;
  let node = config;
  for (const [index, key] of target.entries()) {
    if (index === target.length - 1) {
      node[key] = value;
      ctx.written.set(target.join('.'), assignment.source);
      return;
    }
    const child = Object.hasOwn(node, key) ? node[key] : {};
    if (!isMapping(child)) {
      report(ctx, `${ownPrefix}${target.slice(0, index + 1).join('.')} must be a mapping`);
      return;
    }
    const copy = { ...child };
    node[key] = copy;
    node = copy;
  }
}
