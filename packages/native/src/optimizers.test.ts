import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { expectClose, nativeForTests, randomArray, useCpuBackend } from '../test-support.js';
import { RefOptimizer, refGradients, type RefOpt } from '../reference.test-support.js';
import { Adam, SgdMomentum, type NativeOptimizer } from './index.js';

const native = nativeForTests();

function setup(seed: number, dims: number[], rows: number) {
  const mlp = native.engine!.createMlp({ inputDim: dims[0], hiddenDims: dims.slice(1, -1), numClasses: dims[dims.length - 1], seed });
  const x = randomArray(rows * dims[0], seed + 1, -2, 2);
  const labels = Int32Array.from({ length: rows }, (_, i) => (i * 5 + seed) % dims[dims.length - 1]);
  return { mlp, x, labels };
}

/** Runs `steps` native train steps and the same steps with tfjs gradients + PyTorch's formulas; compares weights. */
function compare(opt: NativeOptimizer, ref: RefOpt, steps: number, dims = [12, 10, 8, 5], rows = 9) {
  const { mlp, x, labels } = setup(4, dims, rows);
  const refParams = mlp.weights.flatMap((w, l) => [Float32Array.from(w), Float32Array.from(mlp.biases[l])]);
  const refOpt = new RefOptimizer(ref);
  const loss = { softWeight: 0, hardWeight: 1 };
  for (let s = 0; s < steps; s++) {
    const got = mlp.trainStep({ features: x, labels }, loss, opt);
    const want = refGradients(refParams.filter((_, i) => i % 2 === 0), refParams.filter((_, i) => i % 2 === 1), mlp.dims, x, rows, {
      labels, temperature: 1, softWeight: 0, hardWeight: 1, scale: true, kind: 'soft',
    });
    expect(Math.abs(got.total - want.total)).toBeLessThanOrEqual(1e-4 * Math.max(1, want.total));
    refOpt.step(refParams, want.grads);
    mlp.weights.forEach((w, l) => {
      expectClose(w, refParams[2 * l], 1e-5, 1e-6, `step ${s + 1} W${l}`);
      expectClose(mlp.biases[l], refParams[2 * l + 1], 1e-5, 1e-6, `step ${s + 1} b${l}`);
    });
  }
  mlp.dispose();
}

