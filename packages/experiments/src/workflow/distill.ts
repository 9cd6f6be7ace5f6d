/**
 * `kdasr distill`: train a student acoustic model on soft targets from stored logits (kdasr teacher-logits) or
 * directly from teacher models, over one or more transfer sets (labelled and unlabelled mixed, each with a
 * weight), with @kdasr/acoustic-models' trainAcousticModel (distillation's distill() loop: the same early
 * stopping, newbob and per-epoch checkpoints as training). The student is saved like a trained model (TF.js +
 * kdasr.json with inventory, priors and frontend, beside lang.json and lm-text.txt), so decode/eval read it.
 */
import { copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Rng, batchesByGather, provenance, writeJsonAtomic, type BatchOptions, type Dataset, type HostBatch, type Teacher } from '@kdasr/core';
import {
  EnsembleTeacher,
  ModelTeacher,
  StoredLogitsTeacher,
  frameAccuracy,
  softmaxRowsHost,
  sparsifyRow,
  type EpochRecord,
} from '@kdasr/distillation';
import { EnsembleClassifier, Frontend, loadAcousticModel, saveAcousticModel, trainAcousticModel, type AcousticModelConfigInput, type FrameDataset, type LoadedAcousticModel } from '@kdasr/acoustic-models';
import { markdownTable } from 'markdown-table';
import { z } from 'zod';
import { hashOf } from '../stages.js';
import { ConfigError } from './config-file.js';
import { readTeacherLogitsManifest } from './teacher-logits.js';
import { expDirOf, labelledFrames, loadTeacherModels, loadTransferSet, modelDirsOf, transferSetSchema, type LoadedTransferSet, type TransferSetRecord } from './transfer-set.js';

const transferEntrySchema = transferSetSchema.partial({ feats: true }).extend({
  /** A kdasr teacher-logits output: its stored logits are the teacher, its transfer set the frames. */
  logits: z.string().min(1).optional(),
});

export const distillConfigSchema = z.strictObject({
  /** Teacher models for transfer sets without stored logits (model dirs, train outputs or ensembles). */
  teachers: z.array(z.string().min(1)).default([]),
  /** How several teachers (or stored members) are combined into one distribution. */
  combine: z.enum(['arithmetic', 'geometric']).default('arithmetic'),
  transfer: z.array(transferEntrySchema).min(1),
  /** Labelled held-out frames: early stopping, newbob, and the closing table. */
  dev: transferSetSchema.optional(),
  loss: z
    .strictObject({
      temperature: z.number().positive().default(2),
      softWeight: z.number().min(0).default(1),
      hardWeight: z.number().min(0).default(0.5),
      /** Multiply the soft term by T² (the paper's scaling). */
      t2: z.boolean().default(true),
      /** 'kl' trains exactly like 'cross-entropy' (same gradient; they differ by the teacher's entropy). */
      kind: z.enum(['cross-entropy', 'kl', 'logit-matching']).default('cross-entropy'),
      /** Keep only the teacher's k largest logits per frame (plus the tail fill, exact at the temperature). */
      topK: z.number().int().positive().optional(),
    })
    .prefault({}),
  /** The student's shape; absent fields come from the (first) teacher's config. */
  student: z
    .strictObject({
      hiddenLayers: z.number().int().min(0).optional(),
      hiddenUnits: z.number().int().positive().optional(),
      dropout: z.number().min(0).lt(1).optional(),
      /** Splice context; default the teacher's. */
      context: z.strictObject({ left: z.number().int().min(0), right: z.number().int().min(0) }).optional(),
    })
    .prefault({}),
  /** Absent fields come from the (first) teacher's training config (Adam at its learning rate). */
  training: z
    .strictObject({
      epochs: z.number().int().positive().optional(),
      batchSize: z.number().int().positive().optional(),
      learningRate: z.number().positive().optional(),
      /** Early stopping on dev frame accuracy (0 = off; needs dev). */
      patience: z.number().int().min(0).optional(),
      seed: z.number().int().min(0).default(0),
    })
    .prefault({}),
  engine: z.enum(['native', 'tfjs', 'auto']).default('auto'),
  /** A hard-label model: the table then shows the share of the teacher's gain over it that the student kept. */
  baseline: z.string().min(1).optional(),
});
export type DistillConfig = z.output<typeof distillConfigSchema>;
export type DistillConfigInput = z.input<typeof distillConfigSchema>;

