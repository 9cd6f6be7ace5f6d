/**
 * Acoustic model training: an MLP on spliced, normalised frames with hard state targets, trained through
 * distillation's `distill(student, undefined, ...)` (ordinary cross-entropy), with newbob halving and early
 * stopping on dev frame accuracy, checkpoints, and save/load with everything decoding needs in the sidecar.
 */
import { loadModel, makeSidecar, saveModel, type BatchSource, type Classifier, type Teacher } from '@kdasr/core';
import type { CmvnStatsJson } from '@kdasr/audio-features';
import { EnsembleTeacher, MlpClassifier, ModelTeacher, distill, frameAccuracy, type DistillOptions, type DistillResult, type EnsembleCombine, type ProgressEvent } from '@kdasr/distillation';
import { NativeClassifier, createStudent, resolveEngine, type NativeMlp } from '@kdasr/native';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Frontend, frontendConfigSchema, type FrontendConfig } from './dataset.js';
import { StateInventory, type StateInventoryJson } from './states.js';
import { logSoftmaxRows } from './priors.js';
import { ACOUSTIC_MODEL_KIND, acousticSidecar } from './sidecar.js';

const optimizer = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('sgd'), learningRate: z.number().positive(), momentum: z.number().min(0).max(1).default(0.9) }),
  z.strictObject({ kind: z.literal('adam'), learningRate: z.number().positive() }),
]);

export const acousticModelConfigSchema = z.strictObject({
  hiddenLayers: z.number().int().min(0).default(4),
  hiddenUnits: z.number().int().positive().default(512),
  dropout: z.number().min(0).lt(1).default(0.1),
  frontend: frontendConfigSchema.default({ splice: { left: 20, right: 5 }, cmvn: { mode: 'utterance', normVars: false } }),
  epochs: z.number().int().positive().default(10),
  batchSize: z.number().int().positive().default(256),
  optimizer: optimizer.default({ kind: 'adam', learningRate: 1e-3 }),
  /** Newbob: multiply the learning rate by `factor` after an epoch whose dev accuracy gained ≤ minDelta. null: constant. */
  newbob: z.strictObject({ factor: z.number().positive().max(1).default(0.5), minDelta: z.number().min(0).default(0.001) }).nullable().default({ factor: 0.5, minDelta: 0.001 }),
  /** Stop after this many epochs without dev improvement (0 = never); the best epoch's weights are restored. */
  patience: z.number().int().min(0).default(3),
  seed: z.number().int().min(0).default(0),
});
export type AcousticModelConfig = z.output<typeof acousticModelConfigSchema>;
export type AcousticModelConfigInput = z.input<typeof acousticModelConfigSchema>;

/**
 * Presets. `tiny`: unit tests. `quick`: a 2-core CPU (4×512, 10-frame context). `paper`: Hinton et al. 2015 §4
 * (8 hidden layers of 2560 ReLUs, 26-frame context 20 left / 5 right; 14 000 tied states come from the tree's
 * target leaf count) — a GPU configuration.
 */
export const ACOUSTIC_PRESETS: Record<'tiny' | 'quick' | 'paper', AcousticModelConfigInput> = {
  tiny: { hiddenLayers: 1, hiddenUnits: 64, dropout: 0, frontend: { splice: { left: 2, right: 2 } }, epochs: 4, batchSize: 64, optimizer: { kind: 'adam', learningRate: 3e-3 }, patience: 0, newbob: null },
  quick: { hiddenLayers: 4, hiddenUnits: 512, dropout: 0.1, frontend: { splice: { left: 5, right: 5 } }, epochs: 8, batchSize: 256, optimizer: { kind: 'adam', learningRate: 1e-3 } },
  paper: { hiddenLayers: 8, hiddenUnits: 2560, dropout: 0.1, frontend: { splice: { left: 20, right: 5 } }, epochs: 20, batchSize: 256, optimizer: { kind: 'sgd', learningRate: 0.01, momentum: 0.9 } },
};

export function parseAcousticConfig(input: AcousticModelConfigInput): AcousticModelConfig {
  const r = acousticModelConfigSchema.safeParse(input);
  if (!r.success) throw new Error(`acoustic model config: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}; see ACOUSTIC_PRESETS`);
  return r.data;
}

