import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectClose, nativeForTests, randomArray, useCpuBackend } from '../test-support.js';
import { refGradients, type RefLoss } from '../reference.test-support.js';
import type { NativeLossOptions, NativeMlp } from './index.js';

const native = nativeForTests();
const ROWS = 11;
const dims = [23, 17, 13, 9];

function softmaxRows(logits: Float32Array, c: number): Float32Array {
  const p = new Float32Array(logits.length);
  for (let r = 0; r < logits.length / c; r++) {
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, logits[r * c + j]);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(logits[r * c + j] - m);
    for (let j = 0; j < c; j++) p[r * c + j] = Math.exp(logits[r * c + j] - m) / s;
  }
  return p;
}

function data(seed: number) {
  const C = dims[dims.length - 1];
  const x = randomArray(ROWS * dims[0], seed, -2, 2);
  const labels = Int32Array.from({ length: ROWS }, (_, i) => (i % 4 === 3 ? -1 : (i * 7 + seed) % C));
  const teacherLogits = randomArray(ROWS * C, seed + 1, -6, 6);
  const probs = softmaxRows(teacherLogits, C);
  probs[3] = 0; // a zero probability: KL's 0·log 0 = 0
  const s = probs.subarray(0, C).reduce((a, b) => a + b, 0);
  for (let j = 0; j < C; j++) probs[j] /= s;
  return { x, labels, teacherLogits, probs };
}

interface Case {
  name: string;
  loss: NativeLossOptions;
  use: { labels?: boolean; probs?: boolean; teacherLogits?: boolean };
}

const cases: Case[] = [
  { name: 'hard only', loss: { softWeight: 0, hardWeight: 1 }, use: { labels: true } },
  ...[1, 2, 5, 20].map((T) => ({ name: `soft probs T=${T}`, loss: { temperature: T, softWeight: 1, hardWeight: 0 }, use: { probs: true } })),
  ...[1, 2, 5, 20].map((T) => ({ name: `soft teacher logits T=${T}`, loss: { temperature: T, softWeight: 1, hardWeight: 0 }, use: { teacherLogits: true } })),
  ...[1, 2, 5, 20].map((T) => ({ name: `combined T=${T}`, loss: { temperature: T, softWeight: 0.7, hardWeight: 0.3 }, use: { labels: true, probs: true } })),
  { name: 'combined, no T² scale', loss: { temperature: 5, softWeight: 1, hardWeight: 0.5, scaleByTemperatureSquared: false }, use: { labels: true, teacherLogits: true } },
  { name: 'kl from probs T=2', loss: { temperature: 2, softWeight: 1, hardWeight: 0.5, lossKind: 'kl' }, use: { labels: true, probs: true } },
  { name: 'kl from logits T=5', loss: { temperature: 5, softWeight: 1, hardWeight: 0, lossKind: 'kl' }, use: { teacherLogits: true } },
  { name: 'logit matching', loss: { softWeight: 1, hardWeight: 0, lossKind: 'logit-matching' }, use: { teacherLogits: true } },
  { name: 'logit matching + hard', loss: { temperature: 3, softWeight: 0.5, hardWeight: 1, lossKind: 'logit-matching' }, use: { labels: true, teacherLogits: true } },
];

function refLossOf(c: Case, d: ReturnType<typeof data>): RefLoss {
  return {
    labels: c.use.labels ? d.labels : undefined,
    probs: c.use.probs ? d.probs : undefined,
    teacherLogits: c.use.teacherLogits ? d.teacherLogits : undefined,
    temperature: c.loss.temperature ?? 1,
    softWeight: c.loss.softWeight ?? 1,
    hardWeight: c.loss.hardWeight ?? 0.5,
    scale: c.loss.scaleByTemperatureSquared ?? true,
    kind: c.loss.lossKind ?? 'soft',
  };
}

function compareGrads(mlp: NativeMlp, got: { weightGrads: Float32Array[]; biasGrads: Float32Array[] }, want: Float32Array[], what: string) {
  mlp.weights.forEach((_, l) => {
    expectClose(got.weightGrads[l], want[2 * l], 2e-5, 1e-7, `${what}: dW${l}`);
    expectClose(got.biasGrads[l], want[2 * l + 1], 2e-5, 1e-7, `${what}: db${l}`);
  });
}

