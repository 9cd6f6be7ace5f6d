import * as tf from '@tensorflow/tfjs-core';
import type { BatchSource, Classifier } from '@kdasr/core';

/**
 * Streaming covariance of probability vectors (the generalist's predictions, §5.2 of the paper).
 *
 * Each batch's mean and centred cross-product matrix are computed in float64 and merged into the running state
 * with Chan, Golub & LeVeque's pairwise update (the batch form of Welford):
 *   n = na + nb, δ = μb − μa, μ = μa + δ·nb/n, M2 = M2a + M2b + δδᵀ·na·nb/n.
 * Centring inside each batch before merging avoids the cancellation of the one-pass E[xxᵀ] − μμᵀ formula,
 * which loses most digits for probabilities near 0 or 1. Only the upper triangle is accumulated.
 */
export class CovarianceAccumulator {
  readonly dim: number;
  private n = 0;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;
  // Scratch for one batch, reused across batches.
  private readonly bMean: Float64Array;
  private readonly bM2: Float64Array;
  private centred = new Float64Array(0);

  constructor(dim: number) {
    if (!Number.isInteger(dim) || dim <= 0) throw new Error(`CovarianceAccumulator: dim must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.mean = new Float64Array(dim);
    this.m2 = new Float64Array(dim * dim);
    this.bMean = new Float64Array(dim);
    this.bM2 = new Float64Array(dim * dim);
  }

  get count(): number {
    return this.n;
  }

  /** Add `rows` vectors stored row-major in `values` ([rows, dim]). */
  add(values: ArrayLike<number>, rows = values.length / this.dim): void {
    const d = this.dim;
    if (!Number.isInteger(rows) || rows * d !== values.length)
      throw new Error(`CovarianceAccumulator.add: ${values.length} values is not ${rows} rows of ${d}`);
    if (rows === 0) return;
    const bm = this.bMean;
    bm.fill(0);
    for (let r = 0; r < rows; r++) {
      const o = r * d;
      for (let j = 0; j < d; j++) {
        const v = values[o + j];
        if (!Number.isFinite(v)) throw new Error(`CovarianceAccumulator.add: non-finite value ${v} at row ${r}, column ${j}`);
        bm[j] += v;
      }
    }
    for (let j = 0; j < d; j++) bm[j] /= rows;
    if (this.centred.length < rows * d) this.centred = new Float64Array(rows * d);
    const c = this.centred;
    for (let r = 0; r < rows; r++) for (let j = 0; j < d; j++) c[r * d + j] = values[r * d + j] - bm[j];
    const b2 = this.bM2;
    b2.fill(0);
    for (let r = 0; r < rows; r++) {
      const o = r * d;
      for (let i = 0; i < d; i++) {
        const ci = c[o + i];
        if (ci === 0) continue;
        const row = i * d;
        for (let j = i; j < d; j++) b2[row + j] += ci * c[o + j];
      }
    }
    this.mergeMoments(rows, bm, b2);
  }

  /** Merge another accumulator (e.g. from another worker) into this one. */
  merge(other: CovarianceAccumulator): void {
    if (other.dim !== this.dim) throw new Error(`CovarianceAccumulator.merge: dim ${other.dim} differs from ${this.dim}`);
    if (other.n === 0) return;
    this.mergeMoments(other.n, other.mean, other.m2);
  }

  private mergeMoments(nb: number, mb: Float64Array, m2b: Float64Array): void {
    const d = this.dim;
    const na = this.n;
    const n = na + nb;
    const f = (na * nb) / n;
    for (let i = 0; i < d; i++) {
      const di = mb[i] - this.mean[i];
      const row = i * d;
      for (let j = i; j < d; j++) this.m2[row + j] += m2b[row + j] + di * (mb[j] - this.mean[j]) * f;
    }
    for (let i = 0; i < d; i++) this.mean[i] += (mb[i] - this.mean[i]) * (nb / n);
    this.n = n;
  }

  /** Mean vector (float64 copy). */
  getMean(): Float64Array {
    return Float64Array.from(this.mean);
  }

  /** Full symmetric covariance [dim, dim], divided by n − ddof (ddof 1 = unbiased, 0 = population). */
  covariance(options: { ddof?: number } = {}): Float64Array {
    const ddof = options.ddof ?? 1;
    const denom = this.n - ddof;
    if (!(denom > 0)) throw new Error(`CovarianceAccumulator.covariance: ${this.n} samples with ddof ${ddof} leaves no degrees of freedom`);
    const d = this.dim;
    const out = new Float64Array(d * d);
    for (let i = 0; i < d; i++)
      for (let j = i; j < d; j++) {
        const v = this.m2[i * d + j] / denom;
        out[i * d + j] = v;
        out[j * d + i] = v;
      }
    return out;
  }
}

export interface CovarianceResult {
  /** [numClasses, numClasses] row-major, float64. */
  covariance: Float64Array;
  mean: Float64Array;
  numClasses: number;
  count: number;
}

/** Covariance of stored probability rows ([rows, numClasses]), accumulated in blocks of `blockRows`. */
export function covarianceFromProbabilities(
  probs: ArrayLike<number>,
  numClasses: number,
  options: { blockRows?: number; ddof?: number } = {},
): CovarianceResult {
  if (probs.length % numClasses !== 0) throw new Error(`covarianceFromProbabilities: ${probs.length} values is not a multiple of ${numClasses}`);
  const rows = probs.length / numClasses;
  const block = options.blockRows ?? 256;
  const acc = new CovarianceAccumulator(numClasses);
  const isTyped = ArrayBuffer.isView(probs);
  for (let s = 0; s < rows; s += block) {
    const e = Math.min(rows, s + block);
    const part = isTyped
      ? (probs as unknown as Float32Array).subarray(s * numClasses, e * numClasses)
      : Array.prototype.slice.call(probs, s * numClasses, e * numClasses);
    acc.add(part as ArrayLike<number>, e - s);
  }
  return { covariance: acc.covariance({ ddof: options.ddof }), mean: acc.getMean(), numClasses, count: acc.count };
}

/**
 * Covariance of the classifier's predicted distributions softmax(logits / T) over a data set, one batch at a time
 * (memory: one batch of probabilities plus the C×C state). Dropout is off.
 */
export function predictionCovariance(
  classifier: Classifier,
  source: BatchSource,
  options: { batchSize?: number; temperature?: number; ddof?: number } = {},
): CovarianceResult {
  if (source.featureDim !== classifier.inputDim)
    throw new Error(`predictionCovariance: source featureDim ${source.featureDim} differs from classifier inputDim ${classifier.inputDim}`);
  const t = options.temperature ?? 1;
  if (!(t > 0) || !Number.isFinite(t)) throw new Error(`predictionCovariance: temperature must be positive, got ${t}`);
  const c = classifier.numClasses;
  const acc = new CovarianceAccumulator(c);
  for (const b of source.batches({ batchSize: options.batchSize ?? 256 })) {
    if (classifier.logitsHost) {
      // Engines with a host path (the native one): softmax on the host, no tensors.
      const z = classifier.logitsHost(b.features, b.size);
      const host = new Float64Array(z.length);
      for (let o = 0; o < z.length; o += c) {
        let m = -Infinity;
        for (let j = 0; j < c; j++) m = Math.max(m, z[o + j] / t);
        let s = 0;
        for (let j = 0; j < c; j++) s += host[o + j] = Math.exp(z[o + j] / t - m);
        for (let j = 0; j < c; j++) host[o + j] /= s;
      }
      acc.add(host, b.size);
      continue;
    }
    const p = tf.tidy(() => tf.softmax(tf.div(classifier.logits(tf.tensor2d(b.features, [b.size, b.featureDim]), false), t)));
    const host = p.dataSync() as Float32Array;
    p.dispose();
    acc.add(host, b.size);
  }
  return { covariance: acc.covariance({ ddof: options.ddof }), mean: acc.getMean(), numClasses: c, count: acc.count };
}

/** Correlation matrix from a covariance (zero-variance classes get 0 off-diagonal, 1 on the diagonal). */
export function correlationFromCovariance(cov: Float64Array, dim: number): Float64Array {
  const out = new Float64Array(dim * dim);
  const sd = new Float64Array(dim);
  for (let i = 0; i < dim; i++) sd[i] = Math.sqrt(Math.max(0, cov[i * dim + i]));
  for (let i = 0; i < dim; i++)
    for (let j = 0; j < dim; j++)
      out[i * dim + j] = i === j ? 1 : sd[i] > 0 && sd[j] > 0 ? cov[i * dim + j] / (sd[i] * sd[j]) : 0;
  return out;
}
