// An independent tfjs implementation of the network, its losses (same definitions as @kdasr/distillation) and
// PyTorch's optimiser formulas, for the numerics tests.
import * as tf from '@tensorflow/tfjs-core';

export interface RefLoss {
  labels?: Int32Array;
  probs?: Float32Array;
  teacherLogits?: Float32Array;
  temperature: number;
  softWeight: number;
  hardWeight: number;
  scale: boolean;
  kind: 'soft' | 'kl' | 'logit-matching';
}

export interface RefMasks {
  input?: { mask: Uint8Array; rate: number };
  hidden?: { masks: Uint8Array[]; rate: number };
}

export function refLogits(W: tf.Tensor2D[], b: tf.Tensor1D[], x: tf.Tensor2D, masks: RefMasks = {}): tf.Tensor2D {
  let h: tf.Tensor2D = x;
  if (masks.input) h = tf.mul(h, tf.mul(tf.tensor2d(Float32Array.from(masks.input.mask), x.shape), 1 / (1 - masks.input.rate)));
  W.forEach((w, l) => {
    h = tf.add(tf.matMul(h, w), b[l]);
    if (l < W.length - 1) {
      h = tf.relu(h);
      if (masks.hidden) h = tf.mul(h, tf.mul(tf.tensor2d(Float32Array.from(masks.hidden.masks[l]), h.shape), 1 / (1 - masks.hidden.rate)));
    }
  });
  return h;
}

export function refLossParts(z: tf.Tensor2D, o: RefLoss): { total: tf.Scalar; soft: tf.Scalar; hard: tf.Scalar } {
  const [n, c] = z.shape;
  const T = o.temperature;
  let hard: tf.Scalar = tf.scalar(0);
  const useHard = o.hardWeight > 0 && o.labels !== undefined;
  if (useHard) {
    const labels = tf.tensor1d(o.labels!, 'int32');
    const mask = tf.cast(tf.greaterEqual(labels, 0), 'float32');
    const picked = tf.sum(tf.mul(tf.oneHot(tf.maximum(labels, tf.scalar(0, 'int32')) as tf.Tensor1D, c), tf.logSoftmax(z)), 1);
    hard = tf.div(tf.neg(tf.sum(tf.mul(picked, mask))), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  }
  let soft: tf.Scalar = tf.scalar(0);
  const useSoft = o.softWeight > 0;
  if (useSoft) {
    if (o.kind === 'logit-matching') {
      const v = tf.tensor2d(o.teacherLogits!, [n, c]);
      soft = tf.mul(0.5, tf.mean(tf.sum(tf.square(tf.sub(z, v)), 1))) as tf.Scalar;
    } else {
      const logQ = tf.logSoftmax(tf.div(z, T));
      const p = o.probs ? tf.tensor2d(o.probs, [n, c]) : tf.softmax(tf.div(tf.tensor2d(o.teacherLogits!, [n, c]), T));
      soft = tf.neg(tf.mean(tf.sum(tf.mul(p, logQ), 1))) as tf.Scalar;
      if (o.kind === 'kl') {
        const logP = o.probs ? tf.log(tf.where(tf.greater(p, 0), p, tf.onesLike(p))) : tf.logSoftmax(tf.div(tf.tensor2d(o.teacherLogits!, [n, c]), T));
        soft = tf.add(soft, tf.mean(tf.sum(tf.mul(p, logP), 1))) as tf.Scalar;
      }
    }
  }
  const k = o.scale && o.kind !== 'logit-matching' ? T * T : 1;
  const total = tf.add(useSoft ? tf.mul(soft, o.softWeight * k) : tf.scalar(0), useHard ? tf.mul(hard, o.hardWeight) : tf.scalar(0)) as tf.Scalar;
  return { total, soft, hard };
}

/** Loss parts and gradients [dW0, db0, dW1, ...] at the given weights, by tf.variableGrads. */
export function refGradients(
  weights: Float32Array[],
  biases: Float32Array[],
  dims: number[],
  x: Float32Array,
  rows: number,
  loss: RefLoss,
  masks: RefMasks = {},
): { total: number; soft: number; hard: number; grads: Float32Array[] } {
  return tf.tidy(() => {
    const W = weights.map((w, l) => tf.variable(tf.tensor2d(w, [dims[l], dims[l + 1]])));
    const b = biases.map((v) => tf.variable(tf.tensor1d(v)));
    const xt = tf.tensor2d(x.subarray(0, rows * dims[0]), [rows, dims[0]]);
    let parts: { soft: number; hard: number } = { soft: 0, hard: 0 };
    const { value, grads } = tf.variableGrads(() => {
      const p = refLossParts(refLogits(W as tf.Tensor2D[], b as tf.Tensor1D[], xt, masks), loss);
      parts = { soft: p.soft.dataSync()[0], hard: p.hard.dataSync()[0] };
      return p.total;
    }, [...W, ...b]);
    const order = W.flatMap((w, l) => [grads[w.name], grads[b[l].name]]);
    const out = { total: value.dataSync()[0], ...parts, grads: order.map((g) => Float32Array.from(g.dataSync() as Float32Array)) };
    W.forEach((v) => v.dispose());
    b.forEach((v) => v.dispose());
    return out;
  });
}

export type RefOpt =
  | { kind: 'sgd'; lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean }
  | { kind: 'adam'; lr: number; beta1: number; beta2: number; eps: number; weightDecay: number };

/** PyTorch's update formulas on plain arrays (float64 arithmetic), one parameter at a time. */
export class RefOptimizer {
  private state: Float64Array[][] = [];
  private t = 0;
  constructor(readonly o: RefOpt) {}

  step(params: Float32Array[], grads: Float32Array[]): void {
    this.t++;
    const o = this.o;
    params.forEach((w, p) => {
      const g0 = grads[p];
      if (!this.state[p]) this.state[p] = [new Float64Array(w.length), new Float64Array(w.length)];
      const [s0, s1] = this.state[p];
      for (let i = 0; i < w.length; i++) {
        const g = g0[i] + o.weightDecay * w[i];
        if (o.kind === 'sgd') {
          const v = this.t === 1 ? g : o.momentum * s0[i] + (1 - o.dampening) * g;
          s0[i] = v;
          w[i] -= o.lr * (o.nesterov ? g + o.momentum * v : v);
        } else {
          s0[i] = o.beta1 * s0[i] + (1 - o.beta1) * g;
          s1[i] = o.beta2 * s1[i] + (1 - o.beta2) * g * g;
          const bc1 = 1 - o.beta1 ** this.t;
          const bc2 = 1 - o.beta2 ** this.t;
          w[i] -= (o.lr / bc1) * s0[i] / (Math.sqrt(s1[i]) / Math.sqrt(bc2) + o.eps);
        }
      }
    });
  }
}
