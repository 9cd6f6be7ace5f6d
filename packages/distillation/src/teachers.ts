import * as tf from '@tensorflow/tfjs-core';
import type { Classifier, HostBatch, Teacher } from '@kdasr/core';
import { softmaxRowsHost } from './losses.js';
import { SoftTargetCache, isRowLogitsSource, type SoftTargetKernel } from './target-cache.js';
import { checkTemperature } from './validate.js';

function features(batch: HostBatch, inputDim: number, where: string): tf.Tensor2D {
  if (batch.featureDim !== inputDim)
    throw new Error(`${where}: batch featureDim ${batch.featureDim} differs from the teacher's inputDim ${inputDim}`);
  return tf.tensor2d(batch.features, [batch.size, batch.featureDim]);
}

/** One trained classifier as a teacher (dropout off). */
export class ModelTeacher implements Teacher {
  readonly numClasses: number;
  constructor(readonly model: Classifier) {
    this.numClasses = model.numClasses;
  }
  logits(batch: HostBatch): tf.Tensor2D {
    return tf.tidy(() => this.model.logits(features(batch, this.model.inputDim, 'ModelTeacher'), false));
  }
  probabilities(batch: HostBatch, temperature: number): tf.Tensor2D {
    checkTemperature(temperature, 'ModelTeacher.probabilities');
    return tf.tidy(() => tf.softmax(tf.div(this.logits(batch), temperature)) as tf.Tensor2D);
  }
}

export type EnsembleCombine = 'arithmetic' | 'geometric';

/**
 * A teacher whose host distribution can be written into a caller's buffer (at least size x numClasses values;
 * the result is `out` itself): distill() then reuses one buffer per run instead of allocating a batch of targets
 * per step, which costs as much as copying them.
 */
export interface HostTargetsInto {
  hostProbabilitiesInto(batch: HostBatch, temperature: number, out: Float32Array): Float32Array;
}

export function hasHostTargetsInto<T extends object>(t: T): t is T & HostTargetsInto {
  return typeof (t as Partial<HostTargetsInto>).hostProbabilitiesInto === 'function';
}

/**
 * An ensemble. 'arithmetic': mean of the members' softmax at T (the paper's ensemble of §4).
 * 'geometric': renormalised geometric mean of the members' distributions at T, which equals softmax(mean logits / T),
 * so this form has logits (the mean logits) and works with logit matching and stored logits.
 */
export class EnsembleTeacher implements Teacher {
  readonly numClasses: number;
  readonly combine: EnsembleCombine;
  readonly logits?: (batch: HostBatch) => tf.Tensor2D;
  /** Present when every member has a host path (e.g. all stored logits): the combination is then done on the host. */
  readonly hostProbabilities?: (batch: HostBatch, temperature: number) => Float32Array;
  readonly hostLogits?: (batch: HostBatch) => Float32Array;
  /** hostProbabilities written into `out` (see HostTargetsInto); present with the target cache. */
  readonly hostProbabilitiesInto?: (batch: HostBatch, temperature: number, out: Float32Array) => Float32Array;

  /** Set when every member is stored logits (RowLogitsSource) and caching is on: the host paths read it. */
  readonly targetCache?: SoftTargetCache;

  /** The host paths' rows computed by `kernel` (a native student's; see SoftTargetKernel); no-op without the cache. */
  useSoftTargetKernel(kernel: SoftTargetKernel | undefined): void {
    this.targetCache?.useKernel(kernel);
  }

  /**
   * `cacheTemperatures` (default 1) applies when every member is stored logits: the host paths then keep the
   * combined distribution of that many temperatures (and the mean logits), numExamples x numClasses float32 each,
   * computed once per example (SoftTargetCache) instead of once per batch; 0 recomputes per batch.
   */
  constructor(
    readonly members: Teacher[],
    options: { combine?: EnsembleCombine; cacheTemperatures?: number } = {},
  ) {
    if (!Array.isArray(members) || members.length === 0) throw new Error('EnsembleTeacher: needs at least one member');
    this.combine = options.combine ?? 'arithmetic';
    if (this.combine !== 'arithmetic' && this.combine !== 'geometric')
      throw new Error(`EnsembleTeacher: combine must be 'arithmetic' or 'geometric', got ${String(this.combine)}`);
    this.numClasses = members[0].numClasses;
    members.forEach((m, i) => {
      if (m.numClasses !== this.numClasses)
        throw new Error(`EnsembleTeacher: member ${i} has ${m.numClasses} classes but member 0 has ${this.numClasses}`);
      if (this.combine === 'geometric' && typeof m.logits !== 'function')
        throw new Error(`EnsembleTeacher: member ${i} has no logits(); the geometric combination needs them`);
    });
    if (this.combine === 'geometric') this.logits = (batch) => this.meanLogits(batch);
    const stored = members.filter(isRowLogitsSource);
    if ((options.cacheTemperatures ?? 1) > 0 && stored.length === members.length) {
      const cache = new SoftTargetCache(stored, { combine: this.combine, temperatures: options.cacheTemperatures, where: 'EnsembleTeacher' });
      this.targetCache = cache;
      this.hostProbabilities = (batch, temperature) => cache.probabilities(batch, temperature);
      this.hostProbabilitiesInto = (batch, temperature, out) => cache.probabilities(batch, temperature, out);
      if (this.combine === 'geometric') this.hostLogits = (batch) => cache.logits(batch);
      return;
    }
    if (this.combine === 'geometric' && members.every((m) => typeof m.hostLogits === 'function')) {
      this.hostLogits = (batch) => this.meanHostLogits(batch);
      this.hostProbabilities = (batch, temperature) => {
        checkTemperature(temperature, 'EnsembleTeacher.hostProbabilities');
        return softmaxRowsHost(this.meanHostLogits(batch), this.numClasses, temperature);
      };
    }
    if (this.combine === 'arithmetic' && members.every((m) => typeof m.hostProbabilities === 'function'))
      this.hostProbabilities = (batch, temperature) => {
        checkTemperature(temperature, 'EnsembleTeacher.hostProbabilities');
        return this.meanHost((m) => m.hostProbabilities!(batch, temperature));
      };
  }