export interface TrainAcousticOptions {
  config: AcousticModelConfigInput;
  train: BatchSource;
  /** Held-out frames: drive newbob and early stopping (without it, the training loss does). */
  dev?: BatchSource;
  checkpointDir?: string;
  onProgress?: (e: ProgressEvent) => void;
  /** Progress line on a TTY stderr (default false: libraries stay quiet). */
  progress?: boolean;
  /** Init seed override (ensembles differ only in this). */
  seed?: number;
  /**
   * Training engine (`--engine`): 'native' (C + OpenBLAS, @kdasr/native; an error when the addon cannot load),
   * 'tfjs', or 'auto' (native when available, else tfjs). Default 'auto'. Either way the same distill() loop runs
   * and the model saves as the same TF.js layers model.
   */
  engine?: 'native' | 'tfjs' | 'auto';
  /**
   * Distil instead of training on hard labels alone: soft targets from this teacher (a model, an ensemble, stored
   * logits) on `train` as the transfer set, with `distillation`'s loss settings (distill()'s defaults otherwise:
   * T = 2, hard weight 0.5, T² on).
   */
  teacher?: Teacher;
  distillation?: Pick<DistillOptions, 'temperature' | 'softWeight' | 'hardWeight' | 'scaleByTemperatureSquared' | 'lossKind'>;
  /** Dev metric (default frame accuracy); called once per epoch, so it can also record other curves. */
  devMetric?: (model: Classifier, dev: BatchSource) => number;
  /** Keep the best dev epoch's weights when early stopping (default true); false keeps the last epoch's. */
  restoreBest?: boolean;
}

type LayersModelOf = ReturnType<MlpClassifier['toLayersModel']>;

/** A trained or loaded acoustic model on either engine: a core Classifier that saves as TF.js and frees itself. */
export interface AcousticClassifier extends Classifier {
  readonly engine: 'native' | 'tfjs';
  toLayersModel(): LayersModelOf;
  dispose(): void;
}

/** Wraps an MlpClassifier (tfjs engine) as an AcousticClassifier. */
class TfjsAcousticModel implements AcousticClassifier {
  readonly engine = 'tfjs' as const;
  readonly inputDim: number;
  readonly numClasses: number;
  constructor(readonly mlp: MlpClassifier) {
    this.inputDim = mlp.inputDim;
    this.numClasses = mlp.numClasses;
  }
  logits(x: tf.Tensor2D, training?: boolean): tf.Tensor2D {
    return this.mlp.logits(x, training);
  }
  trainableVariables(): tf.Variable[] {
    return this.mlp.trainableVariables();
  }
  toLayersModel(): LayersModelOf {
    return this.mlp.toLayersModel();
  }
  dispose(): void {
    this.mlp.dispose();
  }
}

/** A NativeMlp (native engine) as an AcousticClassifier; inference through logitsHost (no tensor round trip). */
class NativeAcousticModel extends NativeClassifier implements AcousticClassifier {
  readonly engine = 'native' as const;
  constructor(mlp: NativeMlp) {
    super(mlp);
  }
  toLayersModel(): LayersModelOf {
    return this.mlp.toLayersModel() as unknown as LayersModelOf;
  }
  dispose(): void {
    this.mlp.dispose();
  }
}

export interface TrainedAcousticModel {
  model: AcousticClassifier;
  /** The engine that trained it ('native' | 'tfjs'), and why tfjs when 'auto' fell back. */
  engine: 'native' | 'tfjs';
  engineReason?: string;
  config: AcousticModelConfig;
  result: DistillResult;
  devFrameAccuracy?: number;
}

export async function trainAcousticModel(options: TrainAcousticOptions): Promise<TrainedAcousticModel> {
  const config = parseAcousticConfig(options.config);
  const seed = options.seed ?? config.seed;
  const { train, dev } = options;
  if (dev && (dev.featureDim !== train.featureDim || dev.numClasses !== train.numClasses))
    throw new Error(`trainAcousticModel: dev set is [${dev.featureDim} dims, ${dev.numClasses} classes], train [${train.featureDim}, ${train.numClasses}]; build both with one frontend and inventory`);
  const created = createStudent({
    engine: options.engine ?? 'auto',
    inputDim: train.featureDim,
    hiddenSizes: Array.from({ length: config.hiddenLayers }, () => config.hiddenUnits),
    numClasses: train.numClasses,
    dropout: config.dropout,
    seed,
  });
  const model: AcousticClassifier =
    created.engine === 'native' ? new NativeAcousticModel(created.mlp!) : new TfjsAcousticModel(created.classifier as MlpClassifier);
  const result = await distill(created.student, options.teacher, train, {
    ...(options.teacher ? options.distillation ?? {} : {}),
    epochs: config.epochs,
    batchSize: config.batchSize,
    optimizer: config.optimizer,
    schedule: config.newbob ? { kind: 'newbob', factor: config.newbob.factor, minDelta: config.newbob.minDelta } : undefined,
    seed,
    validation: dev ? { source: dev, ...(options.devMetric ? { metric: options.devMetric } : {}) } : undefined,
    earlyStopping: config.patience > 0 ? { patience: config.patience, restoreBest: options.restoreBest ?? true } : undefined,
    checkpointDir: options.checkpointDir,
    onProgress: options.onProgress,
    progress: options.progress ?? false,
  });
  return { model, engine: created.engine, engineReason: created.reason, config: { ...config, seed }, result, devFrameAccuracy: dev ? frameAccuracy(model, dev) : undefined };
}

