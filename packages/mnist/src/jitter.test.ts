import { describe, expect, it } from 'vitest';
import { ArrayDataset, Rng } from '@kdasr/core';
import { JitterSource, shiftImage } from './jitter.js';

const W = 28;
const H = 28;

function randomImages(n: number, seed: number): ArrayDataset {
  const rng = new Rng(seed);
  const f = new Float32Array(n * W * H);
  // Keep a 2-pixel empty border, like MNIST's 20x20 digits in a 28x28 frame, so shifts lose nothing.
  for (let i = 0; i < n; i++)
    for (let y = 2; y < H - 2; y++) for (let x = 2; x < W - 2; x++) f[i * W * H + y * W + x] = rng.next() < 0.3 ? rng.uniform(0.1, 1) : 0;
  return new ArrayDataset({ features: f, featureDim: W * H, numClasses: 10, labels: Int32Array.from({ length: n }, (_, i) => i % 10) });
}

/** The (dx, dy) in [-r, r]^2 that maps a to b exactly, or null. */
function findShift(a: Float32Array, b: Float32Array, r: number): [number, number] | null {
  const tmp = new Float32Array(a.length);
  for (let dy = -r; dy <= r; dy++)
    for (let dx = -r; dx <= r; dx++) {
      shiftImage(a, tmp, W, H, dx, dy);
      if (tmp.every((v, i) => v === b[i])) return [dx, dy];
    }
  return null;
}

describe('shiftImage', () => {
  it('moves a single pixel by (dx, dy) and fills with zeros', () => {
    const a = new Float32Array(W * H);
    a[10 * W + 5] = 1;
    const b = new Float32Array(W * H).fill(9);
    shiftImage(a, b, W, H, 2, -1);
    expect(b[9 * W + 7]).toBe(1);
    expect(b.reduce((s, v) => s + v, 0)).toBe(1);
    shiftImage(a, b, W, H, -6, 0); // off the left edge
    expect(b.every((v) => v === 0)).toBe(true);
  });
});

describe('JitterSource', () => {
  const ds = randomImages(40, 1);

  it('preserves shapes, labels and indices and moves every image by at most 2 pixels', () => {
    const src = new JitterSource(ds, { width: W, height: H, maxShift: 2, seed: 7 });
    const seen = new Set<string>();
    let count = 0;
    for (const b of src.batches({ batchSize: 16 })) {
      expect(b.features.length).toBe(b.size * W * H);
      for (let i = 0; i < b.size; i++) {
        const idx = b.indices[i];
        expect(b.labels![i]).toBe(ds.labels![idx]);
        const orig = ds.features.subarray(idx * W * H, (idx + 1) * W * H);
        const got = b.features.subarray(i * W * H, (i + 1) * W * H);
        const s = findShift(orig, got, 2);
        expect(s, `example ${idx} is not a shift of at most 2 pixels`).not.toBeNull();
        seen.add(s!.join(','));
        // Content is moved, not altered: the pixel mass is unchanged (empty border).
        expect(got.reduce((a, v) => a + v, 0)).toBeCloseTo(orig.reduce((a, v) => a + v, 0), 3);
      }
      count += b.size;
    }
    expect(count).toBe(40);
    // 40 draws from 25 shifts: many distinct shifts, including non-zero ones.
    expect(seen.size).toBeGreaterThan(10);
  });

  it('is deterministic for a seed and differs across seeds and epochs', () => {
    const run = (seed: number) => {
      const src = new JitterSource(ds, { width: W, height: H, maxShift: 2, seed });
      const e1 = [...src.batches({ batchSize: 40 })][0].features;
      const e2 = [...src.batches({ batchSize: 40 })][0].features;
      return [e1, e2];
    };
    const [a1, a2] = run(3);
    const [b1] = run(3);
    const [c1] = run(4);
    expect(Buffer.from(a1.buffer).equals(Buffer.from(b1.buffer))).toBe(true);
    expect(Buffer.from(a1.buffer).equals(Buffer.from(c1.buffer))).toBe(false);
    expect(Buffer.from(a1.buffer).equals(Buffer.from(a2.buffer))).toBe(false);
  });

  it('gives an epoch the same shifts whenever it is replayed with the same shuffling rng (resume)', () => {
    const a = new JitterSource(ds, { width: W, height: H, maxShift: 2, seed: 3 });
    const b = new JitterSource(ds, { width: W, height: H, maxShift: 2, seed: 3 });
    [...b.batches({ batchSize: 40 })]; // b's own stream has moved on; epochs with an rng must not depend on it
    const ea = [...a.batches({ batchSize: 8, rng: new Rng(99) })];
    const eb = [...b.batches({ batchSize: 8, rng: new Rng(99) })];
    expect(ea.map((x) => Array.from(x.indices))).toEqual(eb.map((x) => Array.from(x.indices)));
    ea.forEach((x, i) => expect(Buffer.from(x.features.buffer).equals(Buffer.from(eb[i].features.buffer))).toBe(true));
    const ec = [...a.batches({ batchSize: 8, rng: new Rng(100) })];
    expect(ec.some((x, i) => !Buffer.from(x.features.buffer).equals(Buffer.from(ea[i].features.buffer)))).toBe(true);
  });

  it('draws every shift in [-2, 2]^2 and none outside', () => {
    const src = new JitterSource(ds, { width: W, height: H, maxShift: 2, seed: 11 });
    const { shifts } = src.jitter(ds.gather(Int32Array.from({ length: 40 }, (_, i) => i)));
    const all = new Set<string>();
    for (let k = 0; k < 20; k++) {
      const { shifts: s } = src.jitter(ds.gather(Int32Array.from({ length: 40 }, (_, i) => i)));
      for (let i = 0; i < 40; i++) all.add(`${s[2 * i]},${s[2 * i + 1]}`);
    }
    expect(Math.max(...Array.from(shifts, Math.abs))).toBeLessThanOrEqual(2);
    expect(all.size).toBe(25);
  });

  it('rejects non-image features', () => {
    const flat = new ArrayDataset({ features: new Float32Array(20), featureDim: 10, numClasses: 2 });
    expect(() => new JitterSource(flat, { width: W, height: H, maxShift: 2, seed: 1 })).toThrow(/not 28x28/);
  });
});
