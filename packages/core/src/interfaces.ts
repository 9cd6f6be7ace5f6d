// The tensor-facing interfaces. The host-side ones (HostBatch, Dataset, ArrayDataset) live in @kdasr/base.
import type * as tf from '@tensorflow/tfjs-core';
import type { HostBatch } from '@kdasr/base';

/** A frame classifier: logits for a batch of feature vectors. */
export interface Classifier {
  readonly inputDim: number;
  readonly numClasses: number;
  /** Logits [n, numClasses] for x [n, inputDim]. `training` turns dropout on. The caller owns the result. */
  logits(x: tf.Tensor2D, training?: boolean): tf.Tensor2D;
  /** The variables an optimiser updates. */
  trainableVariables(): tf.Variable[];
  /**
   * Optional host fast path for inference (dropout off): logits [rows, numClasses] for row-major features.
   * Engines that compute outside tfjs (the native engine) provide it, so batch inference skips the tensor round trip.
   */
  logitsHost?(features: Float32Array, rows: number): Float32Array;
}

/**
 * A source of soft targets: one model, an ensemble, or a stored artifact of logits. The distribution depends on
 * the temperature (an ensemble's arithmetic mean is taken after softening each member), so it is asked per T.
 */
export interface Teacher {
  readonly numClasses: number;
  /** Teacher distribution at `temperature` for the batch, [n, numClasses]; the caller owns the result. */
  probabilities(batch: HostBatch, temperature: number): tf.Tensor2D;
  /** Logits where the teacher has them (a model, stored logits, a geometric ensemble); used by logit matching. */
  logits?(batch: HostBatch): tf.Tensor2D;
  /**
   * The same distribution in host memory, [n * numClasses] row-major, for teachers that can make it without
   * tensors (stored logits and ensembles of them). Students that train on the host (the native engine) use it to
   * skip a tensor round trip per batch; everything else uses probabilities(). The caller owns (and may overwrite) the returned array.
   */
  hostProbabilities?(batch: HostBatch, temperature: number): Float32Array;
  /** Logits in host memory, where hostProbabilities exists and the teacher has logits. */
  hostLogits?(batch: HostBatch): Float32Array;
}