/** N members that differ only in the init (and dropout) seed: config.seed, +1, ... */
export async function trainEnsemble(options: TrainAcousticOptions & { members: number }): Promise<TrainedAcousticModel[]> {
  if (!(Number.isInteger(options.members) && options.members >= 1)) throw new Error(`trainEnsemble: members must be a positive integer, got ${options.members}`);
  const base = parseAcousticConfig(options.config).seed;
  const out: TrainedAcousticModel[] = [];
  for (let i = 0; i < options.members; i++)
    out.push(await trainAcousticModel({ ...options, seed: base + i, checkpointDir: options.checkpointDir ? `${options.checkpointDir}/member-${i}` : undefined }));
  return out;
}

/**
 * An ensemble as one Classifier: logits = log of the combined posteriors (arithmetic: mean of the members'
 * probabilities; geometric: renormalised product = softmax of the mean logits), so logPosteriors, evaluateFrames
 * and frameAccuracy treat it like a single model. Members must share input and output sizes.
 */
export class EnsembleClassifier implements Classifier {
  readonly inputDim: number;
  readonly numClasses: number;
  constructor(
    readonly members: readonly Classifier[],
    readonly combine: EnsembleCombine = 'arithmetic',
  ) {
    if (members.length === 0) throw new Error('EnsembleClassifier: no members');
    this.inputDim = members[0].inputDim;
    this.numClasses = members[0].numClasses;
    for (const [i, m] of members.entries())
      if (m.inputDim !== this.inputDim || m.numClasses !== this.numClasses)
        throw new Error(`EnsembleClassifier: member ${i} is [${m.inputDim} -> ${m.numClasses}], member 0 [${this.inputDim} -> ${this.numClasses}]; train every member with one frontend and inventory`);
  }

  logits(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const zs = this.members.map((m) => m.logits(x, false));
      if (this.combine === 'geometric') return tf.logSoftmax(tf.div(tf.addN(zs), zs.length)) as tf.Tensor2D;
      const p = tf.div(tf.addN(zs.map((z) => tf.softmax(z))), zs.length);
      return tf.log(tf.maximum(p, 1e-30)) as tf.Tensor2D;
    });
  }

  /** Host path when every member has one (native members): combined log posteriors without tensors. */
  get logitsHost(): ((features: Float32Array, rows: number) => Float32Array) | undefined {
    if (!this.members.every((m) => typeof m.logitsHost === 'function')) return undefined;
    return (features, rows) => {
      const C = this.numClasses;
      const acc = new Float64Array(rows * C);
      for (const m of this.members) {
        const z = m.logitsHost!(features, rows);
        if (this.combine === 'geometric') for (let i = 0; i < z.length; i++) acc[i] += z[i] / this.members.length;
        else {
          logSoftmaxRows(z, rows, C);
          for (let i = 0; i < z.length; i++) acc[i] += Math.exp(z[i]) / this.members.length;
        }
      }
      const out = new Float32Array(rows * C);
      if (this.combine === 'geometric') {
        for (let i = 0; i < out.length; i++) out[i] = acc[i];
        return logSoftmaxRows(out, rows, C);
      }
      for (let i = 0; i < out.length; i++) out[i] = Math.log(Math.max(acc[i], 1e-30));
      return out;
    };
  }

  trainableVariables(): tf.Variable[] {
    throw new Error('EnsembleClassifier.trainableVariables: an ensemble is for inference; train its members');
  }

  dispose(): void {
    for (const m of this.members) (m as { dispose?: () => void }).dispose?.();
  }
}

/** Ensemble posteriors: arithmetic (mean of probabilities) or geometric (renormalised; = softmax of mean logits). */
export function ensembleTeacher(models: readonly Classifier[], combine: EnsembleCombine = 'arithmetic'): EnsembleTeacher {
  return new EnsembleTeacher(models.map((m) => new ModelTeacher(m)), { combine });
}

