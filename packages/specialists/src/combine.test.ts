import { describe, expect, it } from 'vitest';
import { Rng } from '@kdasr/core';
import { arithmeticCombine, combineWithSpecialists, eq5Objective, expandSpecialist, geometricCombine, solveEq5, solveEq5Reduced, type SpecialistTerm } from './combine.js';

function randomDist(rng: Rng, n: number, scale = 1.5): number[] {
  const z = Array.from({ length: n }, () => rng.normal(0, scale));
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Nelder-Mead on the free logits (z_0 = 0), restarted from its own best point until it stops improving. */
function nelderMead(f: (x: number[]) => number, x0: number[], iterations = 1500): number[] {
  let best = x0;
  for (let restart = 0; restart < 4; restart++) {
    const n = best.length;
    let simplex = [best, ...best.map((_, i) => best.map((v, j) => v + (i === j ? 0.5 : 0)))];
    let vals = simplex.map(f);
    for (let it = 0; it < iterations; it++) {
      const order = vals.map((v, i) => i).sort((a, b) => vals[a] - vals[b]);
      simplex = order.map((i) => simplex[i]);
      vals = order.map((i) => vals[i]);
      const centroid = Array.from({ length: n }, (_, j) => simplex.slice(0, n).reduce((s, p) => s + p[j], 0) / n);
      const worst = simplex[n];
      const at = (t: number) => centroid.map((c, j) => c + t * (worst[j] - c));
      const xr = at(-1);
      const fr = f(xr);
      if (fr < vals[0]) {
        const xe = at(-2);
        const fe = f(xe);
        [simplex[n], vals[n]] = fe < fr ? [xe, fe] : [xr, fr];
      } else if (fr < vals[n - 1]) [simplex[n], vals[n]] = [xr, fr];
      else {
        const xc = at(0.5);
        const fc = f(xc);
        if (fc < vals[n]) [simplex[n], vals[n]] = [xc, fc];
        else {
          for (let i = 1; i <= n; i++) {
            simplex[i] = simplex[i].map((v, j) => simplex[0][j] + 0.5 * (v - simplex[0][j]));
            vals[i] = f(simplex[i]);
          }
        }
      }
    }
    const i0 = vals.indexOf(Math.min(...vals));
    best = simplex[i0];
  }
  return best;
}

function softmax(z: number[]): number[] {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

describe('Eq. 5 solver', () => {
  it('equals the arithmetic mean when every model gives a full distribution (closed form)', () => {
    const rng = new Rng(1);
    for (const c of [3, 6, 20]) {
      const all = Array.from({ length: c }, (_, j) => j);
      const pg = randomDist(rng, c);
      const ps = [randomDist(rng, c, 3), randomDist(rng, c, 0.5)];
      const terms: SpecialistTerm[] = ps.map((p) => ({ subset: all, probs: [...p, 0] }));
      for (const preconditioner of ['diagonal', 'none'] as const) {
        const r = solveEq5(pg, terms, { preconditioner, maxIterations: 20000 });
        expect(r.stoppedBy).not.toBe('max-iterations');
        for (let j = 0; j < c; j++) expect(r.q[j]).toBeCloseTo((pg[j] + ps[0][j] + ps[1][j]) / 3, 7);
      }
      // The arithmetic shortcut is exact here too.
      const a = arithmeticCombine(pg, terms);
      for (let j = 0; j < c; j++) expect(a[j]).toBeCloseTo((pg[j] + ps[0][j] + ps[1][j]) / 3, 12);
    }
  });

  it.each([
    { c: 3, subsets: [[0, 1]] },
    { c: 4, subsets: [[1, 2]] },
    { c: 4, subsets: [[0, 1], [1, 2, 3]] },
    { c: 4, subsets: [[3], [0, 2]] },
  ])('matches Nelder-Mead on a $c-class simplex with dustbins ($subsets)', ({ c, subsets }) => {
    const rng = new Rng(10 * c + subsets.length);
    for (let trial = 0; trial < 3; trial++) {
      const pg = randomDist(rng, c, 2);
      const terms = subsets.map((s) => ({ subset: s, probs: randomDist(rng, s.length + 1, 2) }));
      const r = solveEq5(pg, terms);
      expect(r.stoppedBy).toBe('gradient');
      const f = (x: number[]) => eq5Objective(pg, terms, softmax([0, ...x]));
      const x = nelderMead(f, Array.from({ length: c - 1 }, () => 0));
      const qBrute = softmax([0, ...x]);
      expect(r.objective).toBeLessThanOrEqual(f(x) + 1e-10);
      expect(Math.abs(r.objective - eq5Objective(pg, terms, r.q))).toBeLessThan(1e-12);
      for (let j = 0; j < c; j++) expect(Math.abs(r.q[j] - qBrute[j])).toBeLessThan(1e-5);
      // The shortcuts are not the minimiser in general: their objective is no lower.
      expect(eq5Objective(pg, terms, arithmeticCombine(pg, terms))).toBeGreaterThanOrEqual(r.objective - 1e-12);
      expect(eq5Objective(pg, terms, geometricCombine(pg, terms))).toBeGreaterThanOrEqual(r.objective - 1e-12);
    }
  });

  it('plain gradient descent reaches the same optimum as the preconditioned one', () => {
    const rng = new Rng(5);
    const pg = randomDist(rng, 8);
    const terms = [{ subset: [0, 1, 2], probs: randomDist(rng, 4) }];
    const a = solveEq5(pg, terms);
    const b = solveEq5(pg, terms, { preconditioner: 'none', maxIterations: 50000 });
    expect(b.stoppedBy).not.toBe('max-iterations');
    for (let j = 0; j < 8; j++) expect(Math.abs(a.q[j] - b.q[j])).toBeLessThan(1e-6);
    expect(a.iterations).toBeLessThan(b.iterations);
  });

  it('a confident specialist moves mass inside its subset; the dustbin is the sum over the rest', () => {
    const pg = [0.4, 0.35, 0.15, 0.1];
    const terms = [{ subset: [0, 1], probs: [0.05, 0.9, 0.05] }];
    const r = solveEq5(pg, terms);
    expect(r.q[1]).toBeGreaterThan(r.q[0]);
    const e = expandSpecialist(terms[0], pg);
    expect(e[2] + e[3]).toBeCloseTo(0.05, 12);
    expect(e[2] / e[3]).toBeCloseTo(1.5, 12);
  });
});

describe('combineWithSpecialists', () => {
  it('activates only specialists whose subsets meet the generalist top-n', () => {
    const c = 4;
    const generalist = Float32Array.from([0.7, 0.1, 0.1, 0.1, 0.1, 0.25, 0.05, 0.6]);
    const specialists = [
      { subset: [0, 1], probs: Float32Array.from([0.2, 0.7, 0.1, 0.3, 0.3, 0.4]) },
      { subset: [2, 3], probs: Float32Array.from([0.3, 0.3, 0.4, 0.8, 0.1, 0.1]) },
    ];
    const out = combineWithSpecialists({ generalist, numClasses: c, specialists });
    expect(Array.from(out.active)).toEqual([1, 1]);
    expect(out.notConverged).toBe(0);
    // Row 0: specialist 0 (top class 0) only; matches solving with that one term.
    const ref = solveEq5(Array.from(generalist.subarray(0, 4)), [{ subset: [0, 1], probs: Array.from(specialists[0].probs.subarray(0, 3)) }]);
    for (let j = 0; j < c; j++) expect(out.probs[j]).toBeCloseTo(ref.q[j], 9);
    const top2 = combineWithSpecialists({ generalist, numClasses: c, specialists, topN: 2, method: 'geometric' });
    expect(Array.from(top2.active)).toEqual([1, 2]);
    let s = 0;
    for (let j = 0; j < c; j++) s += top2.probs[4 + j];
    expect(s).toBeCloseTo(1, 12);
  });
});

describe('solveEq5Reduced', () => {
  it('lumping the classes outside every active subset gives the full solution', () => {
    const rng = new Rng(11);
    for (let trial = 0; trial < 20; trial++) {
      const c = 6 + rng.int(30);
      const pg = randomDist(rng, c, 2.5);
      const pick = (k: number) => Array.from(rng.permutation(c).subarray(0, k));
      const terms: SpecialistTerm[] = Array.from({ length: 1 + rng.int(3) }, () => {
        const subset = pick(2 + rng.int(3));
        return { subset, probs: randomDist(rng, subset.length + 1, 2.5) };
      });
      const full = solveEq5(pg, terms);
      const red = solveEq5Reduced(pg, terms);
      expect(red.stoppedBy).not.toBe('max-iterations');
      expect(red.q).toHaveLength(c);
      for (let j = 0; j < c; j++) expect(Math.abs(red.q[j] - full.q[j])).toBeLessThan(1e-8);
      expect(Math.abs(eq5Objective(pg, terms, red.q) - full.objective)).toBeLessThan(1e-10);
    }
    // A rest without mass, or nothing left to lump: the full problem is solved.
    const pg0 = [0.5, 0, 0, 0.5];
    const t0 = [{ subset: [0, 3], probs: [0.6, 0.3, 0.1] }];
    expect(Array.from(solveEq5Reduced(pg0, t0).q)).toEqual(Array.from(solveEq5(pg0, t0).q));
    const t1 = [{ subset: [0, 1, 2], probs: [0.6, 0.2, 0.1, 0.1] }];
    expect(Array.from(solveEq5Reduced([0.1, 0.2, 0.3, 0.4], t1).q)).toEqual(Array.from(solveEq5([0.1, 0.2, 0.3, 0.4], t1).q));
  });

  it('combineWithSpecialists gives the same combination with and without the reduction', () => {
    const rng = new Rng(12);
    const c = 40;
    const n = 30;
    const generalist = Float64Array.from({ length: n * c }, () => 0);
    for (let r = 0; r < n; r++) generalist.set(randomDist(rng, c, 2), r * c);
    const specialists = [[0, 1, 2, 3], [3, 4, 5], [10, 11, 12, 13, 14]].map((subset) => {
      const probs = new Float64Array(n * (subset.length + 1));
      for (let r = 0; r < n; r++) probs.set(randomDist(rng, subset.length + 1), r * (subset.length + 1));
      return { subset, probs };
    });
    const a = combineWithSpecialists({ generalist, numClasses: c, specialists, topN: 3 });
    const b = combineWithSpecialists({ generalist, numClasses: c, specialists, topN: 3, reduce: false });
    expect(Array.from(a.active)).toEqual(Array.from(b.active));
    for (let i = 0; i < n * c; i++) expect(Math.abs(a.probs[i] - b.probs[i])).toBeLessThan(1e-8);
  });
});
