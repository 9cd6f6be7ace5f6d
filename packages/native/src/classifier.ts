import * as tf from '@tensorflow/tfjs-core';
import type { Classifier } from '@kdasr/core';
import type { NativeMlp } from './mlp.js';

/**
 * core's Classifier over a NativeMlp, for evaluation code written against tensors (frame accuracy, teachers).
 * Inference only: the weights are not tf.Variables, so tfjs optimisers cannot train it (use NativeMlp.trainStep,
 * or toLayersModel() to continue in tfjs).
 */
export class NativeClassifier implements Classifier {
  readonly inputDim: number;
  readonly numClasses: number;

  constructor(readonly mlp: NativeMlp) {
    this.inputDim = mlp.inputDim;
    this.numClasses = mlp.numClasses;
  }

  logits(x: tf.Tensor2D, training = false): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.inputDim)
      throw new Error(`NativeClassifier.logits: expected input [n, ${this.inputDim}], got [${x.shape.join(', ')}]`);
    if (training && (this.mlp.config.dropout > 0 || this.mlp.config.inputDropout > 0))
      throw new Error('NativeClassifier.logits: training-mode (dropout) logits come from NativeMlp.trainStep, not from this adapter');
    const data = x.dtype === 'float32' ? (x.dataSync() as Float32Array) : Float32Array.from(x.dataSync());
    const out = this.mlp.predictLogits(data, x.shape[0]);
    return tf.tensor2d(out, [x.shape[0], this.numClasses]);
  }

  /** Inference without tensors: what predictLogits/frameAccuracy use, so teacher passes stay native end to end. */
  logitsHost(features: Float32Array, rows: number): Float32Array {
    if (features.length !== rows * this.inputDim)
      throw new Error(`NativeClassifier.logitsHost: ${features.length} values for ${rows} rows of ${this.inputDim}`);
    return this.mlp.predictLogits(features, rows);
  }

  trainableVariables(): tf.Variable[] {
    throw new Error('NativeClassifier.trainableVariables: a native model has no tf.Variables; train it with NativeMlp.trainStep');
  }
}
