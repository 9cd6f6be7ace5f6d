import { Rng } from '@kdasr/core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildSequential, readSequential } from './layers.js';
import { loadAddon, type NativeAddon, type NativeHandle } from './loader.js';
import { resolveLoss, type LossParts, type NativeLossOptions } from './losses.js';
import type { NativeOptimizer } from './optimizers.js';
import type { NativeMlpConfig } from './mlp-config.js';

export type { NativeMlpConfig };


/** One training batch, row-major. A core HostBatch fits (its `softTargets` are read as teacherProbs). */
export interface TrainBatch {
  /** [rows, inputDim] */
  features: Float32Array;
  /** Rows; default features.length / inputDim. */
  size?: number;
  /** Hard labels, −1 = unlabelled. */
  labels?: Int32Array;
  /** [rows, numClasses] teacher distribution already at the loss temperature. */
  teacherProbs?: Float32Array;
  /** Alias of teacherProbs (core's HostBatch name). */
  softTargets?: Float32Array;
  /** [rows, numClasses] teacher logits, softened at T here (or matched directly by 'logit-matching'). */
  teacherLogits?: Float32Array;
}

export interface Gradients {
  loss: LossParts;
  /** dL/dW per layer, [in, out] row-major like the kernels. */
  weightGrads: Float32Array[];
  biasGrads: Float32Array[];
}

const CFG_LEN = 20;

function checkRate(name: string, r: number): void {
  if (!(r >= 0 && r < 1)) throw new Error(`NativeMlp: ${name} must be in [0, 1), got ${r}`);
}

/**
 * A ReLU multilayer perceptron trained and evaluated by the native engine. Weights live in JS Float32Arrays
 * (kernels [in, out] row-major, as tfjs-layers Dense stores them) and are passed to C by reference each call.
 * Do not transfer or detach these arrays; replace weights with setWeights().
 */
export class NativeMlp {
  readonly config: Required<NativeMlpConfig>;
  readonly inputDim: number;
  readonly numClasses: number;
  /** Layer widths [inputDim, ...hiddenDims, numClasses]. */
  readonly dims: number[];
  /** Dense kernels, [dims[l], dims[l+1]] row-major. */
  readonly weights: Float32Array[];
  readonly biases: Float32Array[];
  private readonly params: Float32Array[];
  private readonly handle: NativeHandle;
  private readonly cfg = new Float64Array(CFG_LEN);
  private readonly out = new Float64Array(4);
  private dropoutCalls = 0;
  private disposed = false;
  private optimizerOwner = new WeakMap<NativeOptimizer, true>();

