import type { z } from 'zod';
import { ConfigError } from '../errors.js';
import { closestKey } from '../config/did-you-mean.js';

/** A parsed YAML or JSON mapping. */
export type Mapping = Record<string, unknown>;

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Where a bundle key lands in our options, and how its value is read. */
export interface Target {
  to: readonly string[];
  schema: z.ZodType;
  /** The bundle's null default means "not set" (Lexik's keys and passphrase). */
  nullMeansUnset?: boolean;
  /** Lexik's `pass_phrase` defaults to '' for "no passphrase". */
  emptyMeansUnset?: boolean;
  /** PHP juggles numeric strings (typically from `%env()%`) into integers; so do we. */
  integer?: boolean;
  /** Turns the bundle's value into ours before it is checked (e.g. `same_site: STRICT` into `strict`). */
  transform?: (value: unknown) => unknown;
  /** A fallback, as Lexik's `user_identity_field` is for `user_id_claim`: any key that sets the option wins without a conflict. */
  asDefault?: boolean;
}

export interface Assignment {
  target: readonly string[];
  value: unknown;
  /** Path in the file that set it, for messages. */
  source: string;
}

export interface Context {
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
  /** The environment variables `%env()%` read, so the server does not apply them a second time, unresolved. */
  environmentRead: Set<string>;
}

/** A problem with one option, thrown by the helpers that read a value and caught per option. */
export class OptionProblem extends Error {}

/** A problem that stops the reading at once: the file cannot be read, parsed or understood as a whole. */
export function fail(ctx: Pick<Context, 'file'>, message: string): never {
  throw new ConfigError(`Config file ${ctx.file}: ${message}`);
}

/** A problem with one key; reading goes on so every problem of the file is reported together. */
export function report(ctx: Context, message: string): void {
  ctx.problems.push(message);
}

/** `, did you mean X?` when `key` resembles one of `known`, else nothing. */
export function suggestion(key: string, known: Iterable<string>): string {
  const closest = closestKey(key, known);
  return closest === null ? '' : `, did you mean ${closest}?`;
}

/** Stops reading one option: {@link readOption} reports it and goes on with the next. */
export function optionProblem(message: string): never {
  throw new OptionProblem(message);
}
