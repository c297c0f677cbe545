/**
 * `import 'jwt-refresh'` stays light: the root entry point loads no file-system
 * module and no YAML parser (the config-file reader is `jwt-refresh/config-file`),
 * and no framework or store driver. Observed through a resolve hook in a child
 * process, on the built package, as a user's import meets it.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Every bare or `node:` specifier the import of `entry` resolves, as the hook saw them. */
function specifiersLoadedBy(entry: string): string[] {
  const hooks = `export async function resolve(specifier, context, next) { if (!specifier.startsWith('.') && !specifier.startsWith('file:')) process.stderr.write('LOADED ' + specifier + '\\n'); return next(specifier, context); }`;
  const register = `import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));`;
  const child = spawnSync(
    process.execPath,
    ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '-e', `await import(${JSON.stringify(entry)})`],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  expect(child.status, child.stderr).toBe(0);
  return [...child.stderr.matchAll(/^LOADED (\S+)$/gm)].map((match) => match[1]!);
}

describe('the root import', () => {
  it('loads neither node:fs nor yaml, nor any framework or driver', () => {
    const loaded = specifiersLoadedBy('jwt-refresh');
    expect(loaded).toContain('jose');
    for (const heavy of [
      'yaml',
      'node:fs',
      'fs',
      'node:fs/promises',
      'fastify',
      'express',
      'better-sqlite3',
      'pg',
      'mysql2',
      'ioredis',
      'mongodb',
    ]) {
      expect(loaded, heavy).not.toContain(heavy);
    }
  });

  it('leaves the config-file reader to its own entry point, which does load them', () => {
    const loaded = specifiersLoadedBy('jwt-refresh/config-file');
    expect(loaded).toEqual(expect.arrayContaining(['yaml', 'node:fs']));
  });
});
