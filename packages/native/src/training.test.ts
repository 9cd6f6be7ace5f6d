import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@kdasr/core';
import { nativeForTests, useCpuBackend } from '../test-support.js';
import { SgdMomentum } from './index.js';

const native = nativeForTests();

/** Four Gaussian blobs in 8-D: separable, but not trivially at the start. */
function blobs(n: number, seed: number) {
  const rng = new Rng(seed);
  const centres = Array.from({ length: 4 }, () => Array.from({ length: 8 }, () => rng.normal(0, 1.5)));
  const x = new Float32Array(n * 8);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 4;
    for (let j = 0; j < 8; j++) x[i * 8 + j] = centres[y[i]][j] + rng.normal(0, 0.6);
  }
  return { x, y };
}

function accuracy(logits: Float32Array, y: Int32Array, c: number): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (logits[i * c + j] > logits[i * c + best]) best = j;
    ok += best === y[i] ? 1 : 0;
  }
  return ok / y.length;
}

describe.skipIf(native.skipReason !== null)('short training run: native vs tfjs from the same start', () => {
  beforeAll(useCpuBackend);

  it('reaches the same accuracy and loss trajectory as tfjs (momentum SGD, hard labels)', () => {
    const train = blobs(400, 1);
    const testSet = blobs(800, 1); // same seed, same centres; the first 400 points are the training set, the rest are new
    const mlp = native.engine!.createMlp({ inputDim: 8, hiddenDims: [16], numClasses: 4, seed: 3 });
    const W = mlp.weights.map((w, l) => tf.variable(tf.tensor2d(Float32Array.from(w), [mlp.dims[l], mlp.dims[l + 1]])));
    const b = mlp.biases.map((v) => tf.variable(tf.tensor1d(Float32Array.from(v))));
    const before = accuracy(mlp.predictLogits(testSet.x), testSet.y, 4);
    const opt = new SgdMomentum({ learningRate: 0.05, momentum: 0.9 });
    const tfOpt = tf.train.momentum(0.05, 0.9);
    const order = new Rng(7).permutation(400);
    const nativeLoss: number[] = [];
    const tfLoss: number[] = [];
    for (let epoch = 0; epoch < 5; epoch++) {
      for (let s = 0; s < 400; s += 50) {
        const idx = order.subarray(s, s + 50);
        const xb = new Float32Array(50 * 8);
        const yb = new Int32Array(50);
        idx.forEach((k, r) => {
          xb.set(train.x.subarray(k * 8, k * 8 + 8), r * 8);
          yb[r] = train.y[k];
        });
        nativeLoss.push(mlp.trainStep({ features: xb, labels: yb }, { softWeight: 0, hardWeight: 1 }, opt).total);
        const cost = tfOpt.minimize(() => {
          let h: tf.Tensor2D = tf.tensor2d(xb, [50, 8]);
          W.forEach((w, l) => {
            h = tf.add(tf.matMul(h, w), b[l]);
            if (l < W.length - 1) h = tf.relu(h);
          });
          return tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d(yb, 'int32'), 4), h) as tf.Scalar;
        }, true)!;
        tfLoss.push(cost.dataSync()[0]);
        cost.dispose();
      }
    }
    const nativeAcc = accuracy(mlp.predictLogits(testSet.x), testSet.y, 4);
    const tfLogits = tf.tidy(() => {
      let h: tf.Tensor2D = tf.tensor2d(testSet.x, [800, 8]);
      W.forEach((w, l) => {
        h = tf.add(tf.matMul(h, w), b[l]);
        if (l < W.length - 1) h = tf.relu(h);
      });
      return h.dataSync() as Float32Array;
    });
    const tfAcc = accuracy(tfLogits, testSet.y, 4);
    expect(before).toBeLessThan(0.9);
    expect(nativeAcc).toBeGreaterThan(0.95);
    expect(Math.abs(nativeAcc - tfAcc)).toBeLessThanOrEqual(0.02);
    expect(nativeLoss[nativeLoss.length - 1]).toBeLessThan(nativeLoss[0] / 4);
    nativeLoss.forEach((l, i) => expect(Math.abs(l - tfLoss[i])).toBeLessThan(1e-3 * Math.max(1, tfLoss[i])));
    mlp.dispose();
  });
});

describe.skipIf(native.skipReason !== null)('memory', () => {
  it('no growth of native scratch or RSS across many steps; dispose frees the scratch', () => {
    const engine = native.engine!;
    const base = engine.info();
    const mlp = engine.createMlp({ inputDim: 64, hiddenDims: [256, 256], numClasses: 300, seed: 1, dropout: 0.2 });
    const rows = 128;
    const rng = new Rng(2);
    const x = Float32Array.from({ length: rows * 64 }, () => rng.normal());
    const labels = Int32Array.from({ length: rows }, (_, i) => i % 300);
    const probs = new Float32Array(rows * 300).fill(1 / 300);
    const opt = new SgdMomentum({ learningRate: 0.01 });
    const step = () => mlp.trainStep({ features: x, labels, teacherProbs: probs }, { temperature: 2, softWeight: 0.5, hardWeight: 0.5 }, opt);
    const out = new Float32Array(rows * 300);
    const round = () => {
      for (let i = 0; i < 1000; i++) step();
      for (let i = 0; i < 200; i++) mlp.predictLogits(x, rows, out);
    };
    round(); // warm-up: scratch, optimiser state, V8's heap settle
    const warm = engine.info();
    const rss0 = process.memoryUsage().rss;
    round();
    round();
    const after = engine.info();
    const rssGrowthMb = (process.memoryUsage().rss - rss0) / 2 ** 20;
    expect(after.allocatedBytes).toBe(warm.allocatedBytes);
    expect(after.allocations).toBe(warm.allocations);
    expect(warm.allocatedBytes).toBeGreaterThan(base.allocatedBytes);
    // 2,400 calls: a per-call leak of 10 kB would show as 24 MB.
    expect(rssGrowthMb).toBeLessThan(12);
    mlp.dispose();
    const freed = engine.info();
    // The handle struct and its bias buffer remain until the GC finalises the handle.
    expect(freed.allocatedBytes - base.allocatedBytes).toBeLessThan(8192);
  });
});
