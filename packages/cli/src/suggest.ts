/** "Did you mean ...": the closest known names to a mistyped command or flag (Damerau-Levenshtein distance). */

export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      // A swap of two neighbours counts as one edit (distil -> distill is 1, tarin -> train is 1).
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/** Known names within a third of the typed name's length (at least 2 edits), closest first; a prefix match counts too. */
export function suggest(typed: string, known: Iterable<string>): string[] {
  const limit = Math.max(2, Math.floor(typed.length / 3));
  return [...known]
    .map((k) => ({ k, d: k.startsWith(typed) && typed.length >= 3 ? 0.5 : editDistance(typed, k) }))
    .filter((x) => x.d <= limit)
    .sort((a, b) => a.d - b.d || (a.k < b.k ? -1 : 1))
    .map((x) => x.k);
}

/** ` Did you mean "x"?` or ` Did you mean "x" or "y"?`, or '' when nothing is close. */
export function didYouMean(typed: string, known: Iterable<string>, quote: (s: string) => string = (s) => `"${s}"`): string {
  const s = suggest(typed, known).slice(0, 2);
  return s.length ? ` Did you mean ${s.map(quote).join(' or ')}?` : '';
}