  constructor(
    private readonly addon: NativeAddon,
    config: NativeMlpConfig,
    init?: { weights: Float32Array[]; biases: Float32Array[] },
  ) {
    const c: Required<NativeMlpConfig> = { dropout: 0, inputDropout: 0, seed: 0, ...config };
    for (const [k, v] of [['inputDim', c.inputDim], ['numClasses', c.numClasses]] as const)
      if (!Number.isInteger(v) || v <= 0) throw new Error(`NativeMlp: ${k} must be a positive integer, got ${v}`);
    if (!Array.isArray(c.hiddenDims) || c.hiddenDims.some((h) => !Number.isInteger(h) || h <= 0))
      throw new Error(`NativeMlp: hiddenDims must be positive integers, got ${JSON.stringify(c.hiddenDims)}`);
    if (c.hiddenDims.length > 31) throw new Error('NativeMlp: at most 31 hidden layers');
    checkRate('dropout', c.dropout);
    checkRate('inputDropout', c.inputDropout);
    this.config = { ...c, hiddenDims: [...c.hiddenDims] };
    this.inputDim = c.inputDim;
    this.numClasses = c.numClasses;
    this.dims = [c.inputDim, ...c.hiddenDims, c.numClasses];
    this.weights = [];
    this.biases = [];
    const rng = new Rng(c.seed).fork('native-mlp-init');
    for (let l = 0; l + 1 < this.dims.length; l++) {
      const fanIn = this.dims[l];
      const fanOut = this.dims[l + 1];
      const w = new Float32Array(fanIn * fanOut);
      // Glorot uniform, zero bias: the tfjs Dense defaults MlpClassifier uses.
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < w.length; i++) w[i] = (2 * rng.next() - 1) * limit;
      this.weights.push(w);
      this.biases.push(new Float32Array(fanOut));
    }
    if (init) this.setWeights(init.weights, init.biases);
    this.params = this.weights.flatMap((w, l) => [w, this.biases[l]]);
    this.handle = addon.create(Int32Array.from(this.dims));
  }

  /** Copies new values into the existing weight arrays (shapes must match). */
  setWeights(weights: Float32Array[], biases: Float32Array[]): void {
    if (weights.length !== this.weights.length || biases.length !== this.biases.length)
      throw new Error(`NativeMlp.setWeights: expected ${this.weights.length} kernels and biases, got ${weights.length} and ${biases.length}`);
    weights.forEach((w, l) => {
      if (w.length !== this.weights[l].length)
        throw new Error(`NativeMlp.setWeights: kernel ${l} has ${w.length} values, expected ${this.dims[l]} x ${this.dims[l + 1]}`);
      this.weights[l].set(w);
    });
    biases.forEach((b, l) => {
      if (b.length !== this.biases[l].length) throw new Error(`NativeMlp.setWeights: bias ${l} has ${b.length} values, expected ${this.dims[l + 1]}`);
      this.biases[l].set(b);
    });
  }

  /** Number of trainable values. */
  get parameterCount(): number {
    return this.params.reduce((s, p) => s + p.length, 0);
  }

  private live(where: string): void {
    if (this.disposed) throw new Error(`NativeMlp.${where}: the model was disposed`);
  }

  private rowsOf(features: Float32Array, size: number | undefined, where: string): number {
    if (!(features instanceof Float32Array)) throw new Error(`NativeMlp.${where}: features must be a Float32Array`);
    const rows = size ?? features.length / this.inputDim;
    if (!Number.isInteger(rows) || rows < 0 || rows * this.inputDim > features.length)
      throw new Error(`NativeMlp.${where}: features has ${features.length} values, not ${size ?? 'a whole number of'} rows of ${this.inputDim}`);
    return rows;
  }

  /** Logits [rows, numClasses] for features [rows, inputDim] (no dropout). Writes into `out` when given. */
  predictLogits(features: Float32Array, rows?: number, out?: Float32Array): Float32Array {
    this.live('predictLogits');
    const n = this.rowsOf(features, rows, 'predictLogits');
    const result = out ?? new Float32Array(n * this.numClasses);
    if (result.length < n * this.numClasses) throw new Error(`NativeMlp.predictLogits: out holds ${result.length} values, needs ${n * this.numClasses}`);
    if (n > 0) this.addon.forward(this.handle, this.params, features, n, result);
    return result;
  }

  /** Same as predictLogits (name used by engine-neutral callers). */
  forward(features: Float32Array, rows?: number, out?: Float32Array): Float32Array {
    return this.predictLogits(features, rows, out);
  }

  /**
   * distillation's SoftTargetKernel on this engine: rows [rowOffset, rowOffset + rows) of each member's logits
   * ([rows, classes] arrays) to the combined soft targets [rows, classes] at `temperature` (vectorised exp, the
   * elementwise threads).
   */
  softmaxMean(members: readonly Float32Array[], rowOffset: number, rows: number, classes: number, temperature: number, combine: 'arithmetic' | 'geometric', out: Float32Array): void {
    this.addon.softmaxMean(members, rowOffset, rows, classes, temperature, combine === 'geometric', out);
  }

  /** false on an addon built before softmaxMean existed (a stale build/Release): the JS loop is used then. */
  get hasSoftmaxMean(): boolean {
    return typeof (this.addon as Partial<NativeAddon>).softmaxMean === 'function';
  }

  /** Fills cfg[1..5] and returns labels/target as the addon wants them. */
  private prepare(batch: TrainBatch, lossOptions: NativeLossOptions | undefined, where: string) {
    const s = resolveLoss(lossOptions, `NativeMlp.${where}`);
    const rows = this.rowsOf(batch.features, batch.size, where);
    if (rows === 0) throw new Error(`NativeMlp.${where}: empty batch`);
    const C = this.numClasses;
    const probs = batch.teacherProbs ?? batch.softTargets;
    const useSoft = s.softWeight > 0;
    const useHard = s.hardWeight > 0 && batch.labels !== undefined;
    if (!useSoft && !useHard) throw new Error(`NativeMlp.${where}: softWeight is 0 and no labels were given; nothing to train on`);
    if (batch.labels && batch.labels.length < rows) throw new Error(`NativeMlp.${where}: labels has ${batch.labels.length} entries for ${rows} rows`);
    let target: Float32Array | null = null;
    let kind = 0;
    if (useSoft) {
      if (probs && batch.teacherLogits) throw new Error(`NativeMlp.${where}: give teacherProbs or teacherLogits, not both`);
      if (!probs && !batch.teacherLogits) throw new Error(`NativeMlp.${where}: a soft term needs teacherProbs or teacherLogits`);
      if (s.lossKind === 'logit-matching' && !batch.teacherLogits)
        throw new Error(`NativeMlp.${where}: lossKind 'logit-matching' needs teacherLogits, got teacherProbs`);
      target = (probs ?? batch.teacherLogits)!;
      if (!(target instanceof Float32Array) || target.length < rows * C)
        throw new Error(`NativeMlp.${where}: teacher array must be a Float32Array of ${rows} x ${C}`);
      kind = s.lossKind === 'logit-matching' ? 3 : probs ? 1 : 2;
    }
    const T = s.temperature;
    const cfg = this.cfg;
    cfg.fill(0);
    cfg[1] = kind;
    cfg[2] = T;
    cfg[3] = useSoft ? s.softWeight * (s.scale && s.lossKind !== 'logit-matching' ? T * T : 1) : 0;
    cfg[4] = useHard ? s.hardWeight : 0;
    cfg[5] = s.lossKind === 'kl' ? 1 : 0;
    cfg[16] = this.config.inputDropout;
    cfg[17] = this.config.dropout;
    cfg[18] = this.config.seed >>> 0;
    cfg[19] = this.dropoutCalls >>> 0;
    return { rows, labels: useHard ? batch.labels! : null, target };
  }

  private parts(where: string): LossParts {
    const [total, soft, hard, labelledRows] = this.out;
    if (!Number.isFinite(total))
      throw new Error(`NativeMlp.${where}: the loss is ${total} (non-finite inputs or divergence; weights may now hold NaN)`);
    return { total, soft, hard, labelledRows };
  }

  /**
   * One optimiser step on a batch: forward (with dropout), loss, backward, update, fused in C.
   * Returns the loss parts at the weights before the update.
   */
  trainStep(batch: TrainBatch, lossOptions: NativeLossOptions | undefined, optimizer: NativeOptimizer): LossParts {
    this.live('trainStep');
    const { rows, labels, target } = this.prepare(batch, lossOptions, 'trainStep');
    this.bindOptimizer(optimizer);
    const cfg = this.cfg;
    optimizer.steps++;
    cfg[6] = optimizer.learningRate;
    cfg[9] = optimizer.weightDecay;
    if (optimizer.kind === 'sgd') {
      cfg[0] = 1;
      cfg[7] = optimizer.momentum;
      cfg[8] = optimizer.dampening;
      cfg[10] = optimizer.nesterov ? 1 : 0;
      cfg[11] = optimizer.steps === 1 ? 1 : 0;
    } else {
      cfg[0] = 2;
      cfg[12] = optimizer.beta1;
      cfg[13] = optimizer.beta2;
      cfg[14] = optimizer.epsilon;
      cfg[15] = optimizer.steps;
    }
    this.addon.step(this.handle, this.params, batch.features, rows, labels, target, cfg, optimizer.state, null, this.out);
    this.dropoutCalls++;
    return this.parts('trainStep');
  }

  /** Loss and gradients at the current weights, without updating (dropout masks of the next training step). */
  computeGradients(batch: TrainBatch, lossOptions?: NativeLossOptions): Gradients {
    this.live('computeGradients');
    const { rows, labels, target } = this.prepare(batch, lossOptions, 'computeGradients');
    const weightGrads = this.weights.map((w) => new Float32Array(w.length));
    const biasGrads = this.biases.map((b) => new Float32Array(b.length));
    const grads = weightGrads.flatMap((g, l) => [g, biasGrads[l]]);
    this.addon.step(this.handle, this.params, batch.features, rows, labels, target, this.cfg, null, grads, this.out);
    return { loss: this.parts('computeGradients'), weightGrads, biasGrads };
  }

  private bindOptimizer(opt: NativeOptimizer): void {
    if (opt.state === null) {
      const per = opt.kind === 'adam' ? 2 : 1;
      opt.state = this.params.flatMap((p) => Array.from({ length: per }, () => new Float32Array(p.length)));
      this.optimizerOwner.set(opt, true);
      return;
    }
    if (this.optimizerOwner.has(opt)) return;
    // A state restored from a checkpoint or moved from another model: accept it only with matching shapes.
    const per = opt.kind === 'adam' ? 2 : 1;
    const ok = opt.state.length === this.params.length * per && opt.state.every((s, i) => s.length === this.params[Math.floor(i / per)].length);
    if (!ok) throw new Error('NativeMlp.trainStep: the optimiser state belongs to a model of another shape; use a fresh optimiser');
    this.optimizerOwner.set(opt, true);
  }

  /**
   * The weights as a tfjs-layers Sequential with MlpClassifier's layer sequence, so core's saveModel writes a
   * TF.js model and MlpClassifier.fromLayersModel reads it back. Copies the weights; needs a tfjs backend.
   */
  toLayersModel(): tfl.Sequential {
    return buildSequential(this.config, this.weights, this.biases);
  }

  /** A NativeMlp with the weights (copied) of a Sequential such as MlpClassifier.toLayersModel(). */
  static fromLayersModel(model: tfl.LayersModel, options: { seed?: number; addonPath?: string } = {}): NativeMlp {
    const load = loadAddon(options.addonPath);
    if (!load.available) throw new Error(`NativeMlp.fromLayersModel: the native engine is unavailable: ${load.reason}`);
    const { config, weights, biases } = readSequential(model);
    return new NativeMlp(load.addon, { ...config, seed: options.seed ?? 0 }, { weights, biases });
  }

  /** Dropout masks depend on (seed, this counter): a checkpoint stores it to resume exactly. */
  getRandomState(): number {
    return this.dropoutCalls;
  }

  setRandomState(state: number): void {
    if (!Number.isInteger(state) || state < 0) throw new Error(`NativeMlp.setRandomState: expected a non-negative integer, got ${state}`);
    this.dropoutCalls = state;
  }

  /** Frees the native scratch now (the GC would do it later). Weights stay readable. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.addon.release(this.handle);
  }
}
