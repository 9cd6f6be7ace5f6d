import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Classifier, HostBatch } from '@kdasr/core';
import {
  MlpClassifier,
  applyMaxNormHost,
  type LossSettings,
  type OptimizerConfig,
  type OptimizerState,
  type StepLoss,
  type StepTargets,
  type SoftTargetKernel,
  type TrainableStudent,
} from '@kdasr/distillation';
import { NativeClassifier } from './classifier.js';
import { resolveEngine, type NativeEngine, type ResolvedEngine } from './engine.js';
import type { NativeLossOptions } from './losses.js';
import type { NativeMlp } from './mlp.js';
import { Adam, SgdMomentum, type NativeOptimizer } from './optimizers.js';

function host(t: Float32Array | tf.Tensor2D | undefined): Float32Array | undefined {
  if (t === undefined || t instanceof Float32Array) return t;
  return t.dataSync() as Float32Array;
}

const lossKindOf: Record<LossSettings['softObjective'], NativeLossOptions['lossKind']> = {
  'cross-entropy': 'soft',
  kl: 'kl',
  'logit-matching': 'logit-matching',
};

/**
 * @kdasr/distillation's TrainableStudent over a NativeMlp, so distill() (schedules, validation, early stopping,
 * checkpoints) trains with the fused C + OpenBLAS step. Weights are in MlpClassifier's variable order
 * [W0, b0, W1, b1, …], kernels [in, out]; distill's optimiser settings map to SgdMomentum/Adam, whose PyTorch update
 * equals distill's StepOptimizer (v = μv + g from v = 0; Adam with ε outside the square root).
 */
export class NativeTrainableStudent implements TrainableStudent {
  readonly engine = 'native';
  readonly hostTargets = true;
  readonly inputDim: number;
  readonly numClasses: number;
  private optimizer: NativeOptimizer | null = null;
  private classifier: NativeClassifier | null = null;

  /** Stored-logit teachers' soft targets through the engine (distill() attaches it to them). */
  readonly softTargetKernel?: SoftTargetKernel;

  constructor(readonly mlp: NativeMlp) {
    this.inputDim = mlp.inputDim;
    this.numClasses = mlp.numClasses;
    if (mlp.hasSoftmaxMean) this.softTargetKernel = (members, rowOffset, rows, classes, temperature, combine, out) => mlp.softmaxMean(members, rowOffset, rows, classes, temperature, combine, out);
  }

  weightShapes(): number[][] {
    const d = this.mlp.dims;
    return this.mlp.weights.flatMap((_, l) => [[d[l], d[l + 1]], [d[l + 1]]]);
  }

  getWeights(): Float32Array[] {
    return this.mlp.weights.flatMap((w, l) => [Float32Array.from(w), Float32Array.from(this.mlp.biases[l])]);
  }

  setWeights(values: Float32Array[]): void {
    const n = this.mlp.weights.length;
    if (values.length !== 2 * n) throw new Error(`NativeTrainableStudent.setWeights: expected ${2 * n} arrays, got ${values.length}`);
    this.mlp.setWeights(
      values.filter((_, i) => i % 2 === 0),
      values.filter((_, i) => i % 2 === 1),
    );
  }

  resetOptimizer(config: OptimizerConfig): void {
    this.optimizer =
      config.kind === 'sgd'
        ? // tfjs accepts Nesterov with momentum 0 (it is then plain SGD); PyTorch's rule, kept by SgdMomentum, does not.
          new SgdMomentum({ learningRate: config.learningRate, momentum: config.momentum, nesterov: config.nesterov && config.momentum > 0 })
        : new Adam({ learningRate: config.learningRate, beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon });
  }

  private opt(where: string): NativeOptimizer {
    if (!this.optimizer) throw new Error(`NativeTrainableStudent.${where}: call resetOptimizer first`);
    return this.optimizer;
  }

  private slotsPerWeight(opt: NativeOptimizer): number {
    return opt.kind === 'adam' ? 2 : 1;
  }

  private paramSizes(): number[] {
    return this.mlp.weights.flatMap((w, l) => [w.length, this.mlp.biases[l].length]);
  }

  getOptimizerState(): OptimizerState {
    const opt = this.opt('getOptimizerState');
    const per = this.slotsPerWeight(opt);
    // Before the first step the state is not allocated yet; it is zero by definition.
    const slots = opt.state
      ? opt.state.map((s) => Float32Array.from(s))
      : this.paramSizes().flatMap((n) => Array.from({ length: per }, () => new Float32Array(n)));
    return { step: opt.steps, slots };
  }

  setOptimizerState(state: OptimizerState): void {
    const opt = this.opt('setOptimizerState');
    const per = this.slotsPerWeight(opt);
    const sizes = this.paramSizes().flatMap((n) => Array.from({ length: per }, () => n));
    if (state.slots.length !== sizes.length)
      throw new Error(`NativeTrainableStudent: checkpoint has ${state.slots.length} optimizer slots, this optimizer has ${sizes.length}`);
    state.slots.forEach((s, i) => {
      if (s.length !== sizes[i]) throw new Error(`NativeTrainableStudent: checkpoint slot ${i} has ${s.length} values, expected ${sizes[i]}`);
    });
    opt.state = state.slots.map((s) => Float32Array.from(s));
    opt.steps = state.step;
  }

