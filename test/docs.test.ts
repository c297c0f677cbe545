import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfig } from '../src/config/parse-config.js';
import { configSchema } from '../src/config/schema.js';

/**
 * The reference pages stay in step with the code: every option of the schema
 * has a row in docs/configuration.md, and docs/events.md's table lists exactly
 * the events of the event map.
 */

function read(path: string): string {
  return readFileSync(fileURLToPath(new URL(`../${path}`, import.meta.url)), 'utf8');
}

/** Strips the wrappers zod puts around a field (default, prefault, optional, nullable) down to its inner type. */
function unwrap(schema: z.ZodType): z.ZodType {
  let current: z.ZodType = schema;
  for (;;) {
    const inner = (current as { _zod: { def: { innerType?: z.ZodType } } })._zod.def.innerType;
    if (inner === undefined) return current;
    current = inner;
  }
}

/** Dotted paths of every leaf option of an object schema, nested sections included. */
function optionPaths(shape: Record<string, z.ZodType>, prefix = ''): string[] {
  return Object.entries(shape).flatMap(([key, field]) => {
    const inner = unwrap(field);
    return inner instanceof z.ZodObject ? optionPaths(inner.shape as Record<string, z.ZodType>, `${prefix}${key}.`) : [`${prefix}${key}`];
  });
}

/** Dotted paths of the leaves of a plain object (the output of parseConfig). */
function valuePaths(value: Record<string, unknown>, prefix = ''): string[] {
  return Object.entries(value).flatMap(([key, child]) =>
    typeof child === 'object' && child !== null && !Array.isArray(child)
      ? valuePaths(child as Record<string, unknown>, `${prefix}${key}.`)
      : [`${prefix}${key}`],
  );
}

/** The markdown tables of a page: header cells and the rows' cells, pipes escaped as `\|` kept inside cells. */
function tables(markdown: string): Array<{ header: string[]; rows: string[][] }> {
  const result: Array<{ header: string[]; rows: string[][] }> = [];
  let current: { header: string[]; rows: string[][] } | null = null;
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) {
      current = null;
      continue;
    }
    const cells = line
      .trim()
      .replace(/^\|/, '')
      .replace(/\|$/, '')
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim());
    if (current === null) {
      current = { header: cells, rows: [] };
      result.push(current);
    } else if (!cells.every((cell) => /^:?-+:?$/.test(cell))) {
      current.rows.push(cells);
    }
  }
  return result;
}

/** The name in a first-column cell that is exactly one code span, else null. */
function codeName(cell: string | undefined): string | null {
  return /^`([^`]+)`$/.exec(cell ?? '')?.[1] ?? null;
}

/** Keys of an exported TypeScript interface, read from its source (one member per line). */
function interfaceKeys(source: string, name: string): string[] {
  const start = source.indexOf(`export interface ${name} `);
  expect(start, `interface ${name}`).toBeGreaterThanOrEqual(0);
  const end = source.indexOf('\n}', start);
  const body = source.slice(source.indexOf('{', start) + 1, end);
  return [...body.matchAll(/^ {2}(\w+)\??:/gm)].map((match) => match[1]!);
}

describe('docs/configuration.md', () => {
  const page = read('docs/configuration.md');
  const schemaPaths = optionPaths(configSchema.shape as Record<string, z.ZodType>);
  const optionRows = tables(page)
    .filter((table) => table.header[0] === 'option')
    .flatMap((table) => table.rows.map((row) => codeName(row[0])));
  const documented = new Set(optionRows.filter((name): name is string => name !== null));
  const collaborators = interfaceKeys(read('src/create-jwt-refresh.ts'), 'JwtRefreshOptions');

  it('walks the whole schema, optional options and nested sections included', () => {
    for (const path of [
      'ttl',
      'maxSessionLifetime',
      'maxTokensPerUser',
      'pepper',
      'secret',
      'cookie.sameSite',
      'jwt.secretKey',
      'jwt.audience',
      'routes.login',
      'login.passwordField',
    ]) {
      expect(schemaPaths).toContain(path);
    }
    // Every option that has a default shows up in parseConfig's output; the walk must know each of them.
    for (const path of valuePaths(parseConfig({}))) expect(schemaPaths).toContain(path);
    expect(collaborators).toEqual(
      expect.arrayContaining(['store', 'userProvider', 'userChecker', 'passwordHasher', 'now', 'generateToken', 'extractors', 'logger']),
    );
  });

  it('has a row, first column in backticks, for every option path of configSchema', () => {
    const missing = schemaPaths.filter((path) => !documented.has(path));
    expect(missing).toEqual([]);
  });

  it('has a row for every collaborator of createJwtRefresh', () => {
    expect(collaborators.filter((name) => !documented.has(name))).toEqual([]);
  });

  it('documents no option that does not exist', () => {
    const known = new Set([...schemaPaths, ...collaborators]);
    expect(optionRows.filter((name) => name === null || !known.has(name))).toEqual([]);
  });
});

describe('docs/events.md', () => {
  const events = interfaceKeys(read('src/events.ts'), 'JwtRefreshEvents');
  const eventTables = tables(read('docs/events.md')).filter((table) => table.header[0] === 'event');

  it('reads the event map', () => {
    expect(events).toEqual(expect.arrayContaining(['jwtCreated', 'refreshTokenReused', 'refreshTokenRevoked']));
  });

  it('has one table whose first column lists exactly the events of JwtRefreshEvents, once each', () => {
    expect(eventTables).toHaveLength(1);
    const listed = eventTables[0]!.rows.map((row) => codeName(row[0]) ?? `(not a code span: ${row[0] ?? ''})`);
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed.filter((name) => !events.includes(name))).toEqual([]);
    expect(events.filter((name) => !listed.includes(name))).toEqual([]);
  });
});
