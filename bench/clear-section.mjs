// The "jwt-refresh clear on 1,000,000 rows" section of docs/benchmarks.md, merged from
// docs/benchmarks-clear.md (written by bench/clear-million.mjs, one marked subsection per
// store and batch size). Used by bench/run.mjs when it rewrites docs/benchmarks.md.
//
// Merge rule: docs/benchmarks-clear.md is copied as it is (title removed, `##` headings
// demoted to `###`); a `<!-- clear-bench:<kind>:<batch>:begin/end -->` subsection that only
// the previous merge in docs/benchmarks.md has is kept after the file's subsections. Without
// the file, the previous merge is kept verbatim. Figures are never recomputed or
// reformatted here. Without either source: null.
import { existsSync, readFileSync } from 'node:fs';

export const CLEAR_START = '<!-- clear-merge:start -->';
export const CLEAR_END = '<!-- clear-merge:end -->';
const NOTE_END = '<!-- clear-merge:note-end -->';
const SUBSECTION = /<!-- clear-bench:(\S+):begin -->[\s\S]*?<!-- clear-bench:\1:end -->/g;

/** [[key, text]] of every marked subsection, in order. */
function subsections(text) {
  return [...text.matchAll(SUBSECTION)].map((match) => [match[1], match[0]]);
}

/**
 * The merged section (between CLEAR_START and CLEAR_END), or null.
 *
 * @param {string} docPath   docs/benchmarks.md (the previous merge, if any)
 * @param {string} clearPath docs/benchmarks-clear.md
 */
export function clearSection(docPath, clearPath) {
  let previous = null;
  if (existsSync(docPath)) {
    const text = readFileSync(docPath, 'utf8');
    const start = text.indexOf(CLEAR_START);
    const end = text.indexOf(CLEAR_END);
    if (start >= 0 && end > start) previous = text.slice(start + CLEAR_START.length, end);
  }
  const fresh = existsSync(clearPath) ? readFileSync(clearPath, 'utf8') : null;
  if (fresh === null && previous === null) return null;
  if (fresh === null) return `${CLEAR_START}${previous}${CLEAR_END}`;

  // The file as it is, title removed, its `##` headings one level down (they sit under this
  // section's `##`); subsections only the previous merge has (a store not re-run since the file
  // was recreated) go after the file's last subsection.
  let body = fresh
    .replace(/^# [^\n]*\n+/, '')
    .replace(/^## /gm, '### ')
    .trimEnd();
  const freshKeys = new Set(subsections(fresh).map(([key]) => key));
  const missing = previous === null ? [] : subsections(previous).filter(([key]) => !freshKeys.has(key));
  if (missing.length > 0) {
    const all = [...body.matchAll(SUBSECTION)];
    const at = all.length === 0 ? body.length : all.at(-1).index + all.at(-1)[0].length;
    body = `${body.slice(0, at)}\n\n${missing.map(([, text]) => text).join('\n\n')}${body.slice(at)}`;
  }
  return [
    CLEAR_START,
    '_Merged from `docs/benchmarks-clear.md`, written by `node bench/clear-million.mjs sqlite|postgres`',
    '(1,000,000 expired rows; not run by `npm run bench`), copied as it is (headings one level down);',
    '`npm run bench` refreshes this section from that file when it exists and otherwise keeps it._',
    NOTE_END,
    '',
    body,
    CLEAR_END,
  ].join('\n');
}