  releaseOptimizer(): void {
    this.optimizer = null;
  }

  step(batch: HostBatch, targets: StepTargets, s: LossSettings, learningRate: number): StepLoss {
    const opt = this.opt('step');
    opt.learningRate = learningRate;
    const teacherProbs = host(targets.teacherProbs);
    const teacherLogits = host(targets.teacherLogits);
    try {
      const r = this.mlp.trainStep(
        { features: batch.features, size: batch.size, labels: batch.labels, ...(teacherLogits ? { teacherLogits } : teacherProbs ? { teacherProbs } : {}) },
        {
          temperature: s.temperature,
          softWeight: s.softWeight,
          hardWeight: s.hardWeight,
          scaleByTemperatureSquared: s.scale,
          lossKind: lossKindOf[s.softObjective],
        },
        opt,
      );
      return { total: r.total, soft: r.soft, hard: r.hard };
    } catch (e) {
      // A non-finite loss: report it as a value so distill() names the culprit (features, teacher or divergence).
      if (e instanceof Error && /: the loss is /.test(e.message)) return { total: NaN, soft: NaN, hard: NaN };
      throw e;
    }
  }

  applyMaxNorm(c: number): void {
    const d = this.mlp.dims;
    this.mlp.weights.forEach((w, l) => applyMaxNormHost(w, d[l], d[l + 1], c));
  }

  getRandomState(): number {
    return this.mlp.getRandomState();
  }

  setRandomState(state: number): void {
    this.mlp.setRandomState(state);
  }

  asClassifier(): Classifier {
    this.classifier ??= new NativeClassifier(this.mlp);
    return this.classifier;
  }
}

export interface CreateStudentOptions {
  /** 'native' | 'tfjs' | 'auto' (the --engine flag), or an engine already resolved with resolveEngine. */
  engine: string | ResolvedEngine;
  inputDim: number;
  hiddenSizes: number[];
  numClasses: number;
  dropout?: number;
  inputDropout?: number;
  seed?: number;
  /** Start from these weights (a Sequential with MlpClassifier's layers) instead of a fresh Glorot init. */
  initialWeights?: tfl.LayersModel;
  addonPath?: string;
}

export interface CreatedStudent {
  engine: 'native' | 'tfjs';
  /** Why tfjs was chosen ('requested', or the reason native is unavailable); absent for native. */
  reason?: string;
  /** Pass to distill(). */
  student: Classifier | TrainableStudent;
  /** The current weights for evaluation (MlpClassifier or NativeClassifier). */
  classifier: Classifier;
  /** The weights as a TF.js Sequential for core's saveModel (copied for native; the live model for tfjs). */
  toLayersModel(): tfl.Sequential;
  /** Set for native students. */
  nativeEngine?: NativeEngine;
  mlp?: NativeMlp;
  /** For core's provenance(): 'native' with the BLAS threads, or {} (tfjs reports itself). */
  provenance(): { backend?: string; threads?: number };
}

/**
 * A dense ReLU student on the engine a run asks for (`--engine native|tfjs|auto`): same architecture and saved
 * format either way, so apps switch engines with one flag. The two engines draw different initial weights from
 * the same seed; pass `initialWeights` to start both from the same point.
 */
export function createStudent(options: CreateStudentOptions): CreatedStudent {
  const r = typeof options.engine === 'string' ? resolveEngine(options.engine, { addonPath: options.addonPath }) : options.engine;
  const config = {
    inputDim: options.inputDim,
    numClasses: options.numClasses,
    dropout: options.dropout ?? 0,
    inputDropout: options.inputDropout ?? 0,
    seed: options.seed ?? 0,
  };
  if (r.kind === 'tfjs') {
    const mlp = options.initialWeights
      ? MlpClassifier.fromLayersModel(options.initialWeights, { seed: config.seed })
      : new MlpClassifier({ ...config, hiddenSizes: options.hiddenSizes });
    return { engine: 'tfjs', reason: r.reason, student: mlp, classifier: mlp, toLayersModel: () => mlp.toLayersModel(), provenance: () => ({}) };
  }
  const engine = r.engine;
  let mlp: NativeMlp;
  if (options.initialWeights) {
    mlp = engine.fromLayersModel(options.initialWeights, { seed: config.seed });
    // Dropout rates come from the model's layers; the requested ones must agree so a run means what it says.
    if (mlp.config.dropout !== config.dropout || mlp.config.inputDropout !== config.inputDropout)
      throw new Error(
        `createStudent: initialWeights have dropout ${mlp.config.dropout}/${mlp.config.inputDropout}, requested ${config.dropout}/${config.inputDropout}`,
      );
  } else mlp = engine.createMlp({ ...config, hiddenDims: options.hiddenSizes });
  const student = new NativeTrainableStudent(mlp);
  return {
    engine: 'native',
    student,
    classifier: student.asClassifier(),
    toLayersModel: () => mlp.toLayersModel(),
    nativeEngine: engine,
    mlp,
    provenance: () => ({ backend: 'native', threads: engine.info().blasThreads }),
  };
}
