import * as tf from '@tensorflow/tfjs-core';
import type { Classifier, HostBatch } from '@kdasr/core';
import { distillationLoss, type resolveLossSettings } from './losses.js';
import { StepOptimizer, type OptimizerConfig } from './optimizer.js';
import type { RandomStateful } from './mlp.js';
import type { SoftTargetKernel } from './target-cache.js';

/** Loss settings after defaults and checks, as distill() passes them to TrainableStudent.step. */
export type LossSettings = ReturnType<typeof resolveLossSettings>;

/**
 * The teacher's output for one batch, [batch.size, numClasses] row-major: `teacherProbs` (already at the loss
 * temperature) for the soft objectives, `teacherLogits` for logit matching; neither without a teacher. distill()
 * passes host arrays to students with `hostTargets` and tensors (owned by distill, disposed after the step) otherwise.
 */
/** Valid for the step only: distill reuses host target buffers across steps, so a student must not keep them. */
export interface StepTargets {
  teacherProbs?: Float32Array | tf.Tensor2D;
  teacherLogits?: Float32Array | tf.Tensor2D;
}

export interface StepLoss {
  /** Weighted total at the weights before the update. Non-finite: the student must not have applied the update. */
  total: number;
  /** Unweighted, unscaled soft term (0 when skipped). */
  soft: number;
  /** Unweighted hard term (0 when skipped). */
  hard: number;
}

export interface OptimizerState {
  /** Optimiser steps taken (Adam's bias correction needs it). */
  step: number;
  /** Slot arrays, variable-major ([m, v] per weight for Adam, [velocity] per weight for momentum SGD). */
  slots: Float32Array[];
}

/**
 * What distill() needs from a student, independent of the engine that computes it: one optimiser step on a host
 * batch, and the weights/optimiser/random state as host arrays (checkpoints, restore-best). `TfjsTrainableStudent`
 * wraps any tfjs Classifier; @kdasr/native's `NativeTrainableStudent` is the C + OpenBLAS implementation.
 */
export interface TrainableStudent {
  /** Engine name, recorded in checkpoints (a checkpoint resumes only on the engine that wrote it). */
  readonly engine: string;
  readonly inputDim: number;
  readonly numClasses: number;
  /** true: step() wants teacher outputs as host Float32Arrays (distill downloads them once per batch). */
  readonly hostTargets: boolean;
  /** A faster soft-target kernel of the engine; distill() hands it to stored-logit teachers for their host rows. */
  readonly softTargetKernel?: SoftTargetKernel;
  /** Shapes of the trainable weights, in getWeights() order. */
  weightShapes(): number[][];
  /** Copies of the trainable weights. */
  getWeights(): Float32Array[];
  setWeights(weights: Float32Array[]): void;
  /** Starts a fresh optimiser (zero state) for this run; distill() calls it once before training or resuming. */
  resetOptimizer(config: OptimizerConfig): void;
  getOptimizerState(): OptimizerState;
  setOptimizerState(state: OptimizerState): void;
  /** Forward with dropout, loss, backward and the optimiser update at `learningRate`. */
  step(batch: HostBatch, targets: StepTargets, loss: LossSettings, learningRate: number): StepLoss;
  /** Keras MaxNorm(axis=0) on every rank-2 weight: each column (a unit's incoming weights) gets L2 norm ≤ c. */
  applyMaxNorm(c: number): void;
  /** Dropout stream position for exact resumption; null when the student has none. */
  getRandomState(): number | null;
  setRandomState(state: number): void;
  /** The current weights as a core Classifier (validation metrics, inference, afterStep hooks). */
  asClassifier(): Classifier;
  /** Frees what resetOptimizer allocated (distill calls it at the end). */
  releaseOptimizer?(): void;
}

export function isTrainableStudent(s: unknown): s is TrainableStudent {
  const t = s as Partial<TrainableStudent> | null;
  return !!t && typeof t.step === 'function' && typeof t.getWeights === 'function' && typeof t.asClassifier === 'function';
}

function isRandomStateful(c: Classifier): c is Classifier & RandomStateful {
  const s = c as Partial<RandomStateful>;
  return typeof s.getRandomState === 'function' && typeof s.setRandomState === 'function';
}

function asTensor(t: Float32Array | tf.Tensor2D | undefined, rows: number, cols: number): tf.Tensor2D | undefined {
  return t === undefined || t instanceof tf.Tensor ? t : tf.tensor2d(t, [rows, cols]);
}

/** Keras-style MaxNorm(axis=0): each column of every rank-2 weight (a unit's incoming weights) gets norm ≤ c. */
export function applyMaxNorm(vars: tf.Variable[], c: number): void {
  tf.tidy(() => {
    for (const v of vars) {
      if (v.rank !== 2) continue;
      const norms = tf.sqrt(tf.sum(tf.square(v), 0, true));
      v.assign(tf.mul(v, tf.minimum(1, tf.div(c, tf.add(norms, 1e-7)))));
    }
  });
}