describe.skipIf(native.skipReason !== null)('native losses and gradients vs tfjs (cpu backend, tf.variableGrads)', () => {
  beforeAll(useCpuBackend);

  it('the engine loads where its prerequisites are installed', () => {
    expect(native.failure).toBeNull();
    expect(native.engine).not.toBeNull();
  });

  it.each(cases)('$name', (c) => {
    const engine = native.engine!;
    const mlp = engine.createMlp({ inputDim: dims[0], hiddenDims: dims.slice(1, -1), numClasses: dims[dims.length - 1], seed: 7 });
    // Non-zero biases so that their gradient path is exercised through a non-trivial forward pass.
    mlp.biases.forEach((b, l) => b.set(randomArray(b.length, 100 + l, -0.3, 0.3)));
    const d = data(3);
    const got = mlp.computeGradients(
      {
        features: d.x,
        labels: c.use.labels ? d.labels : undefined,
        teacherProbs: c.use.probs ? d.probs : undefined,
        teacherLogits: c.use.teacherLogits ? d.teacherLogits : undefined,
      },
      c.loss,
    );
    const want = refGradients(mlp.weights, mlp.biases, mlp.dims, d.x, ROWS, refLossOf(c, d));
    expect(Math.abs(got.loss.total - want.total)).toBeLessThanOrEqual(2e-5 * Math.max(1, Math.abs(want.total)));
    expect(Math.abs(got.loss.soft - want.soft)).toBeLessThanOrEqual(2e-5 * Math.max(1, Math.abs(want.soft)));
    expect(Math.abs(got.loss.hard - want.hard)).toBeLessThanOrEqual(2e-5 * Math.max(1, Math.abs(want.hard)));
    if (c.use.labels) expect(got.loss.labelledRows).toBe(Array.from(d.labels).filter((l) => l >= 0).length);
    compareGrads(mlp, got, want.grads, c.name);
    mlp.dispose();
  });

  it('dropout (input and hidden): gradients equal tfjs with the same masks, and masks drop at the rate', () => {
    const engine = native.engine!;
    const cfg = { inputDim: dims[0], hiddenDims: dims.slice(1, -1), numClasses: dims[dims.length - 1], seed: 11, dropout: 0.4, inputDropout: 0.2 };
    const mlp = engine.createMlp(cfg);
    const d = data(5);
    mlp.setRandomState(42);
    const loss: NativeLossOptions = { temperature: 2, softWeight: 1, hardWeight: 0.5 };
    const got = mlp.computeGradients({ features: d.x, labels: d.labels, teacherProbs: d.probs }, loss);
    const input = engine.dropoutMask(11, 42, 0, ROWS, dims[0], 0.2);
    const hidden = dims.slice(1, -1).map((w, i) => engine.dropoutMask(11, 42, i + 1, ROWS, w, 0.4));
    const want = refGradients(mlp.weights, mlp.biases, mlp.dims, d.x, ROWS, { labels: d.labels, probs: d.probs, temperature: 2, softWeight: 1, hardWeight: 0.5, scale: true, kind: 'soft' }, {
      input: { mask: input, rate: 0.2 },
      hidden: { masks: hidden, rate: 0.4 },
    });
    expect(Math.abs(got.loss.total - want.total)).toBeLessThanOrEqual(2e-5 * Math.max(1, want.total));
    compareGrads(mlp, got, want.grads, 'dropout');
    // Without the masks the gradients differ: the comparison above can fail.
    const noMask = refGradients(mlp.weights, mlp.biases, mlp.dims, d.x, ROWS, { labels: d.labels, probs: d.probs, temperature: 2, softWeight: 1, hardWeight: 0.5, scale: true, kind: 'soft' });
    expect(() => compareGrads(mlp, got, noMask.grads, 'no mask')).toThrow();
    // Mask statistics over a large draw, and a different step gives a different mask.
    const big = engine.dropoutMask(11, 1, 1, 400, 500, 0.3);
    const kept = big.reduce((s, v) => s + v, 0) / big.length;
    expect(Math.abs(kept - 0.7)).toBeLessThan(0.005);
    const other = engine.dropoutMask(11, 2, 1, 400, 500, 0.3);
    let same = 0;
    for (let i = 0; i < big.length; i++) same += big[i] === other[i] ? 1 : 0;
    expect(same / big.length).toBeLessThan(0.65);
    mlp.dispose();
  });

  it('predictLogits equals the tfjs forward pass, across the 4096-row chunk boundary', () => {
    const engine = native.engine!;
    const mlp = engine.createMlp({ inputDim: 31, hiddenDims: [40, 24], numClasses: 12, seed: 3, dropout: 0.5 });
    mlp.biases.forEach((b, l) => b.set(randomArray(b.length, 200 + l)));
    const rows = 4100;
    const x = randomArray(rows * 31, 9, -3, 3);
    const got = mlp.predictLogits(x);
    const want = tf.tidy(() => {
      let h: tf.Tensor2D = tf.tensor2d(x, [rows, 31]);
      mlp.weights.forEach((w, l) => {
        h = tf.add(tf.matMul(h, tf.tensor2d(w, [mlp.dims[l], mlp.dims[l + 1]])), tf.tensor1d(mlp.biases[l]));
        if (l < mlp.weights.length - 1) h = tf.relu(h);
      });
      return h.dataSync() as Float32Array;
    });
    expectClose(got, want, 1e-5, 1e-6, 'logits');
    mlp.dispose();
  });

  it('rejects bad inputs with messages instead of reading out of bounds', () => {
    const mlp = native.engine!.createMlp({ inputDim: 4, hiddenDims: [3], numClasses: 2 });
    expect(() => mlp.predictLogits(new Float32Array(7))).toThrow(/rows of 4/);
    expect(() => mlp.computeGradients({ features: new Float32Array(8), labels: Int32Array.from([0, 2]) }, { softWeight: 0, hardWeight: 1 })).toThrow(/label/);
    expect(() => mlp.computeGradients({ features: new Float32Array(8) }, { softWeight: 1 })).toThrow(/teacherProbs or teacherLogits/);
    expect(() => mlp.computeGradients({ features: new Float32Array(8), teacherProbs: new Float32Array(4) }, { lossKind: 'logit-matching' })).toThrow(/needs teacherLogits/);
    expect(() => mlp.computeGradients({ features: new Float32Array(8), teacherProbs: new Float32Array(3) }, { hardWeight: 0 })).toThrow(/teacher array/);
    expect(() => mlp.computeGradients({ features: new Float32Array(8), labels: Int32Array.from([0, 1]) }, { temperature: 0 })).toThrow(/temperature/);
    mlp.dispose();
    expect(() => mlp.predictLogits(new Float32Array(4))).toThrow(/disposed/);
  });
});
