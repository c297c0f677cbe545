import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parseDocument } from 'yaml';
import { type Context, fail, isMapping, type Mapping } from './reading-context.js';

/** The file's top-level mapping: YAML or JSON by extension, parsed without ever quoting its content in an error. */
export function readDocument(ctx: Context): Mapping {
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
