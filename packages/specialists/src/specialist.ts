import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Rng, type BatchOptions, type BatchSource, type Classifier, type Dataset, type HostBatch, type Teacher } from '@kdasr/core';
import { MlpClassifier, distill, predictLogits, type DistillOptions, type DistillResult } from '@kdasr/distillation';
import { createNet, netFromMlpClassifier, resolveNetEngine, type EngineRequest, type HostWeights, type Net } from './net.js';

/**
 * How the dustbin's output unit starts. The ideal dustbin logit is log Σ_{j∉S} exp(z_j) (the generalist's log
 * mass outside the subset), which no single linear unit can compute. 'logsumexp-linear' (default) uses its tight
 * linear lower bound by Jensen, log N + mean_j z_j: weights = mean of the N remaining columns, bias = mean of their
 * biases + log N; exact when the remaining logits are equal. 'mean' omits log N; 'zeros' starts from 0.
 */
export const dustbinInitSchema = z.enum(['logsumexp-linear', 'mean', 'zeros']);
export type DustbinInit = z.infer<typeof dustbinInitSchema>;

/**
 * The logit correction applied to the dustbin after training on resampled batches (§5.3). With f = fraction of
 * subset examples in training batches and π = their fraction in the data, Bayes' rule gives
 * 'prior-ratio' (default): + log(f/π) + log((1−π)/(1−f)), which undoes both the subset's oversampling and the
 * dustbin's undersampling; 'paper': + log(f/π) only ("the log of the proportion by which the specialist class is
 * oversampled"); 'none'; 'calibrated': the offset that makes the specialist's mean dustbin probability on a
 * held-out set with natural proportions equal that set's dustbin frequency (the maximum-likelihood offset, see
 * calibrateDustbinOffset). The formulas assume hard-label training; with soft targets (which carry the natural
 * prior) the right offset lies between 0 and the formula's, which is what 'calibrated' is for.
 */
export const dustbinCorrectionSchema = z.enum(['prior-ratio', 'paper', 'none', 'calibrated']);
export type DustbinCorrection = z.infer<typeof dustbinCorrectionSchema>;

const optimizerJson = z.union([
  z.strictObject({ kind: z.literal('sgd'), learningRate: z.number().positive(), momentum: z.number().min(0).max(1).optional(), nesterov: z.boolean().optional() }),
  z.strictObject({
    kind: z.literal('adam'),
    learningRate: z.number().positive(),
    beta1: z.number().optional(),
    beta2: z.number().optional(),
    epsilon: z.number().optional(),
  }),
]);

/** Everything that defines one specialist's training, as plain JSON: it can go to a child process or a file. */
export const specialistConfigSchema = z.strictObject({
  /** Class indices (of the generalist) this specialist resolves; the rest share its dustbin class. */
  subset: z.array(z.number().int().min(0)).min(1),
  seed: z.number().int().min(0).default(0),
  /** Fraction of each training batch drawn from the subset (the paper: half). */
  inSubsetFraction: z.number().gt(0).lt(1).default(0.5),
  /** Examples per epoch; default 2 × the number of subset examples (each seen about once per epoch). */
  epochSize: z.number().int().positive().optional(),
  dustbinInit: dustbinInitSchema.default('logsumexp-linear'),
  correction: dustbinCorrectionSchema.default('prior-ratio'),
  /**
   * §6.1: also train on the generalist's soft targets (its distribution at `temperature` collapsed onto the subset
   * plus the dustbin), softWeight·T²·CE(soft) + hardWeight·CE(hard). Absent: hard labels only, as in §5.
   */
  softTargets: z
    .strictObject({
      temperature: z.number().positive().default(2),
      softWeight: z.number().min(0).default(1),
      hardWeight: z.number().min(0).default(0.5),
    })
    .optional(),
  training: z.strictObject({
    epochs: z.number().int().positive(),
    batchSize: z.number().int().positive(),
    optimizer: optimizerJson,
    schedule: z
      .union([
        z.strictObject({ kind: z.literal('exponential'), decayRate: z.number(), minLearningRate: z.number().optional() }),
        z.strictObject({ kind: z.literal('newbob'), factor: z.number().optional(), minDelta: z.number().optional(), minLearningRate: z.number().optional() }),
      ])
      .optional(),
    maxNorm: z.number().positive().optional(),
    earlyStopping: z.strictObject({ patience: z.number().int().positive(), minDelta: z.number().min(0).optional(), restoreBest: z.boolean().optional() }).optional(),
    checkpointDir: z.string().optional(),
  }),
});
export type SpecialistConfig = z.input<typeof specialistConfigSchema>;
export type ResolvedSpecialistConfig = z.output<typeof specialistConfigSchema>;

