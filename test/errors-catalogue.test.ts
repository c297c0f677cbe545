import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as errors from '../src/errors.js';
import { STATUS_BY_CODE } from '../src/http/error-response.js';

const docs = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const documentedCodes = [...docs.matchAll(/^\| `(ERR_[A-Z_]+)` \| `(\w+)` \| ([^|]+) \|/gm)].map((match) => ({
  code: match[1]!,
  className: match[2]!,
  status: match[3]!.trim(),
}));

describe('error catalogue', () => {
  it('documents every error code with its class and status, and nothing else', () => {
    const codes = Object.keys(STATUS_BY_CODE).sort();
    expect(documentedCodes.map((entry) => entry.code).sort()).toEqual(codes);
    for (const entry of documentedCodes) {
      const status = STATUS_BY_CODE[entry.code as keyof typeof STATUS_BY_CODE];
      expect(entry.status === 'start-up' ? 500 : Number(entry.status)).toBe(status);
      const ErrorClass = (errors as Record<string, unknown>)[entry.className];
      expect(typeof ErrorClass, entry.className).toBe('function');
    }
  });

  it('gives every exported error class a code that the catalogue knows', () => {
    const classes = (Object.values(errors) as unknown[]).filter(
      (value): value is new (...args: never[]) => errors.JwtRefreshError =>
        typeof value === 'function' && value.prototype instanceof errors.JwtRefreshError,
    );
    expect(classes.length).toBe(documentedCodes.length);
    for (const ErrorClass of classes) {
      const instance = Reflect.construct(ErrorClass, ['x']) as errors.JwtRefreshError;
      expect(Object.keys(STATUS_BY_CODE)).toContain(instance.code);
      // jose's convention: the code on the class too, to compare without string literals.
      expect((ErrorClass as unknown as { code: unknown }).code).toBe(instance.code);
      expect(documentedCodes.find((entry) => entry.code === instance.code)?.className).toBe(ErrorClass.name);
      // Logs print `name`: it must say which error this is, not the base class.
      expect(instance.name).toBe(ErrorClass.name);
    }
  });
});
