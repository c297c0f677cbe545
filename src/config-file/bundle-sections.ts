import {
  GESDINET,
  GESDINET_COOKIE_OPTIONS,
  GESDINET_IGNORED,
  GESDINET_KEYS,
  GESDINET_OPTIONS,
  LEXIK,
  LEXIK_DEFAULT_ALGORITHM,
  LEXIK_ENCODER_KEYS,
  LEXIK_ENCODER_OPTIONS,
  LEXIK_HINTS,
  LEXIK_KEYS,
  LEXIK_OPTIONS,
  LEXIK_UNMAPPED,
} from './bundle-keys.js';
import { type Context, type Mapping, isMapping, OptionProblem, report, suggestion, type Target } from './reading-context.js';
import { resolveParameters } from './symfony-parameters.js';

/** Symfony treats `section: ~` as an empty section. Anything else but a mapping is reported, and read as empty. */
export function sectionMapping(ctx: Context, value: unknown, path: string): Mapping {
  if (value === null) return {};
  if (!isMapping(value)) {
    report(ctx, `${path} must be a mapping`);
    return {};
  }
  return value;
}

export function readGesdinet(ctx: Context, section: Mapping): void {
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

export function readLexik(ctx: Context, section: Mapping): void {
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
