import * as tf from '@tensorflow/tfjs-core';
import { checkFiniteTensor, checkLogits2d, checkSameShape, checkTemperature, checkWeight } from './validate.js';

/** Hard labels: int32, -1 marks an unlabelled row (excluded from the hard term's mean). */
export type Labels = Int32Array | tf.Tensor1D;

/** softmax(z / T). T > 1 softens the distribution (the paper's Eq. 1). Caller owns the result. */
export function softmaxWithTemperature(logits: tf.Tensor2D, temperature: number): tf.Tensor2D {
  checkTemperature(temperature, 'softmaxWithTemperature');
  checkLogits2d(logits, 'logits', 'softmaxWithTemperature');
  return tf.tidy(() => tf.softmax(temperature === 1 ? logits : tf.div(logits, temperature)) as tf.Tensor2D);
}

/** log softmax(z / T), computed stably (max subtracted), so ±1e4 logits give finite values. */
export function logSoftmaxWithTemperature(logits: tf.Tensor2D, temperature: number): tf.Tensor2D {
  checkTemperature(temperature, 'logSoftmaxWithTemperature');
  checkLogits2d(logits, 'logits', 'logSoftmaxWithTemperature');
  return tf.tidy(() => tf.logSoftmax(temperature === 1 ? logits : tf.div(logits, temperature)) as tf.Tensor2D);
}

/**
 * softmax(z / T) over each row of a host [rows * numClasses] matrix, max-subtracted and accumulated in double
 * precision; the host twin of softmaxWithTemperature, for teachers whose logits already live in host memory.
 */
export function softmaxRowsHost(logits: Float32Array, numClasses: number, temperature: number): Float32Array {
  checkTemperature(temperature, 'softmaxRowsHost');
  if (!Number.isInteger(numClasses) || numClasses <= 0 || logits.length % numClasses !== 0)
    throw new Error(`softmaxRowsHost: ${logits.length} values do not make rows of ${numClasses} classes`);
  const out = new Float32Array(logits.length);
  const inv = 1 / temperature;
  for (let o = 0; o < logits.length; o += numClasses) {
    let max = -Infinity;
    for (let j = 0; j < numClasses; j++) if (logits[o + j] > max) max = logits[o + j];
    let sum = 0;
    for (let j = 0; j < numClasses; j++) {
      const e = Math.exp((logits[o + j] - max) * inv);
      out[o + j] = e;
      sum += e;
    }
    const norm = 1 / sum;
    for (let j = 0; j < numClasses; j++) out[o + j] *= norm;
  }
  return out;
}

export interface SoftTargetInput {
  studentLogits: tf.Tensor2D;
  /** Teacher distribution already at `temperature` (rows sum to 1). Give this or teacherLogits. */
  teacherProbs?: tf.Tensor2D;
  /** Teacher logits; softened here at `temperature`. */
  teacherLogits?: tf.Tensor2D;
  temperature: number;
  /** Host finiteness check of the inputs (see checkFiniteTensor for its cost). Default true. */
  checkFinite?: boolean;
}

function teacherOf(
  input: Pick<SoftTargetInput, 'studentLogits' | 'teacherProbs' | 'teacherLogits' | 'checkFinite'>,
  where: string,
): { probs?: tf.Tensor2D; logits?: tf.Tensor2D } {
  const { studentLogits, teacherProbs, teacherLogits } = input;
  if (teacherProbs && teacherLogits) throw new Error(`${where}: give teacherProbs or teacherLogits, not both`);
  const t = teacherProbs ?? teacherLogits;
  if (!t) throw new Error(`${where}: a soft term needs teacherProbs or teacherLogits`);
  const name = teacherProbs ? 'teacherProbs' : 'teacherLogits';
  checkLogits2d(t, name, where);
  checkSameShape(studentLogits, 'studentLogits', t, name, where);
  if (input.checkFinite !== false) checkFiniteTensor(t, name, where);
  return { probs: teacherProbs, logits: teacherLogits };
}

function checkStudent(input: { studentLogits: tf.Tensor2D; checkFinite?: boolean }, where: string): void {
  checkLogits2d(input.studentLogits, 'studentLogits', where);
  if (input.checkFinite !== false) checkFiniteTensor(input.studentLogits, 'studentLogits', where);
}

/** Sum of p·log p per row with 0·log 0 = 0 (the xlogy convention PyTorch's kl_div uses). */
function negEntropyRows(p: tf.Tensor2D): tf.Tensor1D {
  const safe = tf.where(tf.greater(p, 0), p, tf.onesLike(p));
  return tf.sum(tf.mul(p, tf.log(safe)), 1) as tf.Tensor1D;
}

/**
 * Soft-target cross-entropy at T, mean over the batch: −Σ_c p_c log softmax(z/T)_c. Not scaled by T²
 * (distillationLoss applies that). Gradient w.r.t. z is (q − p)/(T·batch).
 */
