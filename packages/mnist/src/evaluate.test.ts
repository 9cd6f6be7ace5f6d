import { describe, expect, it } from 'vitest';
import { Rng } from '@kdasr/core';
import { countErrors, searchSharedBias } from './evaluate.js';

describe('countErrors', () => {
  it('counts argmax errors overall and per true class, with an optional bias', () => {
    // 3 examples, 3 classes.
    const logits = Float32Array.from([2, 1, 0, 0, 1, 0.5, 0, 0, 3]);
    const labels = [0, 2, 2];
    const e = countErrors(logits, labels, 3);
    expect(e.errors).toBe(1);
    expect(e.perClassErrors).toEqual([0, 0, 1]);
    expect(e.perClassTotal).toEqual([1, 0, 2]);
    expect(countErrors(logits, labels, 3, [0, 0, 0.6]).errors).toBe(0);
    expect(() => countErrors(logits, [0, 1], 3)).toThrow(/9 logits for 2 labels/);
  });
});

describe('searchSharedBias on a toy problem', () => {
  // A classifier that under-predicts class 2 by a known offset: the true logits are shifted by -3 for class 2,
  // as a distilled net that never saw class 2 would be. The search should find about +3.
  function toy(n: number, seed: number, shift: number) {
    const rng = new Rng(seed);
    const c = 4;
    const logits = new Float32Array(n * c);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const y = rng.int(c);
      labels[i] = y;
      for (let j = 0; j < c; j++) logits[i * c + j] = rng.normal(0, 1) + (j === y ? 2.5 : 0) + (j === 2 ? shift : 0);
    }
    return { logits, labels, c };
  }

  it('recovers the offset of one class from a held-out set and it transfers to fresh data', async () => {
    const val = toy(4000, 1, -3);
    const r = await searchSharedBias(val.logits, val.labels, val.c, [2], { min: -2, max: 6, step: 0.25 });
    expect(r.delta).toBeGreaterThan(2.25);
    expect(r.delta).toBeLessThan(3.75);
    expect(r.errors).toBeLessThan(r.errorsAtZero / 2);
    expect(r.curve.length).toBe(33);
    const test = toy(4000, 2, -3);
    const bias = [0, 0, r.delta, 0];
    expect(countErrors(test.logits, test.labels, test.c, bias).errors).toBeLessThan(countErrors(test.logits, test.labels, test.c).errors / 2);
  });

  it('lowers an over-predicted pair of classes with one shared change', async () => {
    const c = 4;
    const base = toy(3000, 3, 0);
    // Classes 1 and 3 get +4: the 7s-and-8s-only transfer set's effect.
    const logits = base.logits.map((v, k) => (k % c === 1 || k % c === 3 ? v + 4 : v));
    const r = await searchSharedBias(logits, base.labels, c, [1, 3], { min: -8, max: 2, step: 0.5 });
    expect(r.delta).toBeLessThanOrEqual(-3);
    expect(r.delta).toBeGreaterThanOrEqual(-5);
  });

  it('prefers no change when none helps, and validates its inputs', async () => {
    const v = toy(1000, 4, 0);
    const r = await searchSharedBias(v.logits, v.labels, v.c, [2], { min: -1, max: 1, step: 0.1 });
    expect(Math.abs(r.delta)).toBeLessThanOrEqual(0.3);
    expect(r.errors).toBeLessThanOrEqual(r.errorsAtZero);
    await expect(searchSharedBias(v.logits, v.labels, v.c, [7], { min: 0, max: 1, step: 0.1 })).rejects.toThrow(/class 7/);
    await expect(searchSharedBias(v.logits, v.labels, v.c, [1], { min: 1, max: 0, step: 0.1 })).rejects.toThrow(/grid/);
  });
});
