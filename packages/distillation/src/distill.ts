import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { Logger, Rng, writeDirAtomic, writeFileAtomic, type BatchSource, type Classifier, type HostBatch, type Teacher } from '@kdasr/core';
import { resolveLossSettings } from './losses.js';
import { frameAccuracy } from './inference.js';
import type { OptimizerConfig } from './optimizer.js';
import { checkFiniteHost, checkFiniteTensor, firstNonFinite } from './validate.js';
import { TfjsTrainableStudent, isTrainableStudent, type LossSettings, type StepTargets, type TrainableStudent } from './trainable.js';
import { hasHostTargetsInto } from './teachers.js';
import { usesSoftTargetKernel } from './target-cache.js';

// Strict objects: a misspelt option is an error, not silently ignored.
const fn = <T>(what: string) => z.custom<T>((v) => typeof v === 'function', { message: `${what} must be a function` });

const positive = z.number().positive().finite();

export const optimizerSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('sgd'),
    learningRate: positive,
    momentum: z.number().min(0).max(1).default(0.9),
    nesterov: z.boolean().default(false),
  }),
  z.strictObject({
    kind: z.literal('adam'),
    learningRate: positive,
    beta1: z.number().min(0).max(1).default(0.9),
    beta2: z.number().min(0).max(1).default(0.999),
    epsilon: positive.default(1e-8),
  }),
]);

export const scheduleSchema = z.discriminatedUnion('kind', [
  /** lr(epoch e, 0-based) = max(minLearningRate, lr0 · decayRate^e). */
  z.strictObject({ kind: z.literal('exponential'), decayRate: z.number().positive().max(1), minLearningRate: z.number().min(0).default(0) }),
  /**
   * Newbob-style halving: after an epoch whose monitored value (validation metric, else train loss) did not improve
   * on the best so far by more than minDelta, multiply the learning rate by factor.
   */
  z.strictObject({
    kind: z.literal('newbob'),
    factor: z.number().positive().max(1).default(0.5),
    minDelta: z.number().min(0).default(0),
    minLearningRate: z.number().min(0).default(0),
  }),
]);

export const distillOptionsSchema = z.strictObject({
  epochs: z.number().int().positive(),
  batchSize: z.number().int().positive(),
  optimizer: optimizerSchema,
  schedule: scheduleSchema.optional(),
  /** Softmax temperature for the soft term. Default 2. Ignored without a teacher. */
  temperature: positive.default(2),
  softWeight: z.number().min(0).finite().default(1),
  hardWeight: z.number().min(0).finite().default(0.5),
  scaleByTemperatureSquared: z.boolean().default(true),
  /** 'soft': cross-entropy with the teacher's softened distribution; 'logit-matching': ½‖z − v‖² (needs teacher.logits). */
  lossKind: z.enum(['soft', 'logit-matching']).default('soft'),
  seed: z.number().int().min(0).default(0),
  dropLast: z.boolean().default(false),
  validation: z
    .object({
      source: z.custom<BatchSource>((v) => !!v && typeof (v as BatchSource).batches === 'function', {
        message: 'validation.source must be a BatchSource',
      }),
      /** Default: frameAccuracy. */
      metric: fn<(student: Classifier, source: BatchSource) => number | Promise<number>>('validation.metric').optional(),
      higherIsBetter: z.boolean().default(true),
    })
    .optional(),
  earlyStopping: z
    .object({ patience: z.number().int().positive(), minDelta: z.number().min(0).default(0), restoreBest: z.boolean().default(true) })
    .optional(),
  /** Directory for an atomic per-epoch checkpoint; an existing one is resumed. */
  checkpointDir: z.string().min(1).optional(),
  /** Max-norm constraint: after each step every rank-2 weight's column (a unit's incoming weights) is scaled to norm ≤ this. */
  maxNorm: positive.optional(),
  /** Extra constraint hook run after each optimiser step. */
  afterStep: fn<(student: Classifier) => void>('afterStep').optional(),
  onProgress: fn<(event: ProgressEvent) => void>('onProgress').optional(),
  /** Default TTY progress line on stderr; false silences it. It is silent anyway when stderr is not a TTY. */
  progress: z.boolean().default(true),
});

