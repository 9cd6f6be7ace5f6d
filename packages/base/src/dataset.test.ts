import { describe, expect, it } from 'vitest';
import { ArrayDataset } from './dataset.js';
import { Rng } from './rng.js';

function toy(n = 10) {
  const features = Float32Array.from({ length: n * 2 }, (_, i) => i);
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const teacherLogits = Float32Array.from({ length: n * 3 }, (_, i) => i / 10);
  return new ArrayDataset({ features, featureDim: 2, numClasses: 3, labels, teacherLogits, source: 'toy' });
}

describe('ArrayDataset', () => {
  it('gathers rows with their labels, teacher outputs and indices', () => {
    const b = toy().gather(Int32Array.from([3, 0]));
    expect(Array.from(b.features)).toEqual([6, 7, 0, 1]);
    expect(Array.from(b.labels!)).toEqual([0, 0]);
    expect(Array.from(b.indices)).toEqual([3, 0]);
    expect(Array.from(b.teacherLogits!).map((v) => Math.round(v * 10))).toEqual([9, 10, 11, 0, 1, 2]);
  });

  it('visits every example once per epoch in a seeded shuffled order', () => {
    const ds = toy(25);
    const seen = (seed: number) => [...ds.batches({ batchSize: 4, rng: new Rng(seed) })].flatMap((b) => Array.from(b.indices));
    const a = seen(1);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    expect(seen(1)).toEqual(a);
    expect(seen(2)).not.toEqual(a);
    const sizes = [...ds.batches({ batchSize: 4, dropLast: true })].map((b) => b.size);
    expect(sizes).toEqual([4, 4, 4, 4, 4, 4]);
  });

  it('rejects inconsistent arrays with the source and the value', () => {
    expect(() => new ArrayDataset({ features: new Float32Array(5), featureDim: 2, numClasses: 2, source: 'f.bin' })).toThrow(
      /f\.bin: features has 5 values, not a multiple of featureDim 2/,
    );
    expect(
      () => new ArrayDataset({ features: new Float32Array(4), featureDim: 2, numClasses: 2, labels: Int32Array.from([0, 2]) }),
    ).toThrow(/label 2 at example 1 is outside \[0, 2\)/);
    expect(
      () => new ArrayDataset({ features: new Float32Array(4), featureDim: 2, numClasses: 2, softTargets: new Float32Array(3) }),
    ).toThrow(/softTargets has 3 values; expected 2 x 2/);
    expect(() => toy().gather(Int32Array.from([10]))).toThrow(/index 10 out of range/);
  });
});
