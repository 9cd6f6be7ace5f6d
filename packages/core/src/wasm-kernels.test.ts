import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initRuntime } from './runtime.js';
import { Rng } from '@kdasr/base';
import {
  patchWasmMatMulKernels,
  restoreStockWasmMatMulKernels,
  stockWasmKernelFunc,
  wasmMatMulKernelsPatched,
} from './wasm-kernels.js';

const rng = new Rng(7);
function randn(shape: number[]): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = rng.next() * 2 - 1;
  return tf.tensor(v, shape);
}

/** Float64 reference of op(a)·op(b) for 2-D inputs, independent of any tfjs kernel. */
function refMatMul(a: tf.Tensor, b: tf.Tensor, ta: boolean, tb: boolean): Float64Array {
  const [ar, ac] = a.shape;
  const [br, bc] = b.shape;
  const A = a.dataSync();
  const B = b.dataSync();
  const m = ta ? ac : ar;
  const k = ta ? ar : ac;
  const n = tb ? br : bc;
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (ta ? A[p * ac + i] : A[i * ac + p]) * (tb ? B[j * bc + p] : B[p * bc + j]);
      out[i * n + j] = s;
    }
  return out;
}

function maxAbsDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  expect(x.length).toBe(y.length);
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
  return d;
}

/** Runs fn with the stock kernels, then with the patched ones; returns both results as arrays. */
function stockAndPatched(fn: () => tf.Tensor): { stock: Float32Array; patched: Float32Array; shape: number[] } {
  restoreStockWasmMatMulKernels();
  const s = fn();
  patchWasmMatMulKernels();
  const p = fn();
  expect(p.shape).toEqual(s.shape);
  const out = { stock: s.dataSync() as Float32Array, patched: p.dataSync() as Float32Array, shape: p.shape };
  tf.dispose([s, p]);
  return out;
}

// Inputs are U(-1,1) with inner sizes ≤ 64, so outputs are O(5): float32 rounding differences stay below 1e-5
// while a wrong transpose or a dropped bias gives O(1) errors.
const TOL = 3e-5;