/** The tfjs engine: any core Classifier whose trainableVariables() are its weights, trained with tf.variableGrads. */
export class TfjsTrainableStudent implements TrainableStudent {
  readonly engine: string = 'tfjs';
  readonly hostTargets: boolean = false;
  readonly inputDim: number;
  readonly numClasses: number;
  readonly vars: tf.Variable[];
  private optimizer: StepOptimizer | null = null;

  constructor(readonly classifier: Classifier) {
    this.inputDim = classifier.inputDim;
    this.numClasses = classifier.numClasses;
    this.vars = classifier.trainableVariables();
  }

  weightShapes(): number[][] {
    return this.vars.map((v) => v.shape);
  }

  getWeights(): Float32Array[] {
    return this.vars.map((v) => Float32Array.from(v.dataSync() as Float32Array));
  }

  setWeights(values: Float32Array[]): void {
    if (values.length !== this.vars.length) throw new Error(`TfjsTrainableStudent.setWeights: expected ${this.vars.length} arrays, got ${values.length}`);
    this.vars.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(values[i], v.shape))));
  }

  resetOptimizer(config: OptimizerConfig): void {
    this.optimizer?.dispose();
    this.optimizer = new StepOptimizer(config, this.vars);
  }

  private opt(where: string): StepOptimizer {
    if (!this.optimizer) throw new Error(`TfjsTrainableStudent.${where}: call resetOptimizer first`);
    return this.optimizer;
  }

  getOptimizerState(): OptimizerState {
    return this.opt('getOptimizerState').getState();
  }

  setOptimizerState(state: OptimizerState): void {
    this.opt('setOptimizerState').setState(state);
  }

  releaseOptimizer(): void {
    this.optimizer?.dispose();
    this.optimizer = null;
  }

  step(batch: HostBatch, targets: StepTargets, s: LossSettings, learningRate: number): StepLoss {
    const optimizer = this.opt('step');
    let parts: tf.Tensor | undefined;
    try {
      const total = tf.tidy(() => {
        const x = tf.tensor2d(batch.features, [batch.size, batch.featureDim]);
        const teacherProbs = asTensor(targets.teacherProbs, batch.size, this.numClasses);
        const teacherLogits = asTensor(targets.teacherLogits, batch.size, this.numClasses);
        const { value, grads } = tf.variableGrads(() => {
          const zs = this.classifier.logits(x, true);
          const p = distillationLoss({
            studentLogits: zs,
            ...(teacherLogits ? { teacherLogits } : teacherProbs ? { teacherProbs } : {}),
            labels: batch.labels,
            temperature: s.temperature,
            softWeight: s.softWeight,
            hardWeight: s.hardWeight,
            scaleByTemperatureSquared: s.scale,
            softObjective: s.softObjective,
            // distill() checks the loss value it reads every step instead.
            checkFinite: false,
          });
          parts = tf.keep(tf.stack([p.soft, p.hard]));
          return p.total;
        }, this.vars);
        const v = value.dataSync()[0];
        if (!Number.isFinite(v)) return v;
        optimizer.apply(grads, learningRate);
        return v;
      });
      if (!Number.isFinite(total)) return { total, soft: NaN, hard: NaN };
      const pv = parts!.dataSync();
      return { total, soft: pv[0], hard: pv[1] };
    } finally {
      parts?.dispose();
    }
  }

  applyMaxNorm(c: number): void {
    applyMaxNorm(this.vars, c);
  }

  getRandomState(): number | null {
    return isRandomStateful(this.classifier) ? this.classifier.getRandomState() : null;
  }

  setRandomState(state: number): void {
    if (isRandomStateful(this.classifier)) this.classifier.setRandomState(state);
  }

  asClassifier(): Classifier {
    return this.classifier;
  }
}

/**
 * Keras MaxNorm(axis=0) on a host kernel [rows, cols] row-major, in place: column j scaled by
 * min(1, c / (‖w[:, j]‖ + 1e-7)), as applyMaxNorm does on tensors. For engines whose weights live on the host.
 */
export function applyMaxNormHost(w: Float32Array, rows: number, cols: number, c: number): void {
  if (w.length !== rows * cols) throw new Error(`applyMaxNormHost: ${w.length} values is not ${rows} x ${cols}`);
  const sq = new Float64Array(cols);
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) sq[j] += w[o + j] * w[o + j];
  }
  const scale = new Float32Array(cols);
  for (let j = 0; j < cols; j++) scale[j] = Math.min(1, c / (Math.sqrt(sq[j]) + 1e-7));
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    for (let j = 0; j < cols; j++) if (scale[j] < 1) w[o + j] *= scale[j];
  }
}
