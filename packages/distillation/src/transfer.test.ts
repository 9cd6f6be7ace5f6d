import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ArrayDataset, Rng, initRuntime } from '@kdasr/core';
import {
  IndexSubset,
  MlpClassifier,
  ModelTeacher,
  adjustBiases,
  adjustBiasesHost,
  distill,
  frameAccuracy,
  omitClasses,
  searchBiasAdjustment,
  subsetTransferSet,
  unlabelledTransferSet,
  withBiasAdjustment,
} from './index.js';

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
});

function ds(n = 40, classes = 4): ArrayDataset {
  const rng = new Rng(2);
  return new ArrayDataset({
    features: Float32Array.from({ length: n * 3 }, () => rng.normal()),
    featureDim: 3,
    numClasses: classes,
    labels: Int32Array.from({ length: n }, (_, i) => i % classes),
  });
}

describe('transfer sets', () => {
  it('omitClasses drops the listed classes and keeps original example indices', () => {
    const d = ds();
    const s = omitClasses(d, [3]);
    expect(s.size).toBe(30);
    const seen: number[] = [];
    for (const b of s.batches({ batchSize: 7, rng: new Rng(1) })) {
      for (let i = 0; i < b.size; i++) {
        expect(b.labels![i]).not.toBe(3);
        expect(b.indices[i] % 4).toBe(b.labels![i]);
        seen.push(b.indices[i]);
      }
    }
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from(s.indices));
    expect(() => omitClasses(d, [4])).toThrow('class 4 is outside [0, 4)');
    expect(() => omitClasses(d, [0, 1, 2, 3])).toThrow('leaves no examples');
  });

  it('subsetTransferSet is reproducible from its seed and sized by fraction or count', () => {
    const d = ds(100);
    const a = subsetTransferSet(d, { fraction: 0.03, seed: 5 });
    expect(a.size).toBe(3);
    expect(Array.from(subsetTransferSet(d, { fraction: 0.03, seed: 5 }).indices)).toEqual(Array.from(a.indices));
    expect(Array.from(subsetTransferSet(d, { fraction: 0.03, seed: 6 }).indices)).not.toEqual(Array.from(a.indices));
    expect(subsetTransferSet(d, { count: 17, seed: 1 }).size).toBe(17);
    expect(() => subsetTransferSet(d, { fraction: 0, seed: 1 })).toThrow('fraction must be in (0, 1], got 0');
    expect(() => new IndexSubset(d, Int32Array.from([100]))).toThrow('index 100 at position 0');
  });

  it('an unlabelled transfer set trains only the soft term', async () => {
    const d = ds();
    const u = unlabelledTransferSet(d);
    for (const b of u.batches({ batchSize: 40 })) expect(b.labels).toBeUndefined();
    const teacher = new ModelTeacher(new MlpClassifier({ inputDim: 3, hiddenSizes: [], numClasses: 4, seed: 1 }));
    const student = new MlpClassifier({ inputDim: 3, hiddenSizes: [4], numClasses: 4, seed: 2 });
    const r = await distill(student, teacher, u, { epochs: 2, batchSize: 10, optimizer: { kind: 'sgd', learningRate: 0.1 }, progress: false });
    expect(r.history[0].hardLoss).toBe(0);
    // T² = 4 at the default temperature 2, softWeight 1: total = 4 · soft even though hardWeight is 0.5.
    expect(r.history[0].loss).toBeCloseTo(4 * r.history[0].softLoss, 5);
    await expect(
      distill(student, undefined, u, { epochs: 1, batchSize: 10, optimizer: { kind: 'sgd', learningRate: 0.1 }, progress: false }),
    ).rejects.toThrow('supervised training (no teacher) needs labels');
  });
});