describe('patched wasm matMul kernels', () => {
  beforeAll(async () => {
    const info = await initRuntime({ backend: 'wasm' });
    expect(info.backend).toBe('wasm');
    expect(info.patchedKernels).toBe(true);
  });

  it('replace the registered kernels and can be swapped back to the stock ones', () => {
    patchWasmMatMulKernels();
    expect(wasmMatMulKernelsPatched()).toBe(true);
    expect(tf.getKernel('BatchMatMul', 'wasm').kernelFunc).not.toBe(stockWasmKernelFunc('BatchMatMul'));
    expect(tf.getKernel('_FusedMatMul', 'wasm').kernelFunc).not.toBe(stockWasmKernelFunc('_FusedMatMul'));
    restoreStockWasmMatMulKernels();
    expect(wasmMatMulKernelsPatched()).toBe(false);
    expect(tf.getKernel('BatchMatMul', 'wasm').kernelFunc).toBe(stockWasmKernelFunc('BatchMatMul'));
    patchWasmMatMulKernels();
    patchWasmMatMulKernels(); // idempotent
    expect(wasmMatMulKernelsPatched()).toBe(true);
  });

  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`BatchMatMul transposeA=${ta} transposeB=${tb} matches stock and a float64 reference`, () => {
      const [m, k, n] = [37, 53, 29];
      const a = randn(ta ? [k, m] : [m, k]);
      const b = randn(tb ? [n, k] : [k, n]);
      const r = stockAndPatched(() => tf.matMul(a, b, ta, tb));
      expect(r.shape).toEqual([m, n]);
      const ref = refMatMul(a, b, ta, tb);
      expect(maxAbsDiff(r.patched, ref)).toBeLessThan(TOL);
      expect(maxAbsDiff(r.stock, ref)).toBeLessThan(TOL);
      expect(maxAbsDiff(r.patched, r.stock)).toBeLessThan(TOL);
      tf.dispose([a, b]);
    });
  }

  it('batched 3-D matMul with transposes and a broadcast batch dimension matches stock', () => {
    const a = randn([3, 19, 11]); // used transposed: [3, 11, 19]
    const b = randn([1, 23, 19]); // used transposed: [1, 19, 23], broadcast over the batch
    const r = stockAndPatched(() => tf.matMul(a, b, true, true));
    expect(r.shape).toEqual([3, 11, 23]);
    expect(maxAbsDiff(r.patched, r.stock)).toBeLessThan(TOL);
    // Batch 2's block against the 2-D reference.
    const a2 = tf.tidy(() => tf.reshape(tf.slice(a, [2, 0, 0], [1, 19, 11]), [19, 11]));
    const b2 = tf.reshape(b, [23, 19]);
    const ref = refMatMul(a2, b2, true, true);
    expect(maxAbsDiff(r.patched.subarray(2 * 11 * 23), ref)).toBeLessThan(TOL);
    tf.dispose([a, b, a2, b2]);
  });

  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`_FusedMatMul with bias and relu, transposeA=${ta} transposeB=${tb}, matches stock and a reference`, () => {
      const [m, k, n] = [17, 41, 13];
      const a = randn(ta ? [k, m] : [m, k]);
      const b = randn(tb ? [n, k] : [k, n]);
      const bias = randn([n]);
      const fused = (x: tf.Tensor, y: tf.Tensor, tx: boolean, ty: boolean) =>
        tf.fused.matMul({ a: x as tf.Tensor2D, b: y as tf.Tensor2D, transposeA: tx, transposeB: ty, bias, activation: 'relu' });
      const r = stockAndPatched(() => fused(a, b, ta, tb));
      // The stock kernel's untransposed path on pre-transposed inputs: the stock transposed path is wrong with a
      // bias (next test), so this is the stock result to compare with.
      const aT = ta ? tf.transpose(a) : a;
      const bT = tb ? tf.transpose(b) : b;
      const s = stockAndPatched(() => fused(aT, bT, false, false)).stock;
      const mm = refMatMul(a, b, ta, tb);
      const bv = bias.dataSync();
      const ref = mm.map((v, i) => Math.max(0, v + bv[i % n]));
      expect(ref.some((v) => v === 0) && ref.some((v) => v > 0)).toBe(true); // relu actually clips something
      expect(maxAbsDiff(r.patched, ref)).toBeLessThan(TOL);
      expect(maxAbsDiff(r.patched, s)).toBeLessThan(TOL);
      tf.dispose([a, b, bias, aT, bT]);
    });
  }

  it('stock 4.22 _FusedMatMul with a transpose and a bias is wrong (upstream bug the patch avoids)', () => {
    // If this starts failing, tfjs fixed the bug; the patch is still needed for speed.
    const a = randn([41, 17]);
    const b = randn([41, 13]);
    const bias = randn([13]);
    const r = stockAndPatched(() =>
      tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, transposeA: true, bias }),
    );
    const bv = bias.dataSync();
    const ref = refMatMul(a, b, true, false).map((v, i) => v + bv[i % 13]);
    expect(maxAbsDiff(r.patched, ref)).toBeLessThan(TOL);
    expect(maxAbsDiff(r.stock, ref)).toBeGreaterThan(0.1);
    tf.dispose([a, b, bias]);
  });

  it('gradients of a small MLP (fused relu layers, softmax cross-entropy) match the stock kernels', () => {
    const x = randn([32, 20]);
    const labels = tf.oneHot(tf.tensor1d(Array.from({ length: 32 }, (_, i) => i % 5), 'int32'), 5);
    const w1 = tf.variable(tf.mul(randn([20, 24]), 0.3), true, 'kt_w1');
    const b1 = tf.variable(tf.mul(randn([24]), 0.1), true, 'kt_b1');
    const w2 = tf.variable(tf.mul(randn([24, 5]), 0.3), true, 'kt_w2');
    const b2 = tf.variable(tf.mul(randn([5]), 0.1), true, 'kt_b2');
    const loss = () =>
      tf.tidy(() => {
        const h = tf.fused.matMul({ a: x as tf.Tensor2D, b: w1, bias: b1, activation: 'relu' });
        const logits = tf.fused.matMul({ a: h, b: w2, bias: b2 });
        return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
      });
    const grads = () => {
      const { value, grads: g } = tf.variableGrads(loss);
      const out = {
        loss: value.dataSync()[0],
        g: [w1, b1, w2, b2].map((v) => g[v.name].dataSync() as Float32Array),
      };
      tf.dispose([value, ...Object.values(g)]);
      return out;
    };
    restoreStockWasmMatMulKernels();
    const s = grads();
    patchWasmMatMulKernels();
    const p = grads();
    expect(Math.abs(p.loss - s.loss)).toBeLessThan(1e-5);
    for (let i = 0; i < 4; i++) {
      const scale = Math.max(...Array.from(s.g[i], Math.abs));
      expect(scale).toBeGreaterThan(1e-4); // non-trivial gradients
      expect(maxAbsDiff(p.g[i], s.g[i])).toBeLessThan(TOL * Math.max(1, scale));
    }
    // tf.grad through a plain matMul too (BatchMatMul's gradient uses both transposed forms).
    const f = (w: tf.Tensor) => tf.sum(tf.square(tf.matMul(x, w)));
    restoreStockWasmMatMulKernels();
    const gs = tf.grad(f)(w1);
    patchWasmMatMulKernels();
    const gp = tf.grad(f)(w1);
    expect(maxAbsDiff(gp.dataSync(), gs.dataSync())).toBeLessThan(1e-4);
    tf.dispose([x, labels, w1, b1, w2, b2, gs, gp]);
  });

  it('leaks no tensors and no backend buffers', () => {
    patchWasmMatMulKernels();
    const a = randn([2, 31, 17]);
    const b = randn([2, 23, 31]);
    const bias = randn([23]);
    const backend = tf.backend() as unknown as { numDataIds(): number };
    const run = () => {
      tf.tidy(() => {
        tf.matMul(a, b, true, true);
        tf.matMul(a, tf.transpose(b, [0, 2, 1]), true, false);
        tf.fused.matMul({ a: a as tf.Tensor3D, b: b as tf.Tensor3D, transposeA: true, transposeB: true, bias, activation: 'relu' });
      });
    };
    run(); // warm up (first calls may cache XNNPACK operators)
    const tensors = tf.memory().numTensors;
    const ids = backend.numDataIds();
    for (let i = 0; i < 5; i++) run();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(backend.numDataIds()).toBe(ids);
    tf.dispose([a, b, bias]);
  });

  it('takes the fast path: a transposed matMul is several times faster than stock', () => {
    const h = randn([256, 512]);
    const dy = randn([256, 512]);
    const time = () => {
      tf.matMul(h, dy, true, false).dispose(); // warm-up
      const t0 = performance.now();
      for (let i = 0; i < 3; i++) tf.matMul(h, dy, true, false).dataSync();
      return performance.now() - t0;
    };
    restoreStockWasmMatMulKernels();
    const stockMs = time();
    patchWasmMatMulKernels();
    const patchedMs = time();
    // Measured ~30x on an idle machine; 3x leaves room for a busy one.
    expect(patchedMs * 3).toBeLessThan(stockMs);
    tf.dispose([h, dy]);
  });
});