export type DistillOptions = z.input<typeof distillOptionsSchema>;
type Resolved = z.output<typeof distillOptionsSchema>;

export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  /** Mean training loss over the epoch's steps (the weighted total). */
  loss: number;
  /** Mean unweighted soft term (0 without a teacher). */
  softLoss: number;
  /** Mean hard-label cross-entropy (0 where no labels). */
  hardLoss: number;
  validation?: number;
  learningRate: number;
  seconds: number;
}

export interface ProgressEvent {
  phase: 'step' | 'epoch';
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  /** Running mean of the loss this epoch. */
  loss: number;
  learningRate: number;
  elapsedSeconds: number;
  etaSeconds: number;
  record?: EpochRecord;
}

export interface DistillResult {
  history: EpochRecord[];
  /** Epoch whose weights the student holds at the end (the best one when early stopping restored it). */
  finalEpoch: number;
  bestEpoch?: number;
  stoppedEarly: boolean;
  /** Epochs already done when this call started (from a checkpoint). */
  resumedFromEpoch: number;
}

function formatIssues(error: z.ZodError, input: unknown): string {
  return error.issues
    .map((i) => {
      let v: unknown = input;
      for (const k of i.path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined;
      const got = typeof v === 'function' ? 'a function' : typeof v === 'object' && v !== null ? 'an object' : JSON.stringify(v);
      return `${i.path.join('.') || '(options)'}: ${i.message} (got ${got})`;
    })
    .join('; ');
}

export function parseDistillOptions(options: DistillOptions): Resolved {
  const r = distillOptionsSchema.safeParse(options);
  if (!r.success) throw new Error(`distill: invalid options: ${formatIssues(r.error, options)}`);
  return r.data;
}

const STATE_FILE = 'state.json';

interface CheckpointState {
  format: 'kdasr-distill-checkpoint';
  version: 1;
  /** Absent in checkpoints written before engines existed: those are tfjs. */
  engine?: string;
  epochsDone: number;
  seed: number;
  batchSize: number;
  lossKind: string;
  learningRate: number;
  history: EpochRecord[];
  variableShapes: number[][];
  optimizer: { kind: string; step: number; slots: number };
  randomState: number | null;
  best: { value: number; epoch: number } | null;
  badEpochs: number;
  finished: boolean;
  stoppedEarly: boolean;
}

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const checkpointStateSchema = z.looseObject({
  format: z.literal('kdasr-distill-checkpoint'),
  version: z.literal(1),
  engine: z.string().optional(),
  epochsDone: count,
  seed: z.number().int().optional(),
  batchSize: count.min(1),
  lossKind: z.string(),
  learningRate: z.number().finite().positive(),
  history: z.array(z.looseObject({ epoch: count })),
  variableShapes: z.array(z.array(count)),
  optimizer: z.looseObject({ kind: z.string(), step: count, slots: count.max(1 << 16) }),
  randomState: z.number().finite().nullable(),
  best: z.object({ value: z.number(), epoch: count }).nullable(),
  badEpochs: count,
  finished: z.boolean(),
  stoppedEarly: z.boolean(),
});

/** state.json is outside bytes on resume: every field is checked before it sizes a read or steers training. */
function readCheckpointState(ckpt: string, where: string): CheckpointState {
  const path = join(ckpt, STATE_FILE);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${where}: cannot read checkpoint ${path} (${(e as Error).message}); delete ${ckpt} to start over`);
  }
  if ((json as { format?: unknown } | null)?.format !== 'kdasr-distill-checkpoint') throw new Error(`${where}: ${ckpt} is not a distill checkpoint`);
  const r = checkpointStateSchema.safeParse(json);
  if (!r.success) throw new Error(`${where}: checkpoint ${path} is corrupt: ${z.prettifyError(r.error)}; delete ${ckpt} to start over`);
  return r.data as unknown as CheckpointState;
}

function concatF32(parts: Float32Array[]): Uint8Array {
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Float32Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return new Uint8Array(out.buffer);
}

function splitF32(buf: Buffer, sizes: number[], file: string): Float32Array[] {
  const need = sizes.reduce((s, n) => s + n, 0) * 4;
  if (buf.byteLength !== need) throw new Error(`distill: checkpoint file ${file} has ${buf.byteLength} bytes, expected ${need}`);
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const bad = firstNonFinite(all);
  if (bad >= 0) throw new Error(`distill: checkpoint file ${file} holds ${all[bad]} at value ${bad}; it is corrupt: delete the checkpoint directory to start over`);
  const out: Float32Array[] = [];
  let o = 0;
  for (const n of sizes) {
    out.push(all.slice(o, o + n));
    o += n;
  }
  return out;
}

/**
 * Train `student` on `transferSet`. With a teacher: the distillation objective (soft term at the temperature plus
 * an optional hard term where batches carry labels ≥ 0). Without (teacher undefined): ordinary supervised training,
 * hard-label cross-entropy with weight 1 (softWeight/hardWeight/temperature are ignored), so every package trains
 * its baselines through the same loop.
 */
export async function distill(
  studentIn: Classifier | TrainableStudent,
  teacher: Teacher | undefined,
  transferSet: BatchSource,
  options: DistillOptions,
): Promise<DistillResult> {
  const o = parseDistillOptions(options);
  const where = 'distill';
  // A plain Classifier trains on the tfjs engine; other engines come as TrainableStudents (e.g. @kdasr/native's).
  const student: TrainableStudent = isTrainableStudent(studentIn) ? studentIn : new TfjsTrainableStudent(studentIn);
  if (transferSet.featureDim !== student.inputDim)
    throw new Error(`${where}: transfer set featureDim ${transferSet.featureDim} differs from student inputDim ${student.inputDim}`);
  if (transferSet.numClasses !== student.numClasses)
    throw new Error(`${where}: transfer set has ${transferSet.numClasses} classes but the student has ${student.numClasses}`);
  if (transferSet.size === 0) throw new Error(`${where}: the transfer set is empty`);
  if (teacher) {
    if (teacher.numClasses !== student.numClasses)
      throw new Error(`${where}: teacher has ${teacher.numClasses} classes but the student has ${student.numClasses}`);
    if (o.lossKind === 'logit-matching' && typeof teacher.logits !== 'function')
      throw new Error(`${where}: lossKind 'logit-matching' needs a teacher with logits() (arithmetic ensembles have none)`);
  }
  // A native student's vectorised kernel fills a stored-logit teacher's soft-target rows (the JS loop's Math.exp
  // made a student's first epoch at a temperature cost ~1.6x a member's).
  if (teacher && student.softTargetKernel && usesSoftTargetKernel(teacher)) teacher.useSoftTargetKernel(student.softTargetKernel);
  const loss = teacher
    ? resolveLossSettings(
        {
          temperature: o.temperature,
          softWeight: o.softWeight,
          hardWeight: o.hardWeight,
          scaleByTemperatureSquared: o.scaleByTemperatureSquared,
          softObjective: o.lossKind === 'logit-matching' ? 'logit-matching' : 'cross-entropy',
        },
        where,
      )
    : { temperature: 1, softWeight: 0, hardWeight: 1, scale: false, softObjective: 'cross-entropy' as const };
  if (o.validation && o.validation.source.featureDim !== student.inputDim)
    throw new Error(`${where}: validation featureDim ${o.validation.source.featureDim} differs from student inputDim ${student.inputDim}`);

  const shapes = student.weightShapes();
  if (shapes.length === 0) throw new Error(`${where}: the student has no trainable variables`);
  const sizes = shapes.map((sh) => sh.reduce((a, b) => a * b, 1));
  student.resetOptimizer(o.optimizer as OptimizerConfig);
  const stepsPerEpoch = o.dropLast ? Math.floor(transferSet.size / o.batchSize) : Math.ceil(transferSet.size / o.batchSize);
  if (stepsPerEpoch === 0) throw new Error(`${where}: dropLast with batchSize ${o.batchSize} > transfer set size ${transferSet.size} leaves no batches`);

  let history: EpochRecord[] = [];
  let learningRate = o.optimizer.learningRate;
  let best: { value: number; epoch: number } | null = null;
  let bestWeights: Float32Array[] | null = null;
  let badEpochs = 0;
  let stoppedEarly = false;
  let startEpoch = 0;
  const higherIsBetter = o.validation ? o.validation.higherIsBetter : false;

  // Resume.
  const ckpt = o.checkpointDir;
  if (ckpt && existsSync(join(ckpt, STATE_FILE))) {
    const state = readCheckpointState(ckpt, where);
    for (const [k, a, b] of [
      ['seed', state.seed, o.seed],
      ['batchSize', state.batchSize, o.batchSize],
      ['lossKind', state.lossKind, o.lossKind],
      ['optimizer.kind', state.optimizer.kind, o.optimizer.kind],
      // Optimiser slots and dropout streams are engine-specific.
      ['engine', state.engine ?? 'tfjs', student.engine],
    ] as const)
      if (a !== b) throw new Error(`${where}: checkpoint ${ckpt} was made with ${k} ${a}, this run has ${b}; use another checkpointDir`);
    if (JSON.stringify(shapes) !== JSON.stringify(state.variableShapes))
      throw new Error(`${where}: checkpoint ${ckpt} holds variables ${JSON.stringify(state.variableShapes)}, the student has ${JSON.stringify(shapes)}`);
    student.setWeights(splitF32(readFileSync(join(ckpt, 'student.bin')), sizes, 'student.bin'));
    if (state.optimizer.slots % sizes.length !== 0)
      throw new Error(`${where}: checkpoint ${ckpt} has ${state.optimizer.slots} optimizer slots for ${sizes.length} variables; it is corrupt`);
    const slotSizes = sizes.flatMap((n) => Array.from({ length: state.optimizer.slots / sizes.length }, () => n));
    student.setOptimizerState({ step: state.optimizer.step, slots: splitF32(readFileSync(join(ckpt, 'optimizer.bin')), slotSizes, 'optimizer.bin') });
    if (state.randomState !== null) student.setRandomState(state.randomState);
    if (existsSync(join(ckpt, 'best.bin'))) bestWeights = splitF32(readFileSync(join(ckpt, 'best.bin')), sizes, 'best.bin');
    history = state.history;
    learningRate = state.learningRate;
    best = state.best;
    badEpochs = state.badEpochs;
    stoppedEarly = state.stoppedEarly;
    // A finished run asked for more epochs continues; one that stopped early stays stopped.
    startEpoch = state.epochsDone;
  }
  const resumedFromEpoch = startEpoch;

  const saveCheckpoint = async (epochsDone: number, finished: boolean) => {
    if (!ckpt) return;
    const opt = student.getOptimizerState();
    const state: CheckpointState = {
      format: 'kdasr-distill-checkpoint',
      version: 1,
      engine: student.engine,
      epochsDone,
      seed: o.seed,
      batchSize: o.batchSize,
      lossKind: o.lossKind,
      learningRate,
      history,
      variableShapes: shapes,
      optimizer: { kind: o.optimizer.kind, step: opt.step, slots: opt.slots.length },
      randomState: student.getRandomState(),
      best,
      badEpochs,
      finished,
      stoppedEarly,
    };
    await writeDirAtomic(ckpt, (tmp) => {
      writeFileAtomic(join(tmp, 'student.bin'), concatF32(student.getWeights()));
      writeFileAtomic(join(tmp, 'optimizer.bin'), concatF32(opt.slots));
      if (bestWeights) writeFileAtomic(join(tmp, 'best.bin'), concatF32(bestWeights));
      writeFileAtomic(join(tmp, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
    });
  };

  // Step progress only on a TTY (one redrawn line); logs get the epoch events through onProgress.
  const logger = new Logger('distill');
  const tty = o.progress && logger.tty;
  const t0 = Date.now();
  const totalSteps = (o.epochs - startEpoch) * stepsPerEpoch;
  let stepsDone = 0;
  const baseSeed = new Rng(o.seed);
  // One host target buffer per run for teachers that can fill one (HostTargetsInto).
  const scratch: { targets?: Float32Array } = {};

  for (let epoch = startEpoch; epoch < o.epochs && !stoppedEarly; epoch++) {
    const te = Date.now();
    if (o.schedule?.kind === 'exponential')
      learningRate = Math.max(o.schedule.minLearningRate, o.optimizer.learningRate * Math.pow(o.schedule.decayRate, epoch));
    // Each epoch's shuffle depends only on (seed, epoch): a resumed run sees the same order.
    const rng = baseSeed.fork(`epoch-${epoch}`);
    let sum = 0;
    let softSum = 0;
    let hardSum = 0;
    let step = 0;
    const bar = tty ? logger.progress(stepsPerEpoch, { unit: `steps of epoch ${epoch + 1}/${o.epochs}`, rateUnit: 'steps' }) : undefined;
    for (const batch of transferSet.batches({ batchSize: o.batchSize, rng, dropLast: o.dropLast })) {
      const [total, soft, hard] = trainStep(student, teacher, batch, learningRate, loss, o, epoch, step, scratch);
      sum += total;
      softSum += soft;
      hardSum += hard;
      step++;
      stepsDone++;
      const elapsed = (Date.now() - t0) / 1000;
      const eta = (elapsed / stepsDone) * (totalSteps - stepsDone);
      const ev: ProgressEvent = {
        phase: 'step',
        epoch: epoch + 1,
        epochs: o.epochs,
        step,
        stepsPerEpoch,
        loss: sum / step,
        learningRate,
        elapsedSeconds: elapsed,
        etaSeconds: eta,
      };
      o.onProgress?.(ev);
      bar?.update(step, 0, `loss ${(sum / step).toFixed(4)} lr ${learningRate.toPrecision(3)}`);
    }
    if (step === 0) throw new Error(`${where}: the transfer set yielded no batches in epoch ${epoch + 1}`);
    const record: EpochRecord = {
      epoch: epoch + 1,
      loss: sum / step,
      softLoss: softSum / step,
      hardLoss: hardSum / step,
      learningRate,
      seconds: 0,
    };
    if (o.validation) {
      const v = o.validation;
      const classifier = student.asClassifier();
      record.validation = await (v.metric ? v.metric(classifier, v.source) : frameAccuracy(classifier, v.source));
      if (!Number.isFinite(record.validation)) throw new Error(`${where}: validation metric returned ${record.validation} at epoch ${epoch + 1}`);
    }
    const monitored = record.validation ?? record.loss;
    const improved = (minDelta: number) =>
      best === null || (higherIsBetter ? monitored > best.value + minDelta : monitored < best.value - minDelta);
    if (o.schedule?.kind === 'newbob' && best !== null && !improved(o.schedule.minDelta))
      learningRate = Math.max(o.schedule.minLearningRate, learningRate * o.schedule.factor);
    const es = o.earlyStopping;
    if (improved(es?.minDelta ?? 0)) {
      best = { value: monitored, epoch: epoch + 1 };
      badEpochs = 0;
      if (es?.restoreBest) bestWeights = student.getWeights();
    } else {
      badEpochs++;
      if (es && badEpochs >= es.patience) stoppedEarly = true;
    }
    record.seconds = (Date.now() - te) / 1000;
    history.push(record);
    const finished = stoppedEarly || epoch + 1 === o.epochs;
    await saveCheckpoint(epoch + 1, finished);
    bar?.end();
    if (tty) logger.info(`epoch ${epoch + 1}/${o.epochs} loss ${record.loss.toFixed(4)}${record.validation !== undefined ? ` val ${record.validation.toFixed(4)}` : ''} (${record.seconds.toFixed(1)} s)`);
    o.onProgress?.({
      phase: 'epoch',
      epoch: epoch + 1,
      epochs: o.epochs,
      step,
      stepsPerEpoch,
      loss: record.loss,
      learningRate,
      elapsedSeconds: (Date.now() - t0) / 1000,
      etaSeconds: ((Date.now() - t0) / 1000 / Math.max(stepsDone, 1)) * (totalSteps - stepsDone),
      record,
    });
  }
  let finalEpoch = history.length ? history[history.length - 1].epoch : 0;
  if (o.earlyStopping?.restoreBest && bestWeights && best && best.epoch !== finalEpoch) {
    student.setWeights(bestWeights);
    finalEpoch = best.epoch;
  }
  student.releaseOptimizer?.();
  return { history, finalEpoch, bestEpoch: best?.epoch, stoppedEarly, resumedFromEpoch };
}

function trainStep(
  student: TrainableStudent,
  teacher: Teacher | undefined,
  batch: HostBatch,
  learningRate: number,
  s: LossSettings,
  o: Resolved,
  epoch: number,
  step: number,
  scratch: { targets?: Float32Array },
): [number, number, number] {
  const where = `distill (epoch ${epoch + 1}, step ${step + 1})`;
  if (!teacher && !batch.labels) throw new Error(`${where}: supervised training (no teacher) needs labels; the batch has none`);
  const logitMatching = s.softObjective === 'logit-matching';
  // Teacher output: a kept tensor for tfjs students, or downloaded to the host once per batch (the tidy frees it).
  let teacherTensor: tf.Tensor2D | undefined;
  let teacherHost: Float32Array | undefined;
  try {
    const hostPath = student.hostTargets && (logitMatching ? teacher?.hostLogits : teacher?.hostProbabilities);
    if (teacher && hostPath) {
      // No tensors at all: the targets go straight from stored logits to the host student.
      const need = batch.size * student.numClasses;
      if (!logitMatching && hasHostTargetsInto(teacher)) {
        if (!scratch.targets || scratch.targets.length < need) scratch.targets = new Float32Array(need);
        teacherHost = teacher.hostProbabilitiesInto(batch, s.temperature, scratch.targets).subarray(0, need);
      } else teacherHost = logitMatching ? teacher.hostLogits!(batch) : teacher.hostProbabilities!(batch, s.temperature);
      if (teacherHost.length !== need)
        throw new Error(`${where}: teacher returned ${teacherHost.length} values for a batch of ${batch.size} x ${student.numClasses}`);
    } else if (teacher)
      tf.tidy(() => {
        const t = logitMatching ? teacher.logits!(batch) : teacher.probabilities(batch, s.temperature);
        if (t.shape[0] !== batch.size || t.shape[1] !== student.numClasses)
          throw new Error(`${where}: teacher returned shape [${t.shape.join(', ')}] for a batch of ${batch.size} x ${student.numClasses}`);
        if (student.hostTargets) teacherHost = t.dataSync() as Float32Array;
        else teacherTensor = tf.keep(t);
      });
    const out = teacherTensor ?? teacherHost;
    const targets: StepTargets = out === undefined ? {} : logitMatching ? { teacherLogits: out } : { teacherProbs: out };
    const r = student.step(batch, targets, s, learningRate);
    if (!Number.isFinite(r.total)) {
      const fi = firstNonFinite(batch.features);
      if (fi >= 0)
        throw new Error(`${where}: features contain ${batch.features[fi]} at example ${batch.indices[Math.floor(fi / batch.featureDim)]}`);
      if (teacherTensor) checkFiniteTensor(teacherTensor, 'teacher output', where);
      if (teacherHost) checkFiniteHost(teacherHost, 'teacher output', where, student.numClasses);
      throw new Error(`${where}: the loss is ${r.total} (the student diverged: lower the learning rate)`);
    }
    if (o.maxNorm !== undefined) student.applyMaxNorm(o.maxNorm);
    o.afterStep?.(student.asClassifier());
    return [r.total, r.soft, r.hard];
  } finally {
    teacherTensor?.dispose();
  }
}

export { applyMaxNorm } from './trainable.js';
