import { z } from 'zod';
import { type Context, isMapping, type Mapping, OptionProblem, report, suggestion, type Target } from './reading-context.js';
import { resolveParameters } from './symfony-parameters.js';

/**
 * What a bundle key does here, and since which bundle version it exists (named
 * in a refusal): mapped onto one of our options (`target`), accepted but
 * ignored with a warning saying what does its job here (`ignored`), or read by
 * its own function (a node with children, a value some of which we refuse).
 */
export type KeySpec = { since: string } & (
  | { target: Target }
  | { ignored: string }
  | { refused: Refusal }
  | { read: (ctx: Context, value: unknown, source: string) => void }
);

/**
 * A bundle key refused at start (see {@link refuse}, with the key's `since`) when
 * its value asks for what we do not support, say `true`; any other value is fine.
 */
export interface Refusal {
  /** Whether the value asks for it; reads the value, reporting it when it is not valid. */
  when: (ctx: Context, value: unknown, source: string) => boolean;
  /** What is not supported, and why. */
  problem: string;
  /** What to do instead. */
  instead: string;
}

/** {@link Refusal.when} of a boolean key: when it is `true`. */
export function whenTrue(ctx: Context, value: unknown, source: string): boolean {
  return readValue(ctx, value, source, z.boolean()) === true;
}

/** {@link Refusal.when} of a node built with `canBeEnabled()` or `canBeDisabled()` (see {@link toggleNode}): when it is on. */
export function whenEnabled(ctx: Context, value: unknown, source: string): boolean {
  return toggleNode(ctx, value, source)?.enabled === true;
}

/**
 * Reads each key of one bundle node by its spec. A key without one is a typo
 * (say `toekn_ttl`) and fails, named with the key of that node it resembles: a
 * silently ignored TTL would be worse than a start-up error.
 */
export function readKeys(ctx: Context, node: Mapping, path: string, specs: ReadonlyMap<string, KeySpec>, bundle: string): void {
  for (const [key, value] of Object.entries(node)) {
    const source = `${path}.${key}`;
    const spec = specs.get(key);
    if (spec === undefined) report(ctx, `${source} is not an option of the ${bundle} bundle${suggestion(key, specs.keys())}`);
    else if ('target' in spec) readOption(ctx, spec.target, value, source);
    else if ('ignored' in spec) ignore(ctx, source, spec.ignored);
    else if ('refused' in spec) {
      if (spec.refused.when(ctx, value, source)) refuse(ctx, source, spec.since, spec.refused.problem, spec.refused.instead);
    } else spec.read(ctx, value, source);
  }
}

/** A bundle key accepted so a pasted file loads, whose job is done otherwise here: a warning naming it, never its value. */
export function ignore(ctx: Context, source: string, hint: string): void {
  ctx.warnings.push(`${source} is ignored: ${hint}`);
}

/**
 * A bundle key (or value) we do not support, refused at start: named with the
 * bundle version that has it and what to do instead, never with its value.
 */
export function refuse(ctx: Context, source: string, since: string, problem: string, instead: string): void {
  report(ctx, `${source} (${since}) ${problem}; instead, ${instead}`);
}

/** Symfony treats `section: ~` as an empty section. Anything else but a mapping is reported, and read as empty. */
export function sectionMapping(ctx: Context, value: unknown, path: string): Mapping {
  if (value === null) return {};
  if (!isMapping(value)) {
    report(ctx, `${path} must be a mapping`);
    return {};
  }
  return value;
}

/**
 * A node built with Symfony's `canBeEnabled()` or `canBeDisabled()`, when it is
 * written (the two differ only when it is not): `true` and `~` turn it on,
 * `false` off, and a mapping without `enabled` is on. Answers whether it is
 * on, and its other keys; null when it is not valid (reported).
 */
export function toggleNode(
  ctx: Context,
  value: unknown,
  source: string,
): { enabled: boolean; explicitlyDisabled: boolean; children: Mapping } | null {
  if (value === null || value === true) return { enabled: true, explicitlyDisabled: false, children: {} };
  if (value === false) return { enabled: false, explicitlyDisabled: true, children: {} };
  const node = resolveValue(ctx, value, source);
  if (typeof node === 'boolean') return { enabled: node, explicitlyDisabled: !node, children: {} };
  if (!isMapping(node)) {
    report(ctx, `${source} must be a mapping or a boolean`);
    return null;
  }
  const { enabled: rawEnabled, ...children } = node;
  if (rawEnabled === undefined) return { enabled: true, explicitlyDisabled: false, children };
  const enabled = readValue(ctx, rawEnabled, `${source}.enabled`, z.boolean());
  if (enabled === undefined) return null;
  return { enabled, explicitlyDisabled: !enabled, children };
}

/** Resolves Symfony parameters in a string value; reports and answers undefined when one cannot be resolved. */
export function resolveValue(ctx: Context, raw: unknown, source: string): unknown {
  if (typeof raw !== 'string') return raw;
  try {
    return resolveParameters(ctx, raw, source, true);
  } catch (error) {
    if (!(error instanceof OptionProblem)) throw error;
    report(ctx, error.message);
    return undefined;
  }
}

/** Resolves and checks one bundle value; reports it under the bundle's path and answers undefined when it is not valid. */
export function readValue<T>(ctx: Context, raw: unknown, source: string, schema: z.ZodType<T>, integer = false): T | undefined {
  let value = resolveValue(ctx, raw, source);
  if (value === undefined) return undefined;
  if (integer && typeof value === 'string' && /^\d+$/.test(value)) value = Number(value);
  const result = schema.safeParse(value);
  if (!result.success) {
    // zod's messages say what was expected without echoing the value.
    report(ctx, `${source}: ${result.error.issues.map((issue) => issue.message).join('; ')}`);
    return undefined;
  }
  return result.data;
}

/** Resolves, converts and validates one bundle value, so a bad one is reported under the bundle's own path. */
export function readOption(ctx: Context, target: Target, raw: unknown, source: string): void {
  if (raw === null && target.nullMeansUnset === true) return;
  let value = resolveValue(ctx, raw, source);
  if (value === undefined) return;
  if (value === '' && target.emptyMeansUnset === true) return;
  if (target.integer === true && typeof value === 'string' && /^\d+$/.test(value)) value = Number(value);
  if (target.transform !== undefined) value = target.transform(value);

  const result = target.schema.safeParse(value);
  if (!result.success) {
    report(ctx, `${source}: ${result.error.issues.map((issue) => issue.message).join('; ')}`);
    return;
  }
  (target.asDefault === true ? ctx.defaults : ctx.explicit).push({ target: target.to, value, source });
}
