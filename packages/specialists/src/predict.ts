import { type BatchSource, type Classifier } from '@kdasr/core';
import { predictLogits } from '@kdasr/distillation';

/** Host softmax(logits / T) of a classifier over a source, natural order: [n, C] float32, with labels. */
export function predictProbabilities(
  classifier: Classifier,
  source: BatchSource,
  options: { batchSize?: number; temperature?: number } = {},
): { probs: Float32Array; numExamples: number; numClasses: number; labels?: Int32Array } {
  const t = options.temperature ?? 1;
  const r = predictLogits(classifier, source, { batchSize: options.batchSize });
  const c = r.numClasses;
  const probs = new Float32Array(r.logits.length);
  for (let o = 0; o < probs.length; o += c) {
    let mx = -Infinity;
    for (let j = 0; j < c; j++) mx = Math.max(mx, r.logits[o + j] / t);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(r.logits[o + j] / t - mx);
    for (let j = 0; j < c; j++) probs[o + j] = Math.exp(r.logits[o + j] / t - mx) / s;
  }
  return { probs, numExamples: r.numExamples, numClasses: c, labels: r.labels };
}
