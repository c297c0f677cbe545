/**
 * "Did you mean" for a mistyped config key: the known key of the same level
 * that is closest to it, compared without case, `_` and `-` (so `ttl_update`
 * finds `ttlUpdate`, and `same_site` finds `sameSite`), by optimal string
 * alignment distance (Levenshtein plus adjacent transpositions, so `tll`
 * finds `ttl`). Null when nothing is close: a wild guess misleads more than
 * no guess.
 *
 * @example
 * closestKey('ttlUpdte', ['ttl', 'ttlUpdate', 'singleUse']); // 'ttlUpdate'
 * closestKey('frobnicate', ['ttl', 'ttlUpdate']); // null
 */
export function closestKey(key: string, known: Iterable<string>): string | null {
  const wanted = normalize(key);
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const normalized = normalize(candidate);
    const distance = editDistance(wanted, normalized);
    // About one edit in three characters: "tll" → "ttl", "windowSecs" → "windowSeconds".
    const allowed = Math.max(1, Math.floor(Math.max(wanted.length, normalized.length) / 3));
    if (distance <= allowed && distance < bestDistance && candidate !== key) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function normalize(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const columns = b.length + 1;
  const table: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: columns }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => table[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i < rows; i += 1) {
    for (let j = 1; j < columns; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) distance = Math.min(distance, at(i - 2, j - 2) + 1);
      table[i]![j] = distance;
    }
  }
  return at(a.length, b.length);
}