  /** Mean of the members' host arrays, accumulated in place in the first member's (fresh) array. */
  private meanHost(of: (m: Teacher) => Float32Array): Float32Array {
    const acc = of(this.members[0]);
    for (let i = 1; i < this.members.length; i++) {
      const x = of(this.members[i]);
      for (let j = 0; j < acc.length; j++) acc[j] += x[j];
    }
    const inv = 1 / this.members.length;
    for (let j = 0; j < acc.length; j++) acc[j] *= inv;
    return acc;
  }

  private meanHostLogits(batch: HostBatch): Float32Array {
    return this.meanHost((m) => m.hostLogits!(batch));
  }

  private meanLogits(batch: HostBatch): tf.Tensor2D {
    return tf.tidy(() => {
      let acc = this.members[0].logits!(batch);
      for (let i = 1; i < this.members.length; i++) acc = tf.add(acc, this.members[i].logits!(batch));
      return tf.div(acc, this.members.length) as tf.Tensor2D;
    });
  }

  probabilities(batch: HostBatch, temperature: number): tf.Tensor2D {
    checkTemperature(temperature, 'EnsembleTeacher.probabilities');
    return tf.tidy(() => {
      if (this.combine === 'geometric') return tf.softmax(tf.div(this.meanLogits(batch), temperature)) as tf.Tensor2D;
      let acc = this.members[0].probabilities(batch, temperature);
      for (let i = 1; i < this.members.length; i++) acc = tf.add(acc, this.members[i].probabilities(batch, temperature));
      return tf.div(acc, this.members.length) as tf.Tensor2D;
    });
  }
}

/**
 * A teacher that reads targets carried by the batches themselves (HostBatch.teacherLogits or .softTargets), e.g.
 * an ArrayDataset built with precomputed teacher logits. Soft targets are fixed at the temperature they were made
 * at, so asking for another temperature is an error.
 */
export class BatchTargetsTeacher implements Teacher {
  constructor(
    readonly numClasses: number,
    private readonly options: { softTargetsTemperature?: number } = {},
  ) {
    if (!Number.isInteger(numClasses) || numClasses <= 0)
      throw new Error(`BatchTargetsTeacher: numClasses must be a positive integer, got ${numClasses}`);
  }
  private check(batch: HostBatch): void {
    if (batch.numClasses !== this.numClasses)
      throw new Error(`BatchTargetsTeacher: batch has ${batch.numClasses} classes, teacher expects ${this.numClasses}`);
  }
  logits(batch: HostBatch): tf.Tensor2D {
    this.check(batch);
    if (!batch.teacherLogits) throw new Error('BatchTargetsTeacher: the batch carries no teacherLogits');
    return tf.tensor2d(batch.teacherLogits, [batch.size, batch.numClasses]);
  }
  probabilities(batch: HostBatch, temperature: number): tf.Tensor2D {
    checkTemperature(temperature, 'BatchTargetsTeacher.probabilities');
    this.check(batch);
    if (batch.teacherLogits)
      return tf.tidy(() => tf.softmax(tf.div(this.logits(batch), temperature)) as tf.Tensor2D);
    if (!batch.softTargets) throw new Error('BatchTargetsTeacher: the batch carries neither teacherLogits nor softTargets');
    const t0 = this.options.softTargetsTemperature;
    if (t0 === undefined || Math.abs(t0 - temperature) > 1e-12)
      throw new Error(
        `BatchTargetsTeacher: batch softTargets were made at temperature ${t0 ?? '(unknown: set softTargetsTemperature)'}, asked for ${temperature}`,
      );
    return tf.tensor2d(batch.softTargets, [batch.size, batch.numClasses]);
  }
}
