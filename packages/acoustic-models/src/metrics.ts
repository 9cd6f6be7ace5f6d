/** Frame-level evaluation: accuracy, expected calibration error, and which phones are confused with which. */
import * as tf from '@tensorflow/tfjs-core';
import type { BatchSource, Classifier } from '@kdasr/core';
import type { StateInventory } from './states.js';

/** What the metrics need of the output classes: a StateInventory, or a PhoneticTree's `pdfClasses()`. */
export type ClassPhones = Pick<StateInventory, 'numClasses' | 'phones' | 'phoneIndex' | 'phoneOfClass'>;

/**
 * Expected calibration error (Guo et al. 2017): frames binned by top-1 confidence into `bins` equal-width bins;
 * Σ_b (n_b / N) · |accuracy_b − mean confidence_b|.
 */
export function expectedCalibrationError(confidence: ArrayLike<number>, correct: ArrayLike<boolean | number>, bins = 15): number {
  if (confidence.length !== correct.length) throw new Error(`expectedCalibrationError: ${confidence.length} confidences for ${correct.length} outcomes`);
  if (!(Number.isInteger(bins) && bins > 0)) throw new Error(`expectedCalibrationError: bins must be a positive integer, got ${bins}`);
  const n = new Float64Array(bins);
  const acc = new Float64Array(bins);
  const conf = new Float64Array(bins);
  for (let i = 0; i < confidence.length; i++) {
    const p = confidence[i];
    const b = Math.min(bins - 1, Math.max(0, Math.ceil(p * bins) - 1));
    n[b]++;
    conf[b] += p;
    acc[b] += correct[i] ? 1 : 0;
  }
  const N = confidence.length;
  if (N === 0) throw new Error('expectedCalibrationError: no frames');
  let ece = 0;
  for (let b = 0; b < bins; b++) if (n[b] > 0) ece += (n[b] / N) * Math.abs(acc[b] / n[b] - conf[b] / n[b]);
  return ece;
}

export interface Confusion {
  ref: string;
  hyp: string;
  count: number;
  /** count / frames of ref. */
  rate: number;
}

/** The most frequent (ref phone → hyp phone) errors, with per-phone frame accuracy. */
export function phoneConfusions(pred: Int32Array, labels: Int32Array, inventory: ClassPhones, top = 10): { confusions: Confusion[]; phoneAccuracy: Record<string, number> } {
  const P = inventory.phones.length;
  const m = new Float64Array(P * P);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0) continue;
    m[inventory.phoneIndex(inventory.phoneOfClass(labels[i])) * P + inventory.phoneIndex(inventory.phoneOfClass(pred[i]))]++;
  }
  const rows = Array.from({ length: P }, (_, r) => m.subarray(r * P, (r + 1) * P).reduce((a, b) => a + b, 0));
  const confusions: Confusion[] = [];
  const phoneAccuracy: Record<string, number> = {};
  for (let r = 0; r < P; r++) {
    if (rows[r] > 0) phoneAccuracy[inventory.phones[r]] = m[r * P + r] / rows[r];
    for (let c = 0; c < P; c++) if (r !== c && m[r * P + c] > 0) confusions.push({ ref: inventory.phones[r], hyp: inventory.phones[c], count: m[r * P + c], rate: m[r * P + c] / rows[r] });
  }
  confusions.sort((a, b) => b.count - a.count || a.ref.localeCompare(b.ref) || a.hyp.localeCompare(b.hyp));
  return { confusions: confusions.slice(0, top), phoneAccuracy };
}

export interface FrameEvaluation {
  frames: number;
  frameAccuracy: number;
  /** Frames whose predicted state belongs to the right phone. */
  phoneAccuracy: number;
  ece: number;
  /** Mean negative log posterior of the reference state (nats). */
  crossEntropy: number;
  confusions: Confusion[];
  perPhoneAccuracy: Record<string, number>;
}

/** Evaluate a classifier on labelled held-out frames (labels −1 are skipped). */
export function evaluateFrames(model: Classifier, source: BatchSource, inventory: ClassPhones, options: { bins?: number; top?: number; batchSize?: number } = {}): FrameEvaluation {
  if (model.numClasses !== inventory.numClasses) throw new Error(`evaluateFrames: model has ${model.numClasses} outputs, inventory ${inventory.numClasses} states`);
  const conf: number[] = [];
  const ok: boolean[] = [];
  const preds: number[] = [];
  const labs: number[] = [];
  let ce = 0;
  for (const b of source.batches({ batchSize: options.batchSize ?? 512 })) {
    if (!b.labels) continue;
    const lp = tf.tidy(() => tf.logSoftmax(model.logits(tf.tensor2d(b.features, [b.size, b.featureDim]), false)));
    const v = lp.dataSync();
    lp.dispose();
    const C = model.numClasses;
    for (let i = 0; i < b.size; i++) {
      const y = b.labels[i];
      if (y < 0) continue;
      let best = 0;
      for (let c = 1; c < C; c++) if (v[i * C + c] > v[i * C + best]) best = c;
      conf.push(Math.exp(v[i * C + best]));
      ok.push(best === y);
      preds.push(best);
      labs.push(y);
      ce -= v[i * C + y];
    }
  }
  if (labs.length === 0) throw new Error('evaluateFrames: the source has no labelled frames');
  const pred = Int32Array.from(preds);
  const lab = Int32Array.from(labs);
  const { confusions, phoneAccuracy } = phoneConfusions(pred, lab, inventory, options.top ?? 10);
  let phoneOk = 0;
  for (let i = 0; i < lab.length; i++) if (inventory.phoneOfClass(pred[i]) === inventory.phoneOfClass(lab[i])) phoneOk++;
  return {
    frames: lab.length,
    frameAccuracy: ok.filter(Boolean).length / lab.length,
    phoneAccuracy: phoneOk / lab.length,
    ece: expectedCalibrationError(conf, ok, options.bins ?? 15),
    crossEntropy: ce / lab.length,
    confusions,
    perPhoneAccuracy: phoneAccuracy,
  };
}