describe.skipIf(native.skipReason !== null)('native optimisers (PyTorch semantics)', () => {
  beforeAll(useCpuBackend);

  it('momentum SGD (fused into sgemm) matches tf.train.momentum over 4 steps', () => {
    const { mlp, x, labels } = setup(2, [12, 10, 8, 5], 9);
    const opt = new SgdMomentum({ learningRate: 0.1, momentum: 0.9 });
    const W = mlp.weights.map((w, l) => tf.variable(tf.tensor2d(Float32Array.from(w), [mlp.dims[l], mlp.dims[l + 1]])));
    const b = mlp.biases.map((v) => tf.variable(tf.tensor1d(Float32Array.from(v))));
    const tfOpt = tf.train.momentum(0.1, 0.9);
    const xt = tf.tensor2d(x, [9, 12]);
    const y = tf.oneHot(tf.tensor1d(labels, 'int32'), 5);
    for (let s = 0; s < 4; s++) {
      const got = mlp.trainStep({ features: x, labels }, { softWeight: 0, hardWeight: 1 }, opt);
      const cost = tfOpt.minimize(() => {
        let h: tf.Tensor2D = xt;
        W.forEach((w, l) => {
          h = tf.add(tf.matMul(h, w), b[l]);
          if (l < W.length - 1) h = tf.relu(h);
        });
        return tf.losses.softmaxCrossEntropy(y, h) as tf.Scalar;
      }, true)!;
      expect(Math.abs(got.total - cost.dataSync()[0])).toBeLessThan(1e-4);
      mlp.weights.forEach((w, l) => expectClose(w, W[l].dataSync(), 1e-5, 1e-6, `step ${s + 1} W${l}`));
      mlp.biases.forEach((v, l) => expectClose(v, b[l].dataSync(), 1e-5, 1e-6, `step ${s + 1} b${l}`));
    }
    expect(opt.steps).toBe(4);
    mlp.dispose();
  });

  it('momentum SGD with weight decay and dampening', () => {
    compare(new SgdMomentum({ learningRate: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.01 }), { kind: 'sgd', lr: 0.05, momentum: 0.8, dampening: 0.3, weightDecay: 0.01, nesterov: false }, 3);
  });

  it('Nesterov momentum', () => {
    compare(new SgdMomentum({ learningRate: 0.05, momentum: 0.9, nesterov: true }), { kind: 'sgd', lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: true }, 3);
  });

  it('plain SGD (momentum 0)', () => {
    compare(new SgdMomentum({ learningRate: 0.2, momentum: 0 }), { kind: 'sgd', lr: 0.2, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false }, 2);
  });

  it('Adam with weight decay', () => {
    compare(new Adam({ learningRate: 0.01, weightDecay: 0.001 }), { kind: 'adam', lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.001 }, 4);
  });

  it('large layers (pooled elementwise passes, partial column sums) match the reference too', () => {
    // 300 x 520 logits and 300 x 300 hidden units exceed the size below which passes stay on one thread.
    compare(new SgdMomentum({ learningRate: 0.05, momentum: 0.9 }), { kind: 'sgd', lr: 0.05, momentum: 0.9, dampening: 0, weightDecay: 0, nesterov: false }, 2, [40, 300, 520], 300);
    // ε = 1e-3: Adam's first step is g/(|g| + ε), ill-conditioned for |g| near float32 noise with a tiny ε.
    compare(new Adam({ learningRate: 0.001, epsilon: 1e-3 }), { kind: 'adam', lr: 0.001, beta1: 0.9, beta2: 0.999, eps: 1e-3, weightDecay: 0 }, 2, [40, 300, 520], 300);
  });

  it('1 and 2 elementwise threads give the same step', () => {
    const engine = native.engine!;
    const before = engine.info().elementwiseThreads;
    const run = (threads: number) => {
      engine.setThreads({ elementwise: threads });
      const { mlp, x, labels } = setup(8, [64, 400, 700], 400);
      const teacherProbs = randomArray(400 * 700, 3, 0, 1);
      const l = mlp.trainStep({ features: x, labels, teacherProbs }, { temperature: 3, softWeight: 1, hardWeight: 0.5 }, new SgdMomentum({ learningRate: 0.01 }));
      mlp.dispose();
      return { l, w: mlp.weights };
    };
    const one = run(1);
    const two = run(2);
    engine.setThreads({ elementwise: before });
    expect(Math.abs(one.l.total - two.l.total)).toBeLessThan(1e-9 + 1e-6 * Math.abs(one.l.total));
    one.w.forEach((w, l) => expectClose(w, two.w[l], 1e-6, 1e-8, `W${l}`));
  });

  it('rejects an optimiser state of another model and bad settings', () => {
    const a = setup(1, [6, 4, 3], 4);
    const b = setup(1, [6, 5, 3], 4);
    const opt = new SgdMomentum({ learningRate: 0.1 });
    a.mlp.trainStep({ features: a.x, labels: a.labels }, { softWeight: 0, hardWeight: 1 }, opt);
    expect(() => b.mlp.trainStep({ features: b.x, labels: b.labels }, { softWeight: 0, hardWeight: 1 }, opt)).toThrow(/another shape/);
    expect(() => new SgdMomentum({ learningRate: -1 })).toThrow(/learningRate/);
    expect(() => new SgdMomentum({ learningRate: 0.1, momentum: 0, nesterov: true })).toThrow(/Nesterov/);
    expect(() => new Adam({ learningRate: 0.1, beta2: 1 })).toThrow(/beta2/);
    a.mlp.dispose();
    b.mlp.dispose();
  });
});