/** Several transfer sets as one Dataset: set s's frames appear ⌊w⌋ times plus a seeded share (w − ⌊w⌋) of them. */
export class TransferMixture implements Dataset {
  readonly size: number;
  readonly featureDim: number;
  readonly numClasses: number;
  readonly setOf: Int32Array;
  readonly localOf: Int32Array;
  constructor(
    readonly sets: readonly FrameDataset[],
    readonly weights: readonly number[],
    /** Per set: false drops its labels (soft targets only). */
    readonly labelled: readonly boolean[],
    seed: number,
  ) {
    const rng = new Rng(seed).fork('transfer-mixture');
    const s: number[] = [];
    const l: number[] = [];
    sets.forEach((ds, k) => {
      if (ds.featureDim !== sets[0].featureDim || ds.numClasses !== sets[0].numClasses) throw new Error(`transfer set ${k} has other feature or class dimensions than set 0`);
      const w = weights[k];
      for (let r = 0; r < Math.floor(w); r++) for (let i = 0; i < ds.size; i++) (s.push(k), l.push(i));
      const extra = Math.round((w - Math.floor(w)) * ds.size);
      if (extra > 0) for (const i of Array.from(rng.permutation(ds.size).subarray(0, extra)).sort((a, b) => a - b)) (s.push(k), l.push(i));
    });
    this.setOf = Int32Array.from(s);
    this.localOf = Int32Array.from(l);
    this.size = s.length;
    this.featureDim = sets[0].featureDim;
    this.numClasses = sets[0].numClasses;
  }

  /** Positions of `indices` grouped by set: [set, positions in the batch, local indices]. */
  split(indices: Int32Array): { set: number; rows: number[]; local: Int32Array }[] {
    const by = new Map<number, number[]>();
    indices.forEach((g, r) => {
      const k = this.setOf[g];
      if (!by.has(k)) by.set(k, []);
      by.get(k)!.push(r);
    });
    return [...by].map(([set, rows]) => ({ set, rows, local: Int32Array.from(rows, (r) => this.localOf[indices[r]]) }));
  }

  gather(indices: Int32Array): HostBatch {
    const n = indices.length;
    const D = this.featureDim;
    const features = new Float32Array(n * D);
    const labels = new Int32Array(n).fill(-1);
    for (const part of this.split(indices)) {
      const b = this.sets[part.set].gather(part.local);
      part.rows.forEach((r, j) => {
        features.set(b.features.subarray(j * D, (j + 1) * D), r * D);
        if (this.labelled[part.set] && b.labels) labels[r] = b.labels[j];
      });
    }
    return { size: n, featureDim: D, numClasses: this.numClasses, features, indices: Int32Array.from(indices), labels };
  }

  batches(options: BatchOptions): Iterable<HostBatch> {
    return batchesByGather(this, options);
  }
}

/** A model teacher that reads its own frontend's features of the same frames (its context may differ from the student's). */
class FramesTeacher implements Teacher {
  readonly numClasses: number;
  readonly logits?: (b: HostBatch) => tf.Tensor2D;
  constructor(
    private readonly inner: Teacher,
    private readonly frames: FrameDataset,
  ) {
    this.numClasses = inner.numClasses;
    if (inner.logits) this.logits = (b) => inner.logits!(this.own(b));
  }
  private own(b: HostBatch): HostBatch {
    return this.frames.gather(b.indices);
  }
  probabilities(b: HostBatch, temperature: number): tf.Tensor2D {
    return this.inner.probabilities(this.own(b), temperature);
  }
}

