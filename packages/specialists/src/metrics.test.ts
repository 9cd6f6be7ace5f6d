import { describe, expect, it } from 'vitest';
import { formatCoverageTable, specialistMetrics } from './metrics.js';

const oneHot = (rows: number[], c: number) => {
  const out = new Float32Array(rows.length * c);
  rows.forEach((k, r) => (out[r * c + k] = 0.9));
  return out;
};

describe('specialistMetrics', () => {
  it('computes accuracy, conditional accuracy and the Table-4 breakdown', () => {
    const c = 5;
    // Subsets: {0,1} and {1,2}: class 1 covered twice, 0 and 2 once, 3 and 4 never.
    const subsets = [
      [0, 1],
      [1, 2],
    ];
    const labels = Int32Array.from([0, 1, 1, 2, 3, 4, -1]);
    const gen = oneHot([0, 0, 1, 0, 3, 0, 0], c); // correct: ex 0, 2, 4
    const comb = oneHot([0, 1, 1, 2, 3, 4, 0], c); // all six correct
    const m = specialistMetrics({ labels, generalist: gen, combined: comb, numClasses: c, subsets });
    expect(m.examples).toBe(6);
    expect(m.generalistAccuracy).toBeCloseTo(3 / 6, 12);
    expect(m.combinedAccuracy).toBeCloseTo(1, 12);
    expect(m.conditional.examples).toBe(4);
    expect(m.conditional.generalistAccuracy).toBeCloseTo(2 / 4, 12);
    expect(m.conditional.combinedAccuracy).toBeCloseTo(1, 12);
    expect(m.byCoverage.map((r) => [r.specialists, r.examples, r.deltaCorrect])).toEqual([
      [0, 2, 1],
      [1, 2, 1],
      [2, 2, 1],
    ]);
    expect(m.byCoverage[2].relativeChange).toBeCloseTo(1, 12);
    const t = formatCoverageTable(m.byCoverage);
    expect(t).toContain('| 2 | 2 | +1 | +100.0% |');
  });

  it('rejects mismatched sizes', () => {
    expect(() => specialistMetrics({ labels: Int32Array.from([0]), generalist: [1, 0], combined: [1], numClasses: 2, subsets: [] })).toThrow(/expected/);
  });
});