describe('bias adjustment', () => {
  it('adds delta to the chosen classes only', () => {
    const z = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const a = adjustBiases(z, [0, 2], 10);
    expect(Array.from(a.dataSync())).toEqual([11, 2, 13, 14, 5, 16]);
    expect(Array.from(adjustBiasesHost(Float32Array.from([1, 2, 3]), 3, [1], -1))).toEqual([1, 1, 3]);
    expect(() => adjustBiases(z, [3], 1)).toThrow('class 3 is outside [0, 3)');
    expect(() => adjustBiases(z, [0], NaN)).toThrow('delta must be finite, got NaN');
    tf.dispose([z, a]);
  });

  it('grid and golden-section searches find the best offset on a held-out split', async () => {
    // A unimodal score peaking at 1.7.
    const f = (d: number) => -((d - 1.7) ** 2);
    const grid = await searchBiasAdjustment({ evaluate: f, candidates: [0, 1, 2, 3] });
    expect(grid.delta).toBe(2);
    expect(grid.tried).toHaveLength(4);
    const golden = await searchBiasAdjustment({ evaluate: f, range: [-5, 5], iterations: 30 });
    expect(golden.delta).toBeCloseTo(1.7, 4);
    const lower = await searchBiasAdjustment({ evaluate: (d) => (d - 1) ** 2, range: [-3, 3], higherIsBetter: false });
    expect(lower.delta).toBeCloseTo(1, 3);
    await expect(searchBiasAdjustment({ evaluate: f, method: 'grid' })).rejects.toThrow('needs a non-empty candidates list');
    await expect(searchBiasAdjustment({ evaluate: () => NaN, candidates: [1] })).rejects.toThrow('evaluate(1) returned NaN');
  });

  it('raising an omitted class bias restores its recall on a held-out split', async () => {
    // Class 2 never appears in training; the student should under-predict it until its bias is raised.
    const rng = new Rng(9);
    const n = 300;
    const centres = [[3, 0], [-3, 0], [0, 3]];
    const mk = (seedOffset: number) => {
      const features = new Float32Array(n * 2);
      const labels = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const c = (i + seedOffset) % 3;
        labels[i] = c;
        features[2 * i] = centres[c][0] + rng.normal(0, 1);
        features[2 * i + 1] = centres[c][1] + rng.normal(0, 1);
      }
      return new ArrayDataset({ features, featureDim: 2, numClasses: 3, labels });
    };
    const train = mk(0);
    const heldOut = mk(1);
    const student = new MlpClassifier({ inputDim: 2, hiddenSizes: [8], numClasses: 3, seed: 3 });
    await distill(student, undefined, omitClasses(train, [2]), { epochs: 10, batchSize: 20, optimizer: { kind: 'adam', learningRate: 0.02 }, progress: false });
    const before = frameAccuracy(student, heldOut);
    const r = await searchBiasAdjustment({
      evaluate: (d) => frameAccuracy(withBiasAdjustment(student, [2], d), heldOut),
      candidates: [0, 2, 4, 6, 8, 10, 12, 16],
    });
    expect(before).toBeLessThan(0.75);
    expect(r.delta).toBeGreaterThan(0);
    expect(r.score).toBeGreaterThan(before + 0.1);
  });
});

describe('teacher construction errors and batch-carried targets', () => {
  it('EnsembleTeacher rejects mismatched members; BatchTargetsTeacher guards the soft-target temperature', async () => {
    const { EnsembleTeacher, BatchTargetsTeacher } = await import('./index.js');
    const m3 = new ModelTeacher(new MlpClassifier({ inputDim: 3, hiddenSizes: [], numClasses: 3 }));
    const m4 = new ModelTeacher(new MlpClassifier({ inputDim: 3, hiddenSizes: [], numClasses: 4 }));
    expect(() => new EnsembleTeacher([m3, m4])).toThrow('member 1 has 4 classes but member 0 has 3');
    expect(() => new EnsembleTeacher([])).toThrow('at least one member');
    const noLogits = new EnsembleTeacher([m3]);
    expect(() => new EnsembleTeacher([noLogits], { combine: 'geometric' })).toThrow('member 0 has no logits()');
    expect(() => new EnsembleTeacher([m3], { combine: 'median' as never })).toThrow("got median");

    const soft = Float32Array.from([0.5, 0.25, 0.25, 0.1, 0.1, 0.8]);
    const d = new ArrayDataset({ features: new Float32Array(6), featureDim: 3, numClasses: 3, softTargets: soft });
    const b = d.gather(Int32Array.from([1]));
    const t = new BatchTargetsTeacher(3, { softTargetsTemperature: 2 });
    const p = t.probabilities(b, 2);
    expect(Array.from(p.dataSync())).toEqual(Array.from(soft.subarray(3)));
    p.dispose();
    expect(() => t.probabilities(b, 1)).toThrow('softTargets were made at temperature 2, asked for 1');
    const withLogits = new ArrayDataset({ features: new Float32Array(3), featureDim: 3, numClasses: 3, teacherLogits: Float32Array.from([0, 0, Math.log(2)]) });
    const q = new BatchTargetsTeacher(3).probabilities(withLogits.gather(Int32Array.from([0])), 1);
    const qd = q.dataSync();
    [0.25, 0.25, 0.5].forEach((x, i) => expect(qd[i]).toBeCloseTo(x, 6));
    q.dispose();
  });
});
