import * as tf from '@tensorflow/tfjs-core';
import type { BatchSource, Classifier } from '@kdasr/core';

export interface PredictedLogits {
  /** [numExamples, numClasses] row-major, in the source's natural order. */
  logits: Float32Array;
  numExamples: number;
  numClasses: number;
  /** Example index of each row (from HostBatch.indices). */
  indices: Int32Array;
  /** Labels where the source has them (−1 = unlabelled). */
  labels?: Int32Array;
}

function checkDims(classifier: Classifier, source: BatchSource, where: string): void {
  if (source.featureDim !== classifier.inputDim)
    throw new Error(`${where}: source featureDim ${source.featureDim} differs from classifier inputDim ${classifier.inputDim}`);
}

/** Batched inference (dropout off) to host arrays. */
export function predictLogits(classifier: Classifier, source: BatchSource, options: { batchSize?: number } = {}): PredictedLogits {
  checkDims(classifier, source, 'predictLogits');
  const c = classifier.numClasses;
  const out = new Float32Array(source.size * c);
  const indices = new Int32Array(source.size);
  let labels: Int32Array | undefined;
  let row = 0;
  for (const b of source.batches({ batchSize: options.batchSize ?? 512 })) {
    if (classifier.logitsHost) out.set(classifier.logitsHost(b.features, b.size), row * c);
    else {
      const z = tf.tidy(() => classifier.logits(tf.tensor2d(b.features, [b.size, b.featureDim]), false));
      out.set(z.dataSync(), row * c);
      z.dispose();
    }
    indices.set(b.indices, row);
    if (b.labels) {
      labels ??= new Int32Array(source.size).fill(-1);
      labels.set(b.labels, row);
    }
    row += b.size;
  }
  if (row !== source.size) throw new Error(`predictLogits: source yielded ${row} examples but reports size ${source.size}`);
  return { logits: out, numExamples: row, numClasses: c, indices, labels };
}

/** Index of the max of each row. */
export function argmaxRows(logits: Float32Array, numClasses: number): Int32Array {
  const n = logits.length / numClasses;
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    let bv = -Infinity;
    for (let j = 0; j < numClasses; j++) {
      const v = logits[r * numClasses + j];
      if (v > bv) {
        bv = v;
        best = j;
      }
    }
    out[r] = best;
  }
  return out;
}

/** Fraction of labelled examples (label ≥ 0) whose argmax logit is the label. */
export function frameAccuracy(classifier: Classifier, source: BatchSource, options: { batchSize?: number } = {}): number {
  checkDims(classifier, source, 'frameAccuracy');
  let correct = 0;
  let total = 0;
  for (const b of source.batches({ batchSize: options.batchSize ?? 512 })) {
    if (!b.labels) continue;
    let p: ArrayLike<number>;
    if (classifier.logitsHost) p = argmaxRows(classifier.logitsHost(b.features, b.size), classifier.numClasses);
    else {
      const pred = tf.tidy(() => tf.argMax(classifier.logits(tf.tensor2d(b.features, [b.size, b.featureDim]), false), 1));
      p = pred.dataSync();
      pred.dispose();
    }
    for (let i = 0; i < b.size; i++) {
      if (b.labels[i] < 0) continue;
      total++;
      if (p[i] === b.labels[i]) correct++;
    }
  }
  if (total === 0) throw new Error('frameAccuracy: the source has no labelled examples');
  return correct / total;
}
