/**
 * State priors and posteriors → scaled likelihoods. A hybrid system divides the DNN's posterior p(s|x) by the
 * prior p(s) to get a scaled likelihood p(x|s)/p(x): log p(x|s) ∝ log p(s|x) − priorScale · log p(s).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BatchSource, Classifier, HostBatch, Teacher } from '@kdasr/core';

/** A [frames, pdfs] row-major matrix (decoding's LoglikeMatrix, structurally). */
export interface FrameScores {
  numFrames: number;
  numPdfs: number;
  data: Float32Array;
}

/** Priors from label counts (alignment counts), add-`smoothing` so unseen states keep a finite log prior. */
export function priorsFromCounts(labels: Iterable<Int32Array> | Int32Array, numClasses: number, smoothing = 1): Float64Array {
  const counts = new Float64Array(numClasses).fill(smoothing);
  const lists = labels instanceof Int32Array ? [labels] : labels;
  for (const l of lists)
    for (const c of l) {
      if (c >= numClasses) throw new Error(`priorsFromCounts: label ${c} >= numClasses ${numClasses}; use the inventory the labels were made with`);
      if (c >= 0) counts[c]++;
    }
  const total = counts.reduce((a, b) => a + b, 0);
  if (total <= 0) throw new Error('priorsFromCounts: no labels and no smoothing; pass labelled frames');
  return counts.map((c) => c / total);
}

function isTeacher(m: Classifier | Teacher): m is Teacher {
  return typeof (m as Teacher).probabilities === 'function';
}

function batchOf(x: Float32Array, rows: number, dim: number, numClasses: number, start: number): HostBatch {
  return { size: rows, featureDim: dim, numClasses, features: x, indices: Int32Array.from({ length: rows }, (_, i) => start + i) };
}

/** Posteriors (probabilities, not logs) of a model or teacher for a batch; the caller owns the tensor. */
function probsOf(m: Classifier | Teacher, b: HostBatch): tf.Tensor2D {
  if (isTeacher(m)) return m.probabilities(b, 1);
  return tf.tidy(() => tf.softmax(m.logits(tf.tensor2d(b.features, [b.size, b.featureDim]), false)));
}

/** Average-posterior priors: the mean of the model's posteriors over a source (no alignment needed). */
export function priorsFromPosteriors(model: Classifier | Teacher, source: BatchSource, batchSize = 512): Float64Array {
  const sum = new Float64Array(source.numClasses);
  let n = 0;
  for (const b of source.batches({ batchSize })) {
    const m = tf.tidy(() => tf.sum(probsOf(model, b), 0));
    const v = m.dataSync();
    m.dispose();
    for (let c = 0; c < sum.length; c++) sum[c] += v[c];
    n += b.size;
  }
  if (n === 0) throw new Error('priorsFromPosteriors: empty source');
  return sum.map((s) => s / n);
}

/** Per-frame log posteriors of one utterance's spliced input [T, inputDim] (log-softmax; teachers at T = 1). */
export function logPosteriors(model: Classifier | Teacher, input: { data: Float32Array; numFrames: number; numCols: number }, batchSize = 1024): FrameScores {
  const C = model.numClasses;
  const out = new Float32Array(input.numFrames * C);
  for (let a = 0; a < input.numFrames; a += batchSize) {
    const rows = Math.min(batchSize, input.numFrames - a);
    const b = batchOf(input.data.subarray(a * input.numCols, (a + rows) * input.numCols), rows, input.numCols, C, a);
    if (!isTeacher(model) && model.logitsHost) {
      // Host fast path (native engine): log-softmax in place, no tensors.
      const z = model.logitsHost(b.features, rows);
      logSoftmaxRows(z, rows, C);
      out.set(z, a * C);
      continue;
    }
    const lp = tf.tidy(() => {
      if (isTeacher(model)) return tf.log(tf.maximum(model.probabilities(b, 1), 1e-30));
      return tf.logSoftmax(model.logits(tf.tensor2d(b.features, [rows, b.featureDim]), false));
    });
    out.set(lp.dataSync(), a * C);
    lp.dispose();
  }
  return { numFrames: input.numFrames, numPdfs: C, data: out };
}

/** Row-wise log-softmax of a [rows, C] row-major matrix, in place. */
export function logSoftmaxRows(z: Float32Array, rows: number, C: number): Float32Array {
  for (let i = 0; i < rows; i++) {
    const o = i * C;
    let m = -Infinity;
    for (let c = 0; c < C; c++) if (z[o + c] > m) m = z[o + c];
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(z[o + c] - m);
    const lse = m + Math.log(s);
    for (let c = 0; c < C; c++) z[o + c] -= lse;
  }
  return z;
}

/** log p(s|x) − priorScale · log p(s) (decoding's posteriorsToLoglikes does the same on LoglikeMatrix). */
export function scaledLoglikes(logPost: FrameScores, priors: ArrayLike<number>, priorScale = 1): FrameScores {
  if (priors.length !== logPost.numPdfs) throw new Error(`scaledLoglikes: ${priors.length} priors for ${logPost.numPdfs} pdfs`);
  const lp = Float64Array.from(priors, (p) => Math.log(Math.max(p, 1e-30)));
  const out = new Float32Array(logPost.data.length);
  for (let i = 0; i < out.length; i++) out[i] = logPost.data[i] - priorScale * lp[i % logPost.numPdfs];
  return { ...logPost, data: out };
}
