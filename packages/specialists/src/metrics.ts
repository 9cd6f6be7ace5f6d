/**
 * Metrics of §5.4 (Tables 3 and 4).
 *
 * Conditional accuracy. The paper reports, next to the test accuracy, a "conditional test accuracy, which is the
 * accuracy by only considering examples belonging to the specialist classes": top-1 accuracy (the argmax over ALL
 * classes of the generalist, resp. the combined model) restricted to the examples whose correct class is in the
 * subset of at least one specialist. With subsets that partition all classes every example qualifies and it
 * equals the accuracy; it differs when, as for JFT, only some classes have specialists.
 *
 * Table 4 groups test examples by how many specialists' subsets contain the correct class and reports, per group,
 * the number of examples, the change in the number of correct top-1 predictions (combined − generalist) and the
 * relative accuracy change (combined − generalist) / generalist.
 */
import { markdownTable } from 'markdown-table';

export function argmaxRow(p: ArrayLike<number>, offset: number, c: number): number {
  let best = 0;
  let bv = -Infinity;
  for (let j = 0; j < c; j++)
    if (p[offset + j] > bv) {
      bv = p[offset + j];
      best = j;
    }
  return best;
}

export interface CoverageRow {
  /** Number of specialists covering the correct class. */
  specialists: number;
  examples: number;
  generalistCorrect: number;
  combinedCorrect: number;
  /** combinedCorrect − generalistCorrect. */
  deltaCorrect: number;
  /** (combined − generalist accuracy) / generalist accuracy; NaN when the generalist got none right. */
  relativeChange: number;
}

export interface SpecialistMetrics {
  examples: number;
  generalistAccuracy: number;
  combinedAccuracy: number;
  conditional: { examples: number; generalistAccuracy: number; combinedAccuracy: number };
  /** Table 4 rows in increasing order of coverage (only counts that occur). */
  byCoverage: CoverageRow[];
}

/** Accuracy, conditional accuracy and the Table-4 breakdown; labels −1 are skipped. */
export function specialistMetrics(input: {
  labels: Int32Array;
  generalist: ArrayLike<number>;
  combined: ArrayLike<number>;
  numClasses: number;
  subsets: readonly (readonly number[])[];
}): SpecialistMetrics {
  const { labels, numClasses: c } = input;
  const n = labels.length;
  if (input.generalist.length !== n * c || input.combined.length !== n * c)
    throw new Error(`specialistMetrics: expected ${n} x ${c} probabilities for ${n} labels`);
  const gp = Int32Array.from({ length: n }, (_, r) => argmaxRow(input.generalist, r * c, c));
  const cp = Int32Array.from({ length: n }, (_, r) => argmaxRow(input.combined, r * c, c));
  return specialistMetricsFromPredictions({ labels, generalist: gp, combined: cp, numClasses: c, subsets: input.subsets });
}

/** specialistMetrics from top-1 predictions (class indices) instead of distributions. */
export function specialistMetricsFromPredictions(input: {
  labels: Int32Array;
  generalist: Int32Array;
  combined: Int32Array;
  numClasses: number;
  subsets: readonly (readonly number[])[];
}): SpecialistMetrics {
  const { labels, numClasses: c } = input;
  const n = labels.length;
  if (input.generalist.length !== n || input.combined.length !== n)
    throw new Error(`specialistMetrics: expected ${n} predictions for ${n} labels, got ${input.generalist.length} and ${input.combined.length}`);
  const cover = new Int32Array(c);
  for (const s of input.subsets) for (const j of s) cover[j]++;
  const rows = new Map<number, CoverageRow>();
  let total = 0;
  let gc = 0;
  let cc = 0;
  let condN = 0;
  let condG = 0;
  let condC = 0;
  for (let r = 0; r < n; r++) {
    const y = labels[r];
    if (y < 0) continue;
    if (y >= c) throw new Error(`specialistMetrics: label ${y} at ${r} is outside [0, ${c})`);
    const g = input.generalist[r] === y ? 1 : 0;
    const k = input.combined[r] === y ? 1 : 0;
    total++;
    gc += g;
    cc += k;
    if (cover[y] > 0) {
      condN++;
      condG += g;
      condC += k;
    }
    let row = rows.get(cover[y]);
    if (!row) rows.set(cover[y], (row = { specialists: cover[y], examples: 0, generalistCorrect: 0, combinedCorrect: 0, deltaCorrect: 0, relativeChange: 0 }));
    row.examples++;
    row.generalistCorrect += g;
    row.combinedCorrect += k;
  }
  if (total === 0) throw new Error('specialistMetrics: no labelled examples');
  const byCoverage = [...rows.values()]
    .sort((a, b) => a.specialists - b.specialists)
    .map((r) => ({
      ...r,
      deltaCorrect: r.combinedCorrect - r.generalistCorrect,
      relativeChange: r.generalistCorrect > 0 ? (r.combinedCorrect - r.generalistCorrect) / r.generalistCorrect : NaN,
    }));
  return {
    examples: total,
    generalistAccuracy: gc / total,
    combinedAccuracy: cc / total,
    conditional: { examples: condN, generalistAccuracy: condN ? condG / condN : NaN, combinedAccuracy: condN ? condC / condN : NaN },
    byCoverage,
  };
}

/** Table 4 as Markdown (markdown-table; the cells hold numbers and "10 or more", nothing to escape). */
export function formatCoverageTable(rows: readonly CoverageRow[]): string {
  const signed = (v: number, s: string) => `${v >= 0 ? '+' : ''}${s}`;
  return markdownTable(
    [
      ['# of specialists covering', '# of test examples', 'delta in top-1 correct', 'relative accuracy change'],
      ...rows.map((r) => [
        String(r.specialists),
        String(r.examples),
        signed(r.deltaCorrect, String(r.deltaCorrect)),
        Number.isNaN(r.relativeChange) ? 'n/a' : signed(r.relativeChange, `${(100 * r.relativeChange).toFixed(1)}%`),
      ]),
    ],
    { alignDelimiters: false },
  );
}