/** Per-set teachers behind one Teacher for a TransferMixture (batch indices are mixture positions). */
export class RoutedTeacher implements Teacher {
  readonly numClasses: number;
  readonly logits?: (b: HostBatch) => tf.Tensor2D;
  readonly hostLogits?: (b: HostBatch) => Float32Array;
  readonly hostProbabilities: (b: HostBatch, temperature: number) => Float32Array;
  constructor(
    private readonly mixture: TransferMixture,
    private readonly teachers: readonly Teacher[],
    topK?: number,
    tailTemperature = 1,
  ) {
    this.numClasses = mixture.numClasses;
    const withLogits = teachers.every((t) => typeof t.logits === 'function' || typeof t.hostLogits === 'function');
    if (topK !== undefined && !withLogits) throw new ConfigError('loss.topK needs teachers with logits (stored logits, one model, or combine: geometric)');
    if (topK !== undefined && topK >= this.numClasses) throw new ConfigError(`loss.topK must be below the ${this.numClasses} classes, got ${topK}`);
    if (withLogits) {
      this.hostLogits = (b) => {
        const z = this.gatherRows(b, (t, sub) => (t.hostLogits ? t.hostLogits(sub) : download(t.logits!(sub))));
        if (topK !== undefined) {
          const C = this.numClasses;
          for (let r = 0; r < b.size; r++) {
            const row = z.subarray(r * C, (r + 1) * C);
            const s = sparsifyRow(row, topK, tailTemperature);
            row.fill(s.fill);
            s.indices.forEach((j, q) => (row[j] = s.values[q]));
          }
        }
        return z;
      };
      this.logits = (b) => tf.tensor2d(this.hostLogits!(b), [b.size, this.numClasses]);
      this.hostProbabilities = (b, T) => softmaxRowsHost(this.hostLogits!(b), this.numClasses, T);
    } else this.hostProbabilities = (b, T) => this.gatherRows(b, (t, sub) => (t.hostProbabilities ? t.hostProbabilities(sub, T) : download(t.probabilities(sub, T))));
  }

  private gatherRows(b: HostBatch, of: (t: Teacher, sub: HostBatch) => Float32Array): Float32Array {
    const C = this.numClasses;
    const out = new Float32Array(b.size * C);
    const D = b.featureDim;
    for (const part of this.mixture.split(b.indices)) {
      const features = new Float32Array(part.rows.length * D);
      part.rows.forEach((r, j) => features.set(b.features.subarray(r * D, (r + 1) * D), j * D));
      const sub: HostBatch = { size: part.rows.length, featureDim: D, numClasses: C, features, indices: part.local };
      const z = of(this.teachers[part.set], sub);
      part.rows.forEach((r, j) => out.set(z.subarray(j * C, (j + 1) * C), r * C));
    }
    return out;
  }

  probabilities(b: HostBatch, temperature: number): tf.Tensor2D {
    return tf.tensor2d(this.hostProbabilities(b, temperature), [b.size, this.numClasses]);
  }
}

function download(t: tf.Tensor): Float32Array {
  const d = t.dataSync() as Float32Array;
  const out = Float32Array.from(d);
  t.dispose();
  return out;
}

export interface DistillRow {
  system: string;
  devFrameAccuracy: number;
}

export interface DistillRunResult {
  outDir: string;
  student: { dir: string; devFrameAccuracy?: number; epochs: number; resumedFromEpoch: number; reused: boolean };
  rows: DistillRow[];
  /** (student − baseline) / (teacher − baseline) on dev, with a baseline and a teacher. */
  gainKept?: number;
  /** The closing table (markdown). */
  table: string;
  seconds: number;
}

export interface DistillRunOptions {
  config: DistillConfigInput;
  outDir: string;
  log?: (line: string) => void;
  /** Per epoch (and step) progress from distill(). */
  onEpoch?: (record: EpochRecord, epochs: number) => void;
}

export const DISTILL_FILE = 'distill.json';