export function parseSpecialistConfig(config: SpecialistConfig, numClasses?: number): ResolvedSpecialistConfig {
  const r = specialistConfigSchema.safeParse(config);
  if (!r.success) throw new Error(`specialist config: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const s = r.data.subset;
  if (new Set(s).size !== s.length) throw new Error(`specialist config: subset has repeated classes: ${JSON.stringify(s)}`);
  if (numClasses !== undefined) {
    const bad = s.find((c) => c >= numClasses);
    if (bad !== undefined) throw new Error(`specialist config: subset class ${bad} is outside [0, ${numClasses})`);
    if (s.length >= numClasses) throw new Error(`specialist config: the subset covers all ${numClasses} classes; a specialist needs a non-empty rest`);
  }
  return r.data;
}

/** Local label of each global class for a subset: position in the subset, or the dustbin index |S|. */
export function subsetLabelMap(subset: readonly number[], numClasses: number): Int32Array {
  const map = new Int32Array(numClasses).fill(subset.length);
  subset.forEach((c, i) => (map[c] = i));
  return map;
}

/**
 * A specialist's initial weights from the generalist's (host arrays, either engine): hidden layers copied, output
 * columns of the subset copied, and one dustbin column by `init` (see DustbinInit). Returns new arrays.
 */
export function specialistInitialWeights(generalist: HostWeights, numClasses: number, subset: readonly number[], init: DustbinInit = 'logsumexp-linear'): HostWeights {
  const c = numClasses;
  dustbinInitSchema.parse(init);
  for (const s of subset) if (!Number.isInteger(s) || s < 0 || s >= c) throw new Error(`specialistFromGeneralist: class ${s} is outside [0, ${c})`);
  const rest: number[] = [];
  const inS = new Set(subset);
  if (inS.size !== subset.length) throw new Error(`specialistFromGeneralist: the subset repeats a class: ${JSON.stringify(subset)}`);
  for (let j = 0; j < c; j++) if (!inS.has(j)) rest.push(j);
  if (rest.length === 0) throw new Error('specialistFromGeneralist: the subset covers every class; nothing is left for the dustbin');
  const L = generalist.kernels.length;
  const w = generalist.kernels[L - 1];
  const b = generalist.biases[L - 1];
  if (b.length !== c) throw new Error(`specialistFromGeneralist: the generalist has ${b.length} outputs, expected ${c}`);
  const h = w.length / c;
  const k = subset.length;
  const nw = new Float32Array(h * (k + 1));
  const nb = new Float32Array(k + 1);
  for (let r = 0; r < h; r++) {
    for (let i = 0; i < k; i++) nw[r * (k + 1) + i] = w[r * c + subset[i]];
    let m = 0;
    for (const j of rest) m += w[r * c + j];
    nw[r * (k + 1) + k] = init === 'zeros' ? 0 : m / rest.length;
  }
  for (let i = 0; i < k; i++) nb[i] = b[subset[i]];
  let mb = 0;
  for (const j of rest) mb += b[j];
  nb[k] = init === 'zeros' ? 0 : mb / rest.length + (init === 'logsumexp-linear' ? Math.log(rest.length) : 0);
  return {
    kernels: [...generalist.kernels.slice(0, L - 1).map((x) => Float32Array.from(x)), nw],
    biases: [...generalist.biases.slice(0, L - 1).map((x) => Float32Array.from(x)), nb],
  };
}

/**
 * A new MlpClassifier with the generalist's hidden layers, and an output layer over subset + dustbin whose subset
 * columns are copied from the generalist and whose dustbin column follows `dustbinInit`. Shares no variables with
 * the generalist.
 */
export function specialistFromGeneralist(
  generalist: MlpClassifier,
  subset: readonly number[],
  options: { dustbinInit?: DustbinInit; seed?: number } = {},
): MlpClassifier {
  const init = dustbinInitSchema.parse(options.dustbinInit ?? 'logsumexp-linear');
  const weights = specialistInitialWeights(netFromMlpClassifier(generalist).getWeights(), generalist.numClasses, subset, init);
  const spec = new MlpClassifier({ ...generalist.config, numClasses: subset.length + 1, seed: options.seed ?? generalist.config.seed });
  netFromMlpClassifier(spec).setWeights(weights);
  return spec;
}

/**
 * The data as a specialist sees it: labels mapped to subset positions, every other class to the dustbin
 * (numClasses = |S| + 1), natural proportions. For validation and evaluation.
 */
export function specialistView(source: BatchSource, subset: readonly number[]): BatchSource {
  const map = subsetLabelMap(subset, source.numClasses);
  return {
    size: source.size,
    featureDim: source.featureDim,
    numClasses: subset.length + 1,
    *batches(options: BatchOptions) {
      for (const b of source.batches(options)) yield remap(b, map, subset.length + 1);
    },
  };
}

function remap(b: HostBatch, map: Int32Array, k1: number): HostBatch {
  return {
    size: b.size,
    featureDim: b.featureDim,
    numClasses: k1,
    features: b.features,
    indices: b.indices,
    labels: b.labels ? Int32Array.from(b.labels, (l) => (l < 0 ? -1 : map[l])) : undefined,
  };
}

/**
 * Training batches for a specialist: a fraction `inSubsetFraction` of each batch from examples whose label is in
 * the subset, the rest from the other examples (§5.3: "half its examples coming from its special subset and half
 * sampled at random from the remainder"). Each pool is walked in a shuffled order that is re-drawn when used up,
 * from the Rng distill() passes per epoch (else one forked from `seed`), so epochs are reproducible.
 */
export class SpecialistBatchSource implements BatchSource {
  readonly size: number;
  readonly featureDim: number;
  readonly numClasses: number;
  readonly inPool: Int32Array;
  readonly outPool: Int32Array;
  /** Fraction of the labelled data whose label is in the subset (π in the dustbin correction). */
  readonly priorInSubset: number;
  private readonly map: Int32Array;

  constructor(
    readonly base: Dataset,
    readonly subset: readonly number[],
    readonly options: { inSubsetFraction?: number; epochSize?: number; seed?: number } = {},
  ) {
    const f = options.inSubsetFraction ?? 0.5;
    if (!(f > 0 && f < 1)) throw new Error(`SpecialistBatchSource: inSubsetFraction must be in (0, 1), got ${f}`);
    this.map = subsetLabelMap(subset, base.numClasses);
    const inP: number[] = [];
    const outP: number[] = [];
    const all = Int32Array.from({ length: base.size }, (_, i) => i);
    for (let s = 0; s < base.size; s += 4096) {
      const b = base.gather(all.subarray(s, Math.min(base.size, s + 4096)));
      if (!b.labels) throw new Error('SpecialistBatchSource: the dataset has no labels to split on');
      for (let i = 0; i < b.size; i++) {
        const l = b.labels[i];
        if (l < 0) continue;
        (this.map[l] < subset.length ? inP : outP).push(b.indices[i]);
      }
    }
    if (inP.length === 0) throw new Error(`SpecialistBatchSource: no example has a label in the subset ${JSON.stringify(subset)}`);
    if (outP.length === 0) throw new Error('SpecialistBatchSource: every example is in the subset; nothing for the dustbin');
    this.inPool = Int32Array.from(inP);
    this.outPool = Int32Array.from(outP);
    this.priorInSubset = inP.length / (inP.length + outP.length);
    this.size = options.epochSize ?? 2 * inP.length;
    this.featureDim = base.featureDim;
    this.numClasses = subset.length + 1;
  }

  get inSubsetFraction(): number {
    return this.options.inSubsetFraction ?? 0.5;
  }

  *batches(options: BatchOptions): Iterable<HostBatch> {
    const { batchSize, dropLast = false } = options;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
    const rng = options.rng ?? new Rng(this.options.seed ?? 0).fork('specialist-batches');
    const draw = cycler(this.inPool, rng);
    const drawOut = cycler(this.outPool, rng);
    const f = this.inSubsetFraction;
    for (let start = 0; start < this.size; start += batchSize) {
      const n = Math.min(batchSize, this.size - start);
      if (dropLast && n < batchSize) break;
      const nIn = Math.round(n * f);
      const idx = new Int32Array(n);
      for (let i = 0; i < nIn; i++) idx[i] = draw();
      for (let i = nIn; i < n; i++) idx[i] = drawOut();
      rng.shuffle(idx);
      yield remap(this.base.gather(idx), this.map, this.numClasses);
    }
  }
}

function cycler(pool: Int32Array, rng: Rng): () => number {
  let order = rng.permutation(pool.length);
  let pos = 0;
  return () => {
    if (pos === order.length) {
      order = rng.permutation(pool.length);
      pos = 0;
    }
    return pool[order[pos++]];
  };
}

/** The dustbin logit offset for training fraction f and data fraction π of subset examples. */
export function dustbinLogitOffset(priorInSubset: number, inSubsetFraction: number, correction: DustbinCorrection): number {
  const p = priorInSubset;
  const f = inSubsetFraction;
  if (!(p > 0 && p < 1)) throw new Error(`dustbinLogitOffset: priorInSubset must be in (0, 1), got ${p}`);
  if (!(f > 0 && f < 1)) throw new Error(`dustbinLogitOffset: inSubsetFraction must be in (0, 1), got ${f}`);
  if (correction === 'calibrated') throw new Error("dustbinLogitOffset: 'calibrated' has no formula; use calibrateDustbinOffset on held-out data");
  if (correction === 'none') return 0;
  const paper = Math.log(f / p);
  return correction === 'paper' ? paper : paper + Math.log((1 - p) / (1 - f));
}

export interface DustbinCalibration {
  /** The offset δ to add to the dustbin logit. */
  offset: number;
  /** Share of the (labelled) calibration examples whose class is outside the subset. */
  dustbinFraction: number;
  /** Mean dustbin probability before and after adding δ. */
  meanDustbinBefore: number;
  meanDustbinAfter: number;
  /** Mean negative log-likelihood of the local labels before and after. */
  nllBefore: number;
  nllAfter: number;
  examples: number;
}

/**
 * The maximum-likelihood dustbin offset on held-out data with natural class proportions: δ minimising the mean
 * NLL of softmax(z + δ·e_dustbin). The NLL is convex in δ with derivative mean_i p_i,dustbin(δ) − (share of
 * dustbin labels), so δ is where the mean predicted dustbin mass equals the observed dustbin frequency (found by
 * bisection; the frequency is clipped to [½/n, 1 − ½/n] so that δ stays finite). `logits` [n, k+1] (dustbin
 * last), `labels` local (0..k−1 subset, k dustbin, −1 skipped).
 */
export function calibrateDustbinOffset(logits: Float32Array, labels: Int32Array, k1: number): DustbinCalibration {
  const n = labels.length;
  if (logits.length !== n * k1) throw new Error(`calibrateDustbinOffset: ${logits.length} logits for ${n} labels x ${k1} classes`);
  const d = k1 - 1;
  // Per example: a = z_dustbin − logsumexp(z_rest of the subset), so p_dustbin(δ) = σ(a + δ).
  const a: number[] = [];
  const lab: number[] = [];
  let dust = 0;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (y < 0) continue;
    if (y >= k1) throw new Error(`calibrateDustbinOffset: label ${y} at ${i} is outside [0, ${k1})`);
    const o = i * k1;
    let m = -Infinity;
    for (let j = 0; j < d; j++) m = Math.max(m, logits[o + j]);
    let s = 0;
    for (let j = 0; j < d; j++) s += Math.exp(logits[o + j] - m);
    a.push(logits[o + d] - (m + Math.log(s)));
    lab.push(y);
    if (y === d) dust++;
  }
  const m = a.length;
  if (m === 0) throw new Error('calibrateDustbinOffset: no labelled examples');
  const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
  const meanDust = (delta: number) => a.reduce((t, v) => t + sigmoid(v + delta), 0) / m;
  const target = Math.min(1 - 0.5 / m, Math.max(0.5 / m, dust / m));
  let lo = -60;
  let hi = 60;
  for (let it = 0; it < 200 && hi - lo > 1e-10; it++) {
    const mid = (lo + hi) / 2;
    if (meanDust(mid) < target) lo = mid;
    else hi = mid;
  }
  const offset = (lo + hi) / 2;
  const nll = (delta: number) => {
    let t = 0;
    for (let i = 0, r = 0; i < n; i++) {
      if (labels[i] < 0) continue;
      const o = i * k1;
      let mx = -Infinity;
      for (let j = 0; j < k1; j++) mx = Math.max(mx, logits[o + j] + (j === d ? delta : 0));
      let s = 0;
      for (let j = 0; j < k1; j++) s += Math.exp(logits[o + j] + (j === d ? delta : 0) - mx);
      t += mx + Math.log(s) - (logits[o + lab[r]] + (lab[r] === d ? delta : 0));
      r++;
    }
    return t / m;
  };
  return {
    offset,
    dustbinFraction: dust / m,
    meanDustbinBefore: meanDust(0),
    meanDustbinAfter: meanDust(offset),
    nllBefore: nll(0),
    nllAfter: nll(offset),
    examples: m,
  };
}

/** Adds `delta` to the output bias of class `index` in place (the last Dense layer's bias). */
export function addToOutputBias(model: MlpClassifier, index: number, delta: number): void {
  const vars = model.trainableVariables();
  const bias = vars[vars.length - 1];
  if (index < 0 || index >= bias.shape[0]!) throw new Error(`addToOutputBias: index ${index} is outside [0, ${bias.shape[0]})`);
  const values = Float32Array.from(bias.dataSync() as Float32Array);
  values[index] += delta;
  tf.tidy(() => bias.assign(tf.tensor1d(values)));
}

/** Host logits of a classifier for a batch (the native engine's host path when it has one). */
export function batchLogits(classifier: Classifier, batch: HostBatch): Float32Array {
  if (classifier.logitsHost) return classifier.logitsHost(batch.features, batch.size);
  return tf.tidy(() => classifier.logits(tf.tensor2d(batch.features, [batch.size, batch.featureDim]), false).dataSync() as Float32Array);
}

/**
 * The generalist as a specialist's teacher (§6.1): its distribution at temperature T collapsed onto the subset
 * plus one dustbin (the sum of its probabilities outside the subset). Reads the batch's features, so it works on
 * SpecialistBatchSource batches (whose labels are already local).
 */
export class SubsetTeacher implements Teacher {
  readonly numClasses: number;
  private readonly map: Int32Array;
  constructor(
    readonly generalist: Classifier,
    readonly subset: readonly number[],
  ) {
    this.numClasses = subset.length + 1;
    this.map = subsetLabelMap(subset, generalist.numClasses);
  }
  probabilities(batch: HostBatch, temperature: number): tf.Tensor2D {
    if (!(temperature > 0)) throw new Error(`SubsetTeacher: temperature must be positive, got ${temperature}`);
    const c = this.generalist.numClasses;
    const k1 = this.numClasses;
    const z = batchLogits(this.generalist, batch);
    const out = new Float32Array(batch.size * k1);
    for (let r = 0; r < batch.size; r++) {
      const o = r * c;
      let m = -Infinity;
      for (let j = 0; j < c; j++) m = Math.max(m, z[o + j] / temperature);
      let s = 0;
      for (let j = 0; j < c; j++) s += Math.exp(z[o + j] / temperature - m);
      for (let j = 0; j < c; j++) out[r * k1 + this.map[j]] += Math.exp(z[o + j] / temperature - m) / s;
    }
    return tf.tensor2d(out, [batch.size, k1]);
  }
}

export interface TrainedSpecialistNet {
  net: Net;
  subset: number[];
  /** Offset added to the dustbin logit after training (already in the net's bias). */
  dustbinOffset: number;
  /** Set when the offset was calibrated on held-out data (correction 'calibrated'). */
  calibration?: DustbinCalibration;
  priorInSubset: number;
  config: ResolvedSpecialistConfig;
  training: DistillResult;
  /** Examples processed in training (epochs × epoch size): the compute it cost, in example passes. */
  examplesSeen: number;
}

/**
 * Trains one specialist on either engine: initialise from the generalist (hidden layers, subset columns, dustbin
 * by `dustbinInit`), train with distill() on SpecialistBatchSource batches (hard labels as in §5, plus the
 * generalist's collapsed soft targets when `config.softTargets` is set, §6.1), then add the dustbin offset
 * (`config.correction`; 'calibrated' needs `extra.calibration`, a held-out set with natural proportions).
 * `extra.engine` defaults to the generalist's engine.
 */
export async function trainSpecialistNet(
  generalist: Net,
  data: Dataset,
  config: SpecialistConfig,
  extra: Pick<DistillOptions, 'validation' | 'onProgress' | 'progress'> & { engine?: EngineRequest; calibration?: BatchSource } = {},
): Promise<TrainedSpecialistNet> {
  const cfg = parseSpecialistConfig(config, generalist.numClasses);
  if (data.numClasses !== generalist.numClasses)
    throw new Error(`trainSpecialist: data has ${data.numClasses} classes, the generalist ${generalist.numClasses}`);
  if (cfg.correction === 'calibrated' && !extra.calibration)
    throw new Error("trainSpecialist: correction 'calibrated' needs a held-out calibration set (extra.calibration)");
  const source = new SpecialistBatchSource(data, cfg.subset, { inSubsetFraction: cfg.inSubsetFraction, epochSize: cfg.epochSize, seed: cfg.seed });
  const { engine: requested, calibration, ...distillExtra } = extra;
  const net = createNet({
    engine: requested ?? (generalist.engine === 'native' ? 'native' : 'tfjs'),
    inputDim: generalist.inputDim,
    hiddenSizes: generalist.config.hiddenSizes,
    numClasses: cfg.subset.length + 1,
    dropout: generalist.config.dropout,
    inputDropout: generalist.config.inputDropout,
    seed: cfg.seed,
    weights: specialistInitialWeights(generalist.getWeights(), generalist.numClasses, cfg.subset, cfg.dustbinInit),
  });
  try {
    const t = cfg.training;
    const soft = cfg.softTargets;
    const training = await distill(net.student, soft ? new SubsetTeacher(generalist.classifier, cfg.subset) : undefined, source, {
      epochs: t.epochs,
      batchSize: t.batchSize,
      optimizer: t.optimizer,
      schedule: t.schedule,
      maxNorm: t.maxNorm,
      earlyStopping: t.earlyStopping,
      checkpointDir: t.checkpointDir,
      seed: cfg.seed,
      progress: false,
      ...(soft ? { temperature: soft.temperature, softWeight: soft.softWeight, hardWeight: soft.hardWeight } : {}),
      ...distillExtra,
    } as DistillOptions);
    let dustbinOffset: number;
    let cal: DustbinCalibration | undefined;
    if (cfg.correction === 'calibrated') {
      const r = predictLogits(net.classifier, specialistView(calibration!, cfg.subset));
      cal = calibrateDustbinOffset(r.logits, r.labels ?? new Int32Array(r.numExamples).fill(-1), cfg.subset.length + 1);
      dustbinOffset = cal.offset;
    } else dustbinOffset = dustbinLogitOffset(source.priorInSubset, cfg.inSubsetFraction, cfg.correction);
    if (dustbinOffset !== 0) net.addToOutputBias(cfg.subset.length, dustbinOffset);
    const examplesSeen = training.history.length * source.size;
    return { net, subset: [...cfg.subset], dustbinOffset, calibration: cal, priorInSubset: source.priorInSubset, config: cfg, training, examplesSeen };
  } catch (e) {
    net.dispose();
    throw e;
  }
}

export interface TrainedSpecialist {
  model: MlpClassifier;
  subset: number[];
  /** Offset added to the dustbin logit after training (already in the model's bias). */
  dustbinOffset: number;
  priorInSubset: number;
  config: ResolvedSpecialistConfig;
  training: DistillResult;
}

/**
 * Trains one specialist in-process on the tfjs engine (trainSpecialistNet with an MlpClassifier): build it from
 * the generalist, train on resampled batches with distill() (hard labels, no teacher, as in the paper, unless
 * config.softTargets), then correct the dustbin logit for the resampling. `extra` passes distill options that
 * are not JSON (validation source, onProgress, progress) and the calibration set for correction 'calibrated'.
 */
export async function trainSpecialist(
  generalist: MlpClassifier,
  data: Dataset,
  config: SpecialistConfig,
  extra: Pick<DistillOptions, 'validation' | 'onProgress' | 'progress'> & { calibration?: BatchSource } = {},
): Promise<TrainedSpecialist> {
  const r = await trainSpecialistNet(netFromMlpClassifier(generalist), data, config, { ...extra, engine: resolveNetEngine('tfjs') });
  const model = (r.net as unknown as { model: MlpClassifier }).model;
  return { model, subset: r.subset, dustbinOffset: r.dustbinOffset, priorInSubset: r.priorInSubset, config: r.config, training: r.training };
}