export { ACOUSTIC_MODEL_KIND };

export interface AcousticModelMeta {
  config: AcousticModelConfig;
  inventory: StateInventoryJson;
  frontend: { config: FrontendConfig; globalStats?: CmvnStatsJson };
  /** Log state priors for scaled likelihoods (absent until estimated). */
  logPriors?: number[];
  /** Where the training labels came from (flat start, alignment dir), for provenance. */
  labels?: string;
  /** The engine that trained it (the saved format is the same TF.js model either way). */
  engine?: 'native' | 'tfjs';
  /** Output classes when they are a phonetic tree's pdfs (context-dependent), not the inventory's monophone states. */
  numPdfs?: number;
}

/** Save with core's saveModel: TF.js layers model + kdasr.json whose config is the AcousticModelMeta. */
export async function saveAcousticModel(dir: string, model: MlpClassifier | AcousticClassifier, meta: AcousticModelMeta, metrics?: Record<string, unknown>): Promise<void> {
  if (meta.numPdfs !== undefined) {
    if (meta.numPdfs !== model.numClasses) throw new Error(`saveAcousticModel: numPdfs is ${meta.numPdfs} but the model has ${model.numClasses} outputs; save the tree it was trained with`);
  } else if (meta.inventory.numStates.reduce((a, b) => a + b, 0) !== model.numClasses)
    throw new Error(`saveAcousticModel: inventory has ${meta.inventory.numStates.reduce((a, b) => a + b, 0)} states but the model ${model.numClasses} outputs; save the inventory it was trained with`);
  if (meta.logPriors && meta.logPriors.length !== model.numClasses) throw new Error(`saveAcousticModel: logPriors has ${meta.logPriors.length} entries for ${model.numClasses} classes`);
  const layers = model.toLayersModel();
  try {
    await saveModel(layers, dir, makeSidecar(ACOUSTIC_MODEL_KIND, meta, meta.config.seed, metrics));
  } finally {
    // A native model's Sequential is a copy made for saving; a tfjs model's is the live model (kept).
    if ('engine' in model && model.engine === 'native') layers.dispose();
  }
}

/** The training seed a loaded model's sidecar records (none when its config is not an object). */
const seedOf = (meta: AcousticModelMeta): number | undefined => {
  const seed = (meta.config as Partial<AcousticModelConfig> | undefined)?.seed;
  return typeof seed === 'number' ? seed : undefined;
};

export interface LoadedAcousticModel {
  /** On the engine loadAcousticModel resolved (native: converted with engine.fromLayersModel). */
  model: AcousticClassifier;
  meta: AcousticModelMeta;
  inventory: StateInventory;
  frontend: Frontend;
}

/**
 * Load a saved model for inference. `engine` (default 'auto'): 'native' converts the TF.js weights to a NativeMlp
 * (posteriors through the C engine), 'tfjs' keeps an MlpClassifier; 'auto' picks native when the addon loads.
 */
export async function loadAcousticModel(dir: string, options: { engine?: 'native' | 'tfjs' | 'auto' } = {}): Promise<LoadedAcousticModel> {
  const { model, sidecar } = await loadModel(dir);
  if (!sidecar || sidecar.kind !== ACOUSTIC_MODEL_KIND)
    throw new Error(`loadAcousticModel: ${dir}/kdasr.json is ${sidecar ? `a "${sidecar.kind}"` : 'missing'}; expected one written by saveAcousticModel`);
  const { inventory, frontend } = acousticSidecar(sidecar, `${dir}/kdasr.json`);
  const meta = sidecar.config as AcousticModelMeta;
  const classes = meta.numPdfs ?? inventory.numClasses;
  const outputs = model.outputs[0]?.shape.at(-1);
  if (outputs !== classes) throw new Error(`loadAcousticModel: ${dir}/model.json has ${outputs} outputs but kdasr.json describes ${classes} classes; they are from different models`);
  const r = resolveEngine(options.engine ?? 'auto');
  let am: AcousticClassifier;
  if (r.kind === 'native') {
    am = new NativeAcousticModel(r.engine.fromLayersModel(model, { seed: seedOf(meta) }));
    model.dispose();
  } else am = new TfjsAcousticModel(MlpClassifier.fromLayersModel(model, { seed: seedOf(meta) }));
  return { model: am, meta, inventory, frontend };
}