/** Validate a distill config and make its paths absolute. */
export function parseDistillConfig(input: unknown, where = 'distill config'): DistillConfig {
  const r = distillConfigSchema.safeParse(input);
  if (!r.success) throw new ConfigError(`${where}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const c = r.data;
  const abs = (p: string | undefined) => (p === undefined ? undefined : resolve(p));
  return {
    ...c,
    teachers: c.teachers.map((t) => resolve(t)),
    transfer: c.transfer.map((t) => ({ ...t, logits: abs(t.logits), feats: abs(t.feats), corpus: abs(t.corpus), utts: abs(t.utts), exclude: abs(t.exclude), ali: abs(t.ali) })),
    baseline: abs(c.baseline),
  };
}

/** Dev frame accuracy of loaded models on a dev spec (each model with its own frontend). */
function devAccuracy(models: readonly LoadedAcousticModel[], combine: 'arithmetic' | 'geometric', c: DistillConfig, where: string): number {
  const m0 = models[0];
  const dev = labelledFrames(loadTransferSet(c.dev!, { inventory: m0.inventory, numClasses: m0.model.numClasses, frontend: m0.frontend }, where), m0.model.numClasses, m0.frontend, where);
  return models.length === 1 ? frameAccuracy(m0.model, dev) : frameAccuracy(new EnsembleClassifier(models.map((m) => m.model), combine), dev);
}

/**
 * Distil a student into outDir (model/, lang.json, lm-text.txt, tree.json when the teacher has one, distill.json,
 * config.json). A finished student with the same settings is reused; an interrupted one resumes from its
 * per-epoch checkpoint (outDir/checkpoint).
 */
export async function runDistill(o: DistillRunOptions): Promise<DistillRunResult> {
  const t0 = Date.now();
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const c = parseDistillConfig(o.config);
  const loaded: LoadedAcousticModel[] = [];
  try {
    // Teachers: stored logits per transfer set, else the teacher models.
    const direct = c.teachers.length > 0 ? await loadTeacherModels(c.teachers, c.engine) : undefined;
    if (direct) loaded.push(...direct.models);
    const stored = c.transfer.map((t) => (t.logits ? readTeacherLogitsManifest(t.logits) : undefined));
    const teacherDirs = [...new Set([...(direct?.dirs ?? []), ...stored.flatMap((m) => m?.artifacts.flatMap((a) => a.teachers) ?? [])])];
    if (teacherDirs.length === 0) throw new ConfigError('distill: no teacher; give teachers (model dirs) or transfer sets with logits (kdasr teacher-logits outputs)');
    for (const [i, t] of c.transfer.entries()) {
      if (!t.logits && !direct) throw new ConfigError(`distill: transfer[${i}] has no logits, and no teacher models are given to compute its soft targets`);
      if (!t.logits && !t.feats) throw new ConfigError(`distill: transfer[${i}] needs feats (or logits: a teacher-logits output that names its transfer set)`);
    }
    // The reference model (inventory, priors, frontend, config) is the first teacher.
    const ref = direct?.models[0] ?? (await loadAcousticModel(modelDirsOf(teacherDirs[0])[0], { engine: 'tfjs' }));
    if (!direct) loaded.push(ref);
    const numClasses = ref.model.numClasses;
    const refConfig = ref.meta.config;
    const splice = c.student.context ?? refConfig.frontend.splice;
    const studentFrontendConfig = { ...ref.meta.frontend.config, splice };
    const sfe = () => new Frontend(studentFrontendConfig, ref.meta.frontend.globalStats);
    const studentConfig: AcousticModelConfigInput = {
      ...refConfig,
      hiddenLayers: c.student.hiddenLayers ?? refConfig.hiddenLayers,
      hiddenUnits: c.student.hiddenUnits ?? refConfig.hiddenUnits,
      dropout: c.student.dropout ?? refConfig.dropout,
      frontend: studentFrontendConfig,
      epochs: c.training.epochs ?? refConfig.epochs,
      batchSize: c.training.batchSize ?? refConfig.batchSize,
      optimizer: c.training.learningRate !== undefined ? { kind: 'adam', learningRate: c.training.learningRate } : refConfig.optimizer,
      patience: c.dev ? (c.training.patience ?? refConfig.patience) : 0,
      seed: c.training.seed,
    };

    // Transfer sets in the student's frontend, with each one's teacher.
    const sets: LoadedTransferSet[] = [];
    const teachers: Teacher[] = [];
    const records: (TransferSetRecord & { logits?: string; weight: number; labelled: boolean })[] = [];
    for (const [i, t] of c.transfer.entries()) {
      const where = `transfer[${i}]`;
      const man = stored[i];
      const { logits: _logits, ...own } = t;
      const spec = man ? { ...man.transfer.spec, labels: t.labels, ali: t.ali ?? man.transfer.spec.ali, weight: t.weight } : { ...own, feats: t.feats! };
      const set = loadTransferSet(spec, { inventory: ref.inventory, numClasses, frontend: sfe() }, where);
      if (man) {
        if (set.record.framesSha256 !== man.transfer.framesSha256)
          throw new ConfigError(`distill: ${where}: the frames of ${man.transfer.spec.feats} no longer match the stored logits in ${t.logits} (hash ${man.transfer.framesSha256.slice(0, 12)}, now ${set.record.framesSha256.slice(0, 12)}); rerun kdasr teacher-logits`);
        if (man.numClasses !== numClasses) throw new ConfigError(`distill: ${where}: stored logits have ${man.numClasses} classes, the teacher models ${numClasses}`);
        const members = man.artifacts.map((a) => StoredLogitsTeacher.open(join(t.logits!, a.dir), { cacheChunks: 'all' }));
        for (const m of members) if (m.numExamples !== set.dataset.size) throw new ConfigError(`distill: ${where}: ${m.dir} holds ${m.numExamples} frames, the transfer set ${set.dataset.size}`);
        teachers.push(members.length === 1 ? members[0] : new EnsembleTeacher(members, { combine: c.combine }));
      } else {
        const m = direct!.models;
        // The teachers read their own frontend's view of the same frames.
        const own = loadTransferSet({ ...spec, labels: 'none' }, { inventory: m[0].inventory, numClasses, frontend: m[0].frontend }, where).dataset;
        const inner = m.length === 1 ? new ModelTeacher(m[0].model) : new EnsembleTeacher(m.map((x) => new ModelTeacher(x.model)), { combine: c.combine });
        teachers.push(new FramesTeacher(inner, own));
      }
      sets.push(set);
      const labelled = set.record.labelledFrames > 0 && c.loss.hardWeight > 0;
      records.push({ ...set.record, ...(t.logits ? { logits: t.logits } : {}), weight: t.weight, labelled });
      log(`distill: ${where}: ${set.record.utterances} utterances, ${set.record.frames} frames (${set.record.labelledFrames} labelled: ${set.record.labelSource}), weight ${t.weight}, teacher ${t.logits ? `stored logits ${t.logits}` : `${direct!.dirs.length} model(s)`}`);
    }
    if (c.loss.softWeight === 0 && !records.some((r) => r.labelled)) throw new ConfigError('distill: soft weight 0 and no labelled frames: nothing to learn from');
    const mixture = new TransferMixture(
      sets.map((s) => s.dataset),
      records.map((r) => r.weight),
      records.map((r) => r.labelled),
      c.training.seed,
    );
    const teacher = new RoutedTeacher(mixture, teachers, c.loss.topK, c.loss.temperature);
    const dev = c.dev ? labelledFrames(loadTransferSet(c.dev, { inventory: ref.inventory, numClasses, frontend: sfe() }, 'dev'), numClasses, sfe(), 'dev') : undefined;
    const distillation = {
      temperature: c.loss.temperature,
      softWeight: c.loss.softWeight,
      hardWeight: c.loss.hardWeight,
      scaleByTemperatureSquared: c.loss.t2,
      lossKind: c.loss.kind === 'logit-matching' ? ('logit-matching' as const) : ('soft' as const),
    };

    const settings = { config: { ...c, baseline: undefined }, transfer: records.map((r) => ({ frames: r.framesSha256, weight: r.weight, labelled: r.labelled })), teachers: teacherDirs };
    const settingsHash = hashOf(settings);
    const modelDir = join(o.outDir, 'model');
    const ckpt = join(o.outDir, 'checkpoint');
    const prev = existsSync(join(o.outDir, DISTILL_FILE)) ? (JSON.parse(readFileSync(join(o.outDir, DISTILL_FILE), 'utf8')) as { settingsHash?: string; history?: EpochRecord[]; resumedFromEpoch?: number }) : undefined;
    const reuse = prev?.settingsHash === settingsHash && existsSync(join(modelDir, 'kdasr.json'));
    // Beside the checkpoint: distill() replaces the checkpoint directory as a whole at every epoch.
    const hashFile = join(o.outDir, 'checkpoint.settings.json');
    if (!reuse && existsSync(ckpt) && (!existsSync(hashFile) || (JSON.parse(readFileSync(hashFile, 'utf8')) as { hash: string }).hash !== settingsHash)) {
      log(`distill: ${ckpt} is from other settings; starting over`);
      rmSync(ckpt, { recursive: true, force: true });
    }
    writeJsonAtomic(join(o.outDir, 'config.json'), c);
    let studentAcc: number | undefined;
    let history: EpochRecord[];
    let resumedFromEpoch = 0;
    if (reuse) {
      log(`distill: ${modelDir} is complete for these settings; evaluating it`);
      const s = await loadAcousticModel(modelDir, { engine: c.engine });
      loaded.push(s);
      studentAcc = dev ? frameAccuracy(s.model, dev) : undefined;
      history = prev!.history ?? [];
      resumedFromEpoch = prev!.resumedFromEpoch ?? 0;
    } else {
      writeJsonAtomic(hashFile, { hash: settingsHash });
      log(`distill: student ${studentConfig.hiddenLayers}x${studentConfig.hiddenUnits}, context ${splice.left}+${splice.right}, ${mixture.size} frames per epoch, T=${c.loss.temperature}, soft ${c.loss.softWeight}, hard ${c.loss.hardWeight}${c.loss.t2 ? ', T\u00b2' : ''}, ${c.loss.kind}${c.loss.topK ? `, top-${c.loss.topK}` : ''}`);
      const trained = await trainAcousticModel({
        config: studentConfig,
        train: mixture,
        dev,
        seed: c.training.seed,
        engine: c.engine,
        teacher,
        distillation,
        checkpointDir: ckpt,
        onProgress: (e) => {
          if (e.phase === 'epoch' && e.record) (o.onEpoch ?? ((r, n) => log(`  epoch ${r.epoch}/${n}: loss ${r.loss.toFixed(4)} (soft ${r.softLoss.toFixed(4)}, hard ${r.hardLoss.toFixed(4)}) dev acc ${r.validation?.toFixed(4) ?? '-'} (${r.seconds.toFixed(1)} s)`)))(e.record, e.epochs);
        },
      });
      studentAcc = trained.devFrameAccuracy;
      history = trained.result.history;
      resumedFromEpoch = trained.result.resumedFromEpoch;
      const teacherExp = expDirOf(modelDirsOf(teacherDirs[0])[0]);
      await saveAcousticModel(
        modelDir,
        trained.model,
        {
          config: trained.config,
          inventory: ref.inventory.toJSON(),
          frontend: sfe().toJSON(),
          // The teacher's state priors: same states, and the student approximates the teacher's posteriors.
          ...(ref.meta.logPriors ? { logPriors: ref.meta.logPriors } : {}),
          labels: `distilled from ${teacherDirs.join(', ')}`,
          engine: trained.engine,
          ...(ref.meta.numPdfs !== undefined ? { numPdfs: ref.meta.numPdfs } : {}),
        },
        {
          devFrameAccuracy: studentAcc,
          history,
          engine: trained.engine,
          distillation: {
            teachers: teacherDirs,
            combine: c.combine,
            transferSets: records.map((r) => ({ feats: r.spec.feats, corpus: r.spec.corpus ?? null, split: r.spec.split ?? null, utts: r.spec.utts ?? null, logits: r.logits ?? null, frames: r.frames, framesSha256: r.framesSha256, weight: r.weight, labelled: r.labelled })),
            loss: c.loss,
          },
        },
      );
      trained.model.dispose();
      for (const f of ['lang.json', 'lm-text.txt', 'tree.json']) if (existsSync(join(teacherExp, f))) copyFileSync(join(teacherExp, f), join(o.outDir, f));
      rmSync(ckpt, { recursive: true, force: true });
      rmSync(hashFile, { force: true });
    }

    // The closing table: dev frame accuracy of each teacher model, the combined teacher, the baseline, the student.
    const rows: DistillRow[] = [];
    let teacherAcc: number | undefined;
    let baselineAcc: number | undefined;
    if (c.dev) {
      const teacherModels = direct ? direct.models : (await loadTeacherModels(teacherDirs.filter((d) => existsSync(d)), c.engine)).models;
      if (!direct) loaded.push(...teacherModels);
      teacherModels.forEach((m, i) => rows.push({ system: teacherModels.length > 1 ? `teacher member ${i}` : 'teacher', devFrameAccuracy: devAccuracy([m], c.combine, c, 'dev') }));
      if (teacherModels.length > 1) rows.push({ system: `teacher ensemble (${c.combine})`, devFrameAccuracy: devAccuracy(teacherModels, c.combine, c, 'dev') });
      teacherAcc = rows.length ? rows[rows.length - 1].devFrameAccuracy : undefined;
      if (c.baseline) {
        const b = await loadTeacherModels([c.baseline], c.engine);
        loaded.push(...b.models);
        baselineAcc = devAccuracy(b.models, c.combine, c, 'dev');
        rows.push({ system: 'baseline (hard labels)', devFrameAccuracy: baselineAcc });
      }
      if (studentAcc !== undefined) rows.push({ system: 'student (distilled)', devFrameAccuracy: studentAcc });
    }
    // Only meaningful when the teacher beats the baseline: otherwise there is no gain to keep.
    const gainKept = teacherAcc !== undefined && baselineAcc !== undefined && studentAcc !== undefined && teacherAcc > baselineAcc ? (studentAcc - baselineAcc) / (teacherAcc - baselineAcc) : undefined;
    const noGain = teacherAcc !== undefined && baselineAcc !== undefined && teacherAcc <= baselineAcc;
    const table = rows.length
      ? markdownTable([['system', 'dev frame accuracy'], ...rows.map((r) => [r.system, `${(100 * r.devFrameAccuracy).toFixed(2)}%`]), ...(gainKept !== undefined ? [['share of the teacher\u2019s gain kept', `${(100 * gainKept).toFixed(1)}%`]] : noGain ? [['share of the teacher\u2019s gain kept', 'n/a: the teacher is not above the baseline']] : [])], { align: ['l', 'r'] })
      : '(no dev set: give dev to see the frame accuracies)';
    writeJsonAtomic(join(o.outDir, DISTILL_FILE), {
      settingsHash,
      teachers: teacherDirs,
      transfer: records,
      loss: c.loss,
      student: { config: studentConfig, devFrameAccuracy: studentAcc },
      history,
      resumedFromEpoch,
      rows,
      gainKept: gainKept ?? null,
      provenance: provenance(),
    });
    return { outDir: o.outDir, student: { dir: modelDir, devFrameAccuracy: studentAcc, epochs: history.length, resumedFromEpoch, reused: reuse }, rows, gainKept, table, seconds: (Date.now() - t0) / 1000 };
  } finally {
    for (const m of loaded) m.model.dispose();
  }
}