export function softTargetCrossEntropy(input: SoftTargetInput): tf.Scalar {
  const where = 'softTargetCrossEntropy';
  checkTemperature(input.temperature, where);
  checkStudent(input, where);
  const t = teacherOf(input, where);
  return tf.tidy(() => softCE(input.studentLogits, t, input.temperature));
}

function softCE(z: tf.Tensor2D, t: { probs?: tf.Tensor2D; logits?: tf.Tensor2D }, T: number): tf.Scalar {
  const logQ = tf.logSoftmax(T === 1 ? z : tf.div(z, T));
  const p = t.probs ?? tf.softmax(T === 1 ? t.logits! : tf.div(t.logits!, T));
  return tf.neg(tf.mean(tf.sum(tf.mul(p, logQ), 1))) as tf.Scalar;
}

/** KL(p‖q) at T, mean over the batch (PyTorch `kl_div(..., reduction='batchmean')`). Same gradient as the cross-entropy. */
export function klDivergence(input: SoftTargetInput): tf.Scalar {
  const where = 'klDivergence';
  checkTemperature(input.temperature, where);
  checkStudent(input, where);
  const t = teacherOf(input, where);
  return tf.tidy(() => kl(input.studentLogits, t, input.temperature));
}

function kl(z: tf.Tensor2D, t: { probs?: tf.Tensor2D; logits?: tf.Tensor2D }, T: number): tf.Scalar {
  const logQ = tf.logSoftmax(T === 1 ? z : tf.div(z, T));
  if (t.probs) {
    const pLogP = negEntropyRows(t.probs);
    return tf.mean(tf.sub(pLogP, tf.sum(tf.mul(t.probs, logQ), 1))) as tf.Scalar;
  }
  // From logits, log p is exact (no log of an underflowed 0).
  const logP = tf.logSoftmax(T === 1 ? t.logits! : tf.div(t.logits!, T));
  return tf.mean(tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), 1)) as tf.Scalar;
}

function labelsTensor(labels: Labels, n: number, numClasses: number, where: string): tf.Tensor1D {
  if (labels instanceof tf.Tensor) {
    if (labels.rank !== 1 || labels.shape[0] !== n)
      throw new Error(`${where}: labels has shape [${labels.shape.join(', ')}] but studentLogits has ${n} rows`);
    if (labels.dtype !== 'int32') throw new Error(`${where}: labels must be int32, got ${labels.dtype}`);
    return labels;
  }
  if (!(labels instanceof Int32Array)) throw new Error(`${where}: labels must be an Int32Array or int32 tf.Tensor1D`);
  if (labels.length !== n) throw new Error(`${where}: labels has ${labels.length} entries but studentLogits has ${n} rows`);
  for (let i = 0; i < n; i++) {
    const l = labels[i];
    if (l < -1 || l >= numClasses)
      throw new Error(`${where}: label ${l} at row ${i} is outside [0, ${numClasses}) (use -1 for unlabelled)`);
  }
  return tf.tensor1d(labels, 'int32');
}

/**
 * Hard-label cross-entropy at T = 1, mean over labelled rows only (label −1 rows contribute nothing; PyTorch's
 * `cross_entropy(ignore_index=-1)`). A batch with no labelled rows gives 0.
 */
export function hardCrossEntropy(studentLogits: tf.Tensor2D, labels: Labels, options: { checkFinite?: boolean } = {}): tf.Scalar {
  const where = 'hardCrossEntropy';
  checkStudent({ studentLogits, checkFinite: options.checkFinite }, where);
  const [n, c] = studentLogits.shape;
  return tf.tidy(() => hardCE(studentLogits, labelsTensor(labels, n, c, where), c));
}

function hardCE(z: tf.Tensor2D, labels: tf.Tensor1D, c: number): tf.Scalar {
  const mask = tf.cast(tf.greaterEqual(labels, 0), 'float32');
  const safe = tf.maximum(labels, tf.scalar(0, 'int32')) as tf.Tensor1D;
  const logQ = tf.logSoftmax(z);
  const picked = tf.sum(tf.mul(tf.oneHot(safe, c), logQ), 1);
  const count = tf.maximum(tf.sum(mask), 1);
  return tf.div(tf.neg(tf.sum(tf.mul(picked, mask))), count) as tf.Scalar;
}

/** ½‖z − v‖² per row (sum over classes), mean over the batch: Caruana's logit matching (the paper's high-T limit). */
export function logitMatchingLoss(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D, options: { checkFinite?: boolean } = {}): tf.Scalar {
  const where = 'logitMatchingLoss';
  checkStudent({ studentLogits, checkFinite: options.checkFinite }, where);
  checkLogits2d(teacherLogits, 'teacherLogits', where);
  checkSameShape(studentLogits, 'studentLogits', teacherLogits, 'teacherLogits', where);
  if (options.checkFinite !== false) checkFiniteTensor(teacherLogits, 'teacherLogits', where);
  return tf.tidy(() => lm(studentLogits, teacherLogits));
}

