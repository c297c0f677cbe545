// What the bench scripts share: reading a numeric setting from the environment, and writing
// their own marked section of docs/benchmarks.md without touching the others.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PAGE = join(resolve(dirname(fileURLToPath(import.meta.url)), '..'), 'docs/benchmarks.md');

/** The environment variable `name` as a non-negative number, or `fallback` when unset or empty. */
export function envNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got ${raw}`);
  return value;
}

/**
 * Replaces the part of docs/benchmarks.md from the `start` marker to the `end` marker with
 * `section` (which holds both markers), or appends `section` at the end of the page.
 */
export function writeBenchmarksSection(start, end, section) {
  const current = existsSync(PAGE) ? readFileSync(PAGE, 'utf8') : '# Benchmarks\n';
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? `${current.slice(0, from)}${section}${current.slice(to + end.length)}`
      : `${current.replace(/\n*$/, '\n')}\n${section}\n`;
  writeFileSync(PAGE, next);
}
