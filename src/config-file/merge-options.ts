import { isDeepStrictEqual } from 'node:util';
import { type Assignment, type Context, isMapping, type Mapping, report } from './reading-context.js';

/**
 * Our own options with the bundles' values laid over where ours say nothing:
 * an option set by two keys to different values is reported, naming both.
 */
export function merge(ctx: Context, own: Mapping, ownPrefix: string): Mapping {
  const config: Mapping = { ...own };

  // One option set by two bundle keys (Lexik's two places for the algorithm).
  const fromBundles = new Map<string, Assignment>();
  for (const assignment of ctx.explicit) {
    const key = assignment.target.join('.');
    const earlier = fromBundles.get(key);
    if (earlier === undefined) fromBundles.set(key, assignment);
    else if (!isDeepStrictEqual(earlier.value, assignment.value)) conflict(ctx, earlier.source, assignment.source);
  }

  for (const [key, assignment] of fromBundles) {
    const current = read(config, assignment.target);
    if (current === undefined) write(ctx, config, assignment, ownPrefix);
    else if (!isDeepStrictEqual(current, assignment.value)) conflict(ctx, `${ownPrefix}${key}`, assignment.source);
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
