import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ArrayDataset, Rng, initRuntime } from '@kdasr/core';
import { MlpClassifier } from '@kdasr/distillation';
import { CovarianceAccumulator, correlationFromCovariance, covarianceFromProbabilities, predictionCovariance } from './covariance.js';
import { predictProbabilities } from './predict.js';

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
});

/** Direct two-pass reference: mean first, then centred products, all in float64. */
function twoPass(x: ArrayLike<number>, d: number, ddof = 1): Float64Array {
  const n = x.length / d;
  const mean = new Float64Array(d);
  for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) mean[j] += x[r * d + j] / n;
  const cov = new Float64Array(d * d);
  for (let r = 0; r < n; r++)
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i * d + j] += (x[r * d + i] - mean[i]) * (x[r * d + j] - mean[j]);
  return cov.map((v) => v / (n - ddof));
}

function randomProbs(n: number, c: number, seed: number, scale = 3): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * c);
  for (let r = 0; r < n; r++) {
    const z = Array.from({ length: c }, () => rng.normal(0, scale));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, j) => (out[r * c + j] = v / s));
  }
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('streaming covariance', () => {
  it('matches the two-pass computation for every block size, including uneven ones', () => {
    const c = 7;
    const p = randomProbs(301, c, 1, 4);
    const ref = twoPass(p, c);
    for (const block of [1, 2, 17, 64, 301, 1000]) {
      const r = covarianceFromProbabilities(p, c, { blockRows: block });
      expect(r.count).toBe(301);
      expect(maxAbsDiff(r.covariance, ref)).toBeLessThan(1e-12);
    }
    const pop = covarianceFromProbabilities(p, c, { ddof: 0 });
    expect(maxAbsDiff(pop.covariance, twoPass(p, c, 0))).toBeLessThan(1e-12);
  });

  it('merging accumulators equals accumulating everything in one', () => {
    const c = 5;
    const p = randomProbs(200, c, 2);
    const a = new CovarianceAccumulator(c);
    const b = new CovarianceAccumulator(c);
    a.add(p.subarray(0, 70 * c));
    b.add(p.subarray(70 * c));
    a.merge(b);
    expect(a.count).toBe(200);
    expect(maxAbsDiff(a.covariance(), twoPass(p, c))).toBeLessThan(1e-12);
  });

  it('stays accurate where the one-pass E[xx] - mu mu formula cancels', () => {
    // Values 1e7 + O(1e-3): the naive formula loses everything in float64, the batch-merge form keeps ~1e-9.
    const rng = new Rng(3);
    const d = 3;
    const n = 500;
    const x = Float64Array.from({ length: n * d }, () => 1e7 + rng.normal(0, 1e-3));
    const ref = twoPass(x, d);
    const acc = new CovarianceAccumulator(d);
    for (let s = 0; s < n; s += 32) acc.add(x.subarray(s * d, Math.min(n, s + 32) * d));
    const got = acc.covariance();
    for (let i = 0; i < d * d; i++) expect(Math.abs(got[i] - ref[i])).toBeLessThan(1e-3 * 1e-6);
    // The naive form for comparison: shows the test can tell the difference.
    let sxx = 0;
    let sx = 0;
    for (let r = 0; r < n; r++) {
      sxx += x[r * d] * x[r * d];
      sx += x[r * d];
    }
    const naive = (sxx - (sx * sx) / n) / (n - 1);
    expect(Math.abs(naive - ref[0])).toBeGreaterThan(1e-6);
  });

  it('rejects bad input', () => {
    const acc = new CovarianceAccumulator(3);
    expect(() => acc.add([1, 2])).toThrow(/not .* rows of 3/);
    expect(() => acc.add([1, NaN, 0])).toThrow(/non-finite/);
    expect(() => acc.covariance()).toThrow(/degrees of freedom/);
  });

  it('from a classifier over a BatchSource equals the covariance of its predicted probabilities, without leaking tensors', () => {
    const rng = new Rng(4);
    const n = 150;
    const features = Float32Array.from({ length: n * 6 }, () => rng.normal());
    const ds = new ArrayDataset({ features, featureDim: 6, numClasses: 5 });
    const model = new MlpClassifier({ inputDim: 6, hiddenSizes: [8], numClasses: 5, seed: 1 });
    const before = tf.memory().numTensors;
    const r = predictionCovariance(model, ds, { batchSize: 32, temperature: 2 });
    expect(tf.memory().numTensors).toBe(before);
    const p = predictProbabilities(model, ds, { temperature: 2 }).probs;
    expect(maxAbsDiff(r.covariance, twoPass(p, 5))).toBeLessThan(1e-9);
    const corr = correlationFromCovariance(r.covariance, 5);
    for (let i = 0; i < 5; i++) expect(corr[i * 5 + i]).toBeCloseTo(1, 12);
    model.dispose();
  });
});
