import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ArrayDataset, Rng, initRuntime, makeSidecar } from '@kdasr/core';
import { distill, predictLogits } from '@kdasr/distillation';
import { loadNativeEngine } from '@kdasr/native';
import { predictionCovariance } from './covariance.js';
import { createNet, loadNet, saveNet } from './net.js';

const dir = mkdtempSync(join(tmpdir(), 'kdasr-net-'));
const native = loadNativeEngine().available;

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function toy(n: number, c: number, d: number, seed: number): ArrayDataset {
  const rng = new Rng(seed);
  const labels = Int32Array.from({ length: n }, () => rng.int(c));
  const features = Float32Array.from({ length: n * d }, (_, i) => rng.normal() + (i % d === labels[Math.floor(i / d)] % d ? 2 : 0));
  return new ArrayDataset({ features, featureDim: d, numClasses: c, labels });
}

describe('Net (either engine)', () => {
  it('tfjs: weights round-trip, output-bias edits, save and load keep the logits', async () => {
    const ds = toy(50, 5, 6, 1);
    const before = tf.memory().numTensors;
    const a = createNet({ engine: 'tfjs', inputDim: 6, hiddenSizes: [7], numClasses: 5, seed: 3 });
    const w = a.getWeights();
    expect(w.kernels.map((k) => k.length)).toEqual([42, 35]);
    const b = createNet({ engine: 'tfjs', inputDim: 6, hiddenSizes: [7], numClasses: 5, seed: 9, weights: w });
    const za = predictLogits(a.classifier, ds).logits;
    expect(Array.from(predictLogits(b.classifier, ds).logits)).toEqual(Array.from(za));
    b.addToOutputBias(2, 1.5);
    const zb = predictLogits(b.classifier, ds).logits;
    for (let r = 0; r < 50; r++)
      for (let j = 0; j < 5; j++) expect(zb[r * 5 + j] - za[r * 5 + j]).toBeCloseTo(j === 2 ? 1.5 : 0, 5);
    await saveNet(b, join(dir, 'tfjs'), makeSidecar('test', {}, 9));
    const { net: back, sidecar } = await loadNet(join(dir, 'tfjs'), 'tfjs');
    expect(sidecar?.kind).toBe('test');
    expect(Array.from(predictLogits(back.classifier, ds).logits)).toEqual(Array.from(zb));
    expect(() => b.setWeights({ kernels: [w.kernels[0]], biases: [w.biases[0]] })).toThrow(/expected 2 layers/);
    for (const n of [a, b, back]) n.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it.skipIf(!native)('native: same weights give the tfjs logits; a native model saves as TF.js and loads on either engine', async () => {
    const ds = toy(60, 4, 5, 2);
    const t = createNet({ engine: 'tfjs', inputDim: 5, hiddenSizes: [8, 6], numClasses: 4, seed: 1 });
    const n = createNet({ engine: 'native', inputDim: 5, hiddenSizes: [8, 6], numClasses: 4, seed: 1, weights: t.getWeights() });
    expect(n.engine).toBe('native');
    const zt = predictLogits(t.classifier, ds).logits;
    const zn = predictLogits(n.classifier, ds).logits;
    for (let i = 0; i < zt.length; i++) expect(zn[i]).toBeCloseTo(zt[i], 4);
    // The covariance of the predictions takes the host path on the native engine and agrees with the tensor one.
    const ct = predictionCovariance(t.classifier, ds, { batchSize: 16, temperature: 2 }).covariance;
    const cn = predictionCovariance(n.classifier, ds, { batchSize: 16, temperature: 2 }).covariance;
    for (let i = 0; i < ct.length; i++) expect(Math.abs(cn[i] - ct[i])).toBeLessThan(1e-6);
    // One epoch of the same SGD on both engines from the same weights stays close.
    const opts = { epochs: 1, batchSize: 20, optimizer: { kind: 'sgd' as const, learningRate: 0.05, momentum: 0 }, seed: 4, progress: false };
    await distill(t.student, undefined, ds, opts);
    await distill(n.student, undefined, ds, opts);
    const at = predictLogits(t.classifier, ds).logits;
    const an = predictLogits(n.classifier, ds).logits;
    for (let i = 0; i < at.length; i++) expect(an[i]).toBeCloseTo(at[i], 3);
    n.addToOutputBias(3, -0.25);
    await saveNet(n, join(dir, 'native'), makeSidecar('test', {}, 1));
    const z = predictLogits(n.classifier, ds).logits;
    for (const engine of ['tfjs', 'native']) {
      const { net } = await loadNet(join(dir, 'native'), engine);
      expect(net.engine).toBe(engine);
      const zl = predictLogits(net.classifier, ds).logits;
      for (let i = 0; i < z.length; i++) expect(zl[i]).toBeCloseTo(z[i], 5);
      net.dispose();
    }
    t.dispose();
    n.dispose();
  });
});