function lm(z: tf.Tensor2D, v: tf.Tensor2D): tf.Scalar {
  return tf.mul(0.5, tf.mean(tf.sum(tf.square(tf.sub(z, v)), 1))) as tf.Scalar;
}

export type SoftObjective = 'cross-entropy' | 'kl' | 'logit-matching';

export interface DistillationLossInput {
  studentLogits: tf.Tensor2D;
  teacherProbs?: tf.Tensor2D;
  teacherLogits?: tf.Tensor2D;
  /** Int32 hard labels, −1 = unlabelled. Absent: the hard term is skipped. */
  labels?: Labels;
  /** Default 2, as in distill() (one of the temperatures the paper tried for speech; set it explicitly). */
  temperature?: number;
  /** Default 1. */
  softWeight?: number;
  /** Default 0.5 (the paper's speech setting). */
  hardWeight?: number;
  /**
   * Multiply the soft term by T² (default true) so its gradient magnitude does not shrink as 1/T² when T changes.
   * Applied whenever the soft term is present, with or without a hard term (see README: torchdistill-style).
   */
  scaleByTemperatureSquared?: boolean;
  /** 'cross-entropy' (paper, default), 'kl' (same gradient; 0 at a perfect match) or 'logit-matching' (no T, no T²). */
  softObjective?: SoftObjective;
  /** Host finiteness check of the inputs; default true (one reduction + scalar download per input). */
  checkFinite?: boolean;
}

export interface DistillationLossParts {
  /** softWeight·(T²)·soft + hardWeight·hard. */
  total: tf.Scalar;
  /** The unweighted, unscaled soft term (0 when skipped). */
  soft: tf.Scalar;
  /** The unweighted hard term (0 when skipped). */
  hard: tf.Scalar;
}

/** Validated, defaulted settings of distillationLoss (also used by distill()). */
export function resolveLossSettings(
  input: Pick<DistillationLossInput, 'temperature' | 'softWeight' | 'hardWeight' | 'scaleByTemperatureSquared' | 'softObjective'>,
  where: string,
) {
  const temperature = input.temperature ?? 2;
  const softWeight = input.softWeight ?? 1;
  const hardWeight = input.hardWeight ?? 0.5;
  const scale = input.scaleByTemperatureSquared ?? true;
  const softObjective = input.softObjective ?? 'cross-entropy';
  checkTemperature(temperature, where);
  checkWeight('softWeight', softWeight, where);
  checkWeight('hardWeight', hardWeight, where);
  if (softWeight === 0 && hardWeight === 0)
    throw new Error(`${where}: softWeight and hardWeight are both 0; the loss would be identically zero`);
  if (!['cross-entropy', 'kl', 'logit-matching'].includes(softObjective))
    throw new Error(`${where}: softObjective must be 'cross-entropy', 'kl' or 'logit-matching', got ${String(softObjective)}`);
  return { temperature, softWeight, hardWeight, scale, softObjective };
}

/**
 * The combined objective of §2: softWeight·T²·H(p_T, q_T) + hardWeight·H(y, q_1), mean over the batch.
 * Returns the total and both parts; the caller owns all three scalars.
 */
export function distillationLoss(input: DistillationLossInput): DistillationLossParts {
  const where = 'distillationLoss';
  const s = resolveLossSettings(input, where);
  checkStudent(input, where);
  const z = input.studentLogits;
  const [n, c] = z.shape;
  const useSoft = s.softWeight > 0;
  const useHard = s.hardWeight > 0 && input.labels !== undefined;
  if (!useSoft && !useHard)
    throw new Error(`${where}: softWeight is 0 and no labels were given; nothing to train on`);
  let teacher: { probs?: tf.Tensor2D; logits?: tf.Tensor2D } = {};
  if (useSoft) {
    teacher = teacherOf(input, where);
    if (s.softObjective === 'logit-matching' && !teacher.logits)
      throw new Error(`${where}: softObjective 'logit-matching' needs teacherLogits, got teacherProbs`);
  }
  return tf.tidy(() => {
    const labels = useHard ? labelsTensor(input.labels!, n, c, where) : undefined;
    const soft = useSoft
      ? s.softObjective === 'logit-matching'
        ? lm(z, teacher.logits!)
        : s.softObjective === 'kl'
          ? kl(z, teacher, s.temperature)
          : softCE(z, teacher, s.temperature)
      : tf.scalar(0);
    const hard = labels ? hardCE(z, labels, c) : tf.scalar(0);
    const softScale = s.scale && s.softObjective !== 'logit-matching' ? s.temperature * s.temperature : 1;
    let total: tf.Tensor = tf.scalar(0);
    if (useSoft) total = tf.mul(soft, s.softWeight * softScale);
    if (labels) total = useSoft ? tf.add(total, tf.mul(hard, s.hardWeight)) : tf.mul(hard, s.hardWeight);
    return { total: total as tf.Scalar, soft: soft as tf.Scalar, hard: hard as tf.Scalar };
  });
}
