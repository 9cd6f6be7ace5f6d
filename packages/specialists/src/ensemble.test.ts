import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ArrayDataset, Rng, initRuntime } from '@kdasr/core';
import { combineWithSpecialists } from './combine.js';
import { SpecialistEnsembleTeacher, combineOnSource } from './ensemble.js';
import { argmaxRow } from './metrics.js';
import { createNet, type Net } from './net.js';
import { predictProbabilities } from './predict.js';

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
});

function setup() {
  const rng = new Rng(3);
  const n = 150;
  const c = 7;
  const d = 5;
  const labels = Int32Array.from({ length: n }, () => rng.int(c));
  const features = Float32Array.from({ length: n * d }, () => rng.normal(0, 2));
  const ds = new ArrayDataset({ features, featureDim: d, numClasses: c, labels });
  const gen = createNet({ engine: 'tfjs', inputDim: d, hiddenSizes: [6], numClasses: c, seed: 1 });
  const subsets = [[0, 3], [3, 4, 5], [6, 1]];
  const specs: Net[] = subsets.map((s, m) => createNet({ engine: 'tfjs', inputDim: d, hiddenSizes: [4], numClasses: s.length + 1, seed: 10 + m }));
  return { ds, gen, subsets, specs, c, n };
}

/** The same combination from full probability matrices (every specialist on every example). */
function reference(ds: ArrayDataset, gen: Net, specs: Net[], subsets: number[][], topN: number, method: 'eq5' | 'arithmetic' | 'geometric') {
  const pg = predictProbabilities(gen.classifier, ds).probs;
  return combineWithSpecialists({
    generalist: pg,
    numClasses: gen.numClasses,
    specialists: specs.map((s, m) => ({ subset: subsets[m], probs: predictProbabilities(s.classifier, ds).probs })),
    topN,
    method,
  });
}

describe('combineOnSource', () => {
  it.each([1, 2])('running specialists only where active gives the full-matrix combination (topN %i)', (topN) => {
    const { ds, gen, subsets, specs, c, n } = setup();
    const r = combineOnSource({
      generalist: gen.classifier,
      specialists: specs.map((s, m) => ({ classifier: s.classifier, subset: subsets[m] })),
      source: ds,
      methods: ['eq5', 'arithmetic', 'geometric'],
      topN,
      batchSize: 32,
    });
    for (const method of ['eq5', 'arithmetic', 'geometric'] as const) {
      const ref = reference(ds, gen, specs, subsets, topN, method);
      const pred = Int32Array.from({ length: n }, (_, i) => argmaxRow(ref.probs, i * c, c));
      expect(Array.from(r.predictions[method]!)).toEqual(Array.from(pred));
      if (method === 'eq5') {
        expect(Array.from(r.active)).toEqual(Array.from(ref.active));
        // (Iteration counts differ: here p_g is float64 from the logits, there float32 probabilities.)
        expect(Array.from(r.eq5Iterations!, (k) => k > 0)).toEqual(Array.from(ref.active, (a) => a > 0));
      }
    }
    expect(Array.from(r.labels)).toEqual(Array.from(ds.labels!));
    // Each active (example, specialist) pair is one specialist row; nothing more was computed.
    expect(r.specialistRows).toBe(r.active.reduce((a, b) => a + b, 0));
    expect(r.specialistRows).toBeLessThan(n * specs.length);
    for (const x of [gen, ...specs]) x.dispose();
  });
});

describe('SpecialistEnsembleTeacher', () => {
  it('gives the Eq. 5 distribution at T = 1, softens it at T, and serves repeats from its cache', () => {
    const { ds, gen, subsets, specs, c, n } = setup();
    const teacher = new SpecialistEnsembleTeacher({
      generalist: gen.classifier,
      specialists: specs.map((s, m) => ({ classifier: s.classifier, subset: subsets[m] })),
      cacheExamples: n,
    });
    expect(teacher.caching).toBe(true);
    const ref = reference(ds, gen, specs, subsets, 1, 'eq5').probs;
    const batch = ds.gather(Int32Array.from({ length: 40 }, (_, i) => 3 * i));
    const before = tf.memory().numTensors;
    const p1 = teacher.probabilities(batch, 1);
    const t1 = p1.dataSync();
    const p2 = teacher.probabilities(batch, 2);
    const t2 = p2.dataSync();
    tf.dispose([p1, p2]);
    expect(tf.memory().numTensors).toBe(before);
    expect(teacher.stats).toEqual({ rowsComputed: 40, rowsCached: 40, notConverged: 0 });
    for (let r = 0; r < 40; r++) {
      const i = 3 * r;
      const q = Array.from(ref.subarray(i * c, (i + 1) * c));
      const soft = q.map((v) => Math.sqrt(v));
      const s = soft.reduce((a, b) => a + b, 0);
      for (let j = 0; j < c; j++) {
        expect(t1[r * c + j]).toBeCloseTo(q[j], 5);
        expect(t2[r * c + j]).toBeCloseTo(soft[j] / s, 5);
      }
    }
    const small = new SpecialistEnsembleTeacher({ generalist: gen.classifier, specialists: [], cacheExamples: n, maxCacheBytes: 10 });
    expect(small.caching).toBe(false);
    expect(() => new SpecialistEnsembleTeacher({ generalist: gen.classifier, specialists: [{ classifier: specs[0].classifier, subset: [0, 1, 2] }] })).toThrow(
      /has 3 outputs for a subset of 3/,
    );
    for (const x of [gen, ...specs]) x.dispose();
  });
});
