import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ArrayDataset, Rng, initRuntime } from '@kdasr/core';
import { MlpClassifier, predictLogits } from '@kdasr/distillation';
import {
  SpecialistBatchSource,
  dustbinLogitOffset,
  parseSpecialistConfig,
  specialistFromGeneralist,
  specialistView,
  trainSpecialist,
} from './specialist.js';

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
});

function toyData(n: number, c: number, d: number, seed: number): ArrayDataset {
  const rng = new Rng(seed);
  const labels = Int32Array.from({ length: n }, () => rng.int(c));
  const features = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) features[i * d + j] = rng.normal() + (j % c === labels[i] ? 2 : 0);
  return new ArrayDataset({ features, featureDim: d, numClasses: c, labels });
}

function lse(v: number[]): number {
  const m = Math.max(...v);
  return m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0));
}

describe('specialistFromGeneralist', () => {
  it('copies hidden layers and subset output units; the dustbin is the Jensen bound of the rest', () => {
    const ds = toyData(40, 6, 8, 1);
    const g = new MlpClassifier({ inputDim: 8, hiddenSizes: [10, 7], numClasses: 6, seed: 2 });
    const subset = [4, 1];
    const before = tf.memory().numTensors;
    const s = specialistFromGeneralist(g, subset);
    const zg = predictLogits(g, ds);
    const zs = predictLogits(s, ds);
    expect(zs.numClasses).toBe(3);
    for (let r = 0; r < ds.size; r++) {
      const gr = Array.from(zg.logits.subarray(r * 6, r * 6 + 6));
      expect(zs.logits[r * 3]).toBeCloseTo(gr[4], 4);
      expect(zs.logits[r * 3 + 1]).toBeCloseTo(gr[1], 4);
      const rest = [0, 2, 3, 5].map((j) => gr[j]);
      // log N + mean(z_rest) <= logsumexp(z_rest), equality iff equal logits.
      expect(zs.logits[r * 3 + 2]).toBeCloseTo(Math.log(4) + rest.reduce((a, b) => a + b, 0) / 4, 4);
      expect(zs.logits[r * 3 + 2]).toBeLessThanOrEqual(lse(rest) + 1e-5);
    }
    // Independent variables: changing the specialist does not touch the generalist.
    const v = s.trainableVariables()[0];
    tf.tidy(() => v.assign(tf.zerosLike(v)));
    expect(Math.abs(g.trainableVariables()[0].dataSync()[0])).toBeGreaterThan(0);
    s.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(() => specialistFromGeneralist(g, [0, 1, 2, 3, 4, 5])).toThrow(/every class/);
    g.dispose();
  });
});

describe('SpecialistBatchSource', () => {
  it('draws half of each batch from the subset, remaps labels, and is reproducible', () => {
    const ds = toyData(500, 10, 4, 3);
    const subset = [2, 7];
    const src = new SpecialistBatchSource(ds, subset, { seed: 5 });
    const inCount = Array.from(ds.labels!).filter((l) => l === 2 || l === 7).length;
    expect(src.size).toBe(2 * inCount);
    expect(src.priorInSubset).toBeCloseTo(inCount / 500, 12);
    expect(src.numClasses).toBe(3);
    const batches = [...src.batches({ batchSize: 32 })];
    expect(batches.reduce((s, b) => s + b.size, 0)).toBe(src.size);
    for (const b of batches) {
      const nIn = Array.from(b.labels!).filter((l) => l < 2).length;
      expect(nIn).toBe(Math.round(b.size / 2));
      for (let i = 0; i < b.size; i++) {
        const orig = ds.labels![b.indices[i]];
        expect(b.labels![i]).toBe(orig === 2 ? 0 : orig === 7 ? 1 : 2);
      }
    }
    const again = [...src.batches({ batchSize: 32 })];
    expect(Array.from(again[3].indices)).toEqual(Array.from(batches[3].indices));
    const other = [...src.batches({ batchSize: 32, rng: new Rng(99) })];
    expect(Array.from(other[0].indices)).not.toEqual(Array.from(batches[0].indices));
    // The natural-proportion view relabels without resampling.
    const view = specialistView(ds, subset);
    const vb = [...view.batches({ batchSize: 1000 })][0];
    expect(vb.size).toBe(500);
    expect(Array.from(vb.labels!).filter((l) => l < 2).length).toBe(inCount);
  });
});

describe('dustbin correction', () => {
  it('undoes the resampling prior by Bayes rule (or the paper form)', () => {
    // Training 50/50, data 10% subset: odds of dustbin vs subset change from 1 to 9.
    expect(dustbinLogitOffset(0.1, 0.5, 'prior-ratio')).toBeCloseTo(Math.log(9), 12);
    expect(dustbinLogitOffset(0.1, 0.5, 'paper')).toBeCloseTo(Math.log(5), 12);
    expect(dustbinLogitOffset(0.1, 0.5, 'none')).toBe(0);
    expect(() => dustbinLogitOffset(0, 0.5, 'paper')).toThrow(/priorInSubset/);
  });

  it('trainSpecialist raises the dustbin logit by exactly the offset after training, without leaking tensors', async () => {
    const ds = toyData(400, 8, 8, 4);
    const g = new MlpClassifier({ inputDim: 8, hiddenSizes: [12], numClasses: 8, seed: 1 });
    const before = tf.memory().numTensors;
    const config = {
      subset: [1, 5],
      seed: 3,
      training: { epochs: 2, batchSize: 32, optimizer: { kind: 'adam' as const, learningRate: 0.01 } },
    };
    const withOffset = await trainSpecialist(g, ds, config);
    const without = await trainSpecialist(g, ds, { ...config, correction: 'none' });
    const inCount = Array.from(ds.labels!).filter((l) => l === 1 || l === 5).length;
    const p = inCount / 400;
    expect(withOffset.priorInSubset).toBeCloseTo(p, 12);
    expect(withOffset.dustbinOffset).toBeCloseTo(Math.log((1 - p) / p), 10);
    expect(without.dustbinOffset).toBe(0);
    expect(withOffset.training.history).toHaveLength(2);
    // Same seed, same data: identical training; the two models differ only in the dustbin logit.
    const a = predictLogits(withOffset.model, ds).logits;
    const b = predictLogits(without.model, ds).logits;
    for (let r = 0; r < 400; r++) {
      expect(a[r * 3] - b[r * 3]).toBeCloseTo(0, 4);
      expect(a[r * 3 + 1] - b[r * 3 + 1]).toBeCloseTo(0, 4);
      expect(a[r * 3 + 2] - b[r * 3 + 2]).toBeCloseTo(withOffset.dustbinOffset, 4);
    }
    withOffset.model.dispose();
    without.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    g.dispose();
  });

  it('validates the serialisable config', () => {
    const base = { subset: [0, 1], training: { epochs: 1, batchSize: 8, optimizer: { kind: 'sgd' as const, learningRate: 0.1 } } };
    const r = parseSpecialistConfig(base, 4);
    expect(r.inSubsetFraction).toBe(0.5);
    expect(r.dustbinInit).toBe('logsumexp-linear');
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(() => parseSpecialistConfig({ ...base, subset: [0, 0] }, 4)).toThrow(/repeated/);
    expect(() => parseSpecialistConfig({ ...base, subset: [9] }, 4)).toThrow(/outside/);
    expect(() => parseSpecialistConfig({ ...base, bogus: 1 } as never, 4)).toThrow(/specialist config/);
  });
});
