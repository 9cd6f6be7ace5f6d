/**
 * The speech recipe's training stages after the ensemble (ensemble.ts; Table 1's baseline is member 0): the members' logits on the
 * transfer set stored as artifacts (dense, and top-k for the ablation), and every student: distilled at each
 * temperature, the ablations, and Table 5's small-data pair. Each model is its own unit of resume: a finished one
 * (its model/kdasr.json) is reused and an unfinished one resumes from its per-epoch checkpoint.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng, assertSafeId, writeJsonAtomic, type BatchSource, type Classifier, type Teacher } from '@kdasr/core';
import {
  EnsembleTeacher,
  IndexSubset,
  StoredLogitsTeacher,
  TEACHER_LOGITS_INDEX,
  frameAccuracy,
  writeTeacherLogits,
  type EpochRecord,
  type DistillOptions,
} from '@kdasr/distillation';
import {
  loadAcousticModel,
  priorsFromCounts,
  saveAcousticModel,
  trainAcousticModel,
  type AcousticClassifier,
  type AcousticModelConfigInput,
} from '@kdasr/acoustic-models';
import type { AsrRecipeConfig } from './config.js';
import { frontendOf, loadAsrData, type LoadedAsrData } from './data.js';
import { Frontend } from '@kdasr/acoustic-models';
import type { Stage, StageContext } from '../stages.js';
import { writeShardedTeacherLogits } from '../workflow/teacher-logits.js';

export const MODELS_DIR = 'models';
export const LOGITS_DIR = 'logits';
export const STUDENTS_DIR = 'students';

export function memberDir(expDir: string, i: number): string {
  return join(expDir, MODELS_DIR, `member-${i}`);
}

export function acousticConfig(c: AsrRecipeConfig, epochs = c.model.epochs, patience = c.model.patience): AcousticModelConfigInput {
  return {
    hiddenLayers: c.model.hiddenLayers,
    hiddenUnits: c.model.hiddenUnits,
    dropout: c.model.dropout,
    frontend: frontendOf(c),
    epochs,
    batchSize: c.model.batchSize,
    optimizer: { kind: 'adam', learningRate: c.model.learningRate },
    newbob: { factor: 0.5, minDelta: 0.001 },
    patience,
    seed: c.seed,
  };
}

/** What a trained model's train.json holds (curves for the report). */
export interface ModelRecord {
  name: string;
  seed: number;
  engine: 'native' | 'tfjs';
  history: EpochRecord[];
  /** Per epoch, when recorded: frame accuracy on the training frames it saw (small-data runs) and on test. */
  curves?: { trainAccuracy: number[]; devAccuracy: number[]; testAccuracy: number[] };
  finalEpoch: number;
  bestEpoch?: number;
  seconds: number;
  settings?: unknown;
}

export async function saveModelWithRecord(dir: string, data: LoadedAsrData, model: AcousticClassifier, config: ReturnType<typeof acousticConfig>, logPriors: number[], record: ModelRecord): Promise<void> {
  await saveAcousticModel(
    join(dir, 'model'),
    model,
    {
      config: { ...(config as object), seed: record.seed } as never,
      inventory: data.inventory.toJSON(),
      frontend: new Frontend(config.frontend ?? {}).toJSON(),
      logPriors,
      labels: 'synthesiser phone alignments',
      engine: record.engine,
      ...(data.tree ? { numPdfs: data.tree.numPdfs } : {}),
    },
    { history: record.history, engine: record.engine },
  );
  writeJsonAtomic(join(dir, 'train.json'), record);
}

export function readRecord(dir: string): ModelRecord | undefined {
  const f = join(dir, 'train.json');
  return existsSync(f) && existsSync(join(dir, 'model', 'kdasr.json')) ? (JSON.parse(readFileSync(f, 'utf8')) as ModelRecord) : undefined;
}

export function logPriorsOf(data: LoadedAsrData): number[] {
  return Array.from(priorsFromCounts(data.task.train.labels(), data.task.numClasses), Math.log);
}

export function epochLogger(ctx: Pick<StageContext, 'log'>, name: string) {
  return (e: { phase: string; record?: EpochRecord; epochs: number }) => {
    if (e.phase === 'epoch' && e.record)
      ctx.log(`  ${name} epoch ${e.record.epoch}/${e.epochs}: loss ${e.record.loss.toFixed(4)} dev acc ${e.record.validation?.toFixed(4) ?? '-'} lr ${e.record.learningRate.toExponential(1)} (${e.record.seconds.toFixed(1)} s)`);
  };
}

export async function loadMembers(expDir: string, c: AsrRecipeConfig): Promise<AcousticClassifier[]> {
  const out: AcousticClassifier[] = [];
  for (let i = 0; i < c.ensemble.members; i++) out.push((await loadAcousticModel(join(memberDir(expDir, i), 'model'), { engine: c.engine })).model);
  return out;
}

function logitsDir(expDir: string, kind: 'dense' | `top${number}`, i: number): string {
  return join(expDir, LOGITS_DIR, kind, `member-${i}`);
}

export const logitsStage: Stage<AsrRecipeConfig> = {
  name: 'teacher-logits',
  outputs: [LOGITS_DIR],
  description: 'store each member\u2019s logits on the transfer set (the training frames): dense, and top-k for the ablation',
  configSlice: (c) => ({ topK: c.ablations.enabled ? c.ablations.topK : null, tailTemperature: c.ablations.temperature }),
  after: ['ensemble'],
  async run(c, ctx) {
    const data = loadAsrData(ctx.expDir, c);
    const members = await loadMembers(ctx.expDir, c);
    let bytes = 0;
    for (const [i, m] of members.entries()) {
      const dense = logitsDir(ctx.expDir, 'dense', i);
      if (!existsSync(join(dense, TEACHER_LOGITS_INDEX))) {
        // The same sharded writer as kdasr teacher-logits: an interrupted member resumes at its next shard.
        const w = await writeShardedTeacherLogits(dense, m, data.task.train, { chunkRows: 16384, shardChunks: 4, batchSize: 1024, sidecarConfig: { member: i, transferSet: 'train frames' }, seed: c.seed + i });
        bytes += w.bytes;
        ctx.log(`  member ${i}: ${data.task.train.size} x ${data.task.numClasses} logits -> ${dense} (${w.written} shard(s) computed, ${w.reused} reused)`);
      }
      if (c.ablations.enabled) {
        const k = c.ablations.topK;
        const top = logitsDir(ctx.expDir, `top${k}`, i);
        if (!existsSync(join(top, TEACHER_LOGITS_INDEX)))
          await writeTeacherLogits(top, openStored(dense), data.task.train, { chunkRows: 16384, batchSize: 1024, topK: k, tailTemperature: c.ablations.temperature, config: { member: i, from: dense, topK: k } });
      }
      m.dispose();
    }
    data.archive.close();
    return { members: members.length, denseBytesWrittenNow: bytes };
  },
};

function openStored(dir: string): StoredLogitsTeacher {
  // Hold every chunk: students draw frames uniformly from the whole transfer set.
  return StoredLogitsTeacher.open(dir, { cacheChunks: 'all', verifyChecksums: true });
}

/** One student: what it learns from, and how. */
export interface StudentSpec {
  name: string;
  /** Short label for tables. */
  label: string;
  group: 'temperature' | 'ablation' | 'small-data';
  /** null: hard labels only. */
  teacher: null | { combine: 'arithmetic' | 'geometric'; logits: 'dense' | 'topk' };
  distillation?: Pick<DistillOptions, 'temperature' | 'softWeight' | 'hardWeight' | 'scaleByTemperatureSquared' | 'lossKind'>;
  /** Fraction of the training frames (Table 5), else all. */
  fraction?: number;
  epochs: number;
  patience: number;
}

export function studentSpecs(c: AsrRecipeConfig): StudentSpec[] {
  const epochs = c.distillation.epochs ?? c.model.epochs;
  const hw = c.distillation.hardWeight;
  const out: StudentSpec[] = c.distillation.temperatures.map((t) => ({
    name: `distilled-T${t}`,
    label: `distilled, T=${t}`,
    group: 'temperature',
    teacher: { combine: 'arithmetic', logits: 'dense' },
    distillation: { temperature: t, hardWeight: hw, softWeight: 1, scaleByTemperatureSquared: true, lossKind: 'soft' },
    epochs,
    patience: c.model.patience,
  }));
  if (c.ablations.enabled) {
    const t = c.ablations.temperature;
    const base = { group: 'ablation' as const, epochs, patience: c.model.patience };
    const soft = { temperature: t, hardWeight: hw, softWeight: 1, scaleByTemperatureSquared: true, lossKind: 'soft' as const };
    if (!c.distillation.temperatures.includes(t))
      out.push({ ...base, name: `distilled-T${t}`, label: `distilled, T=${t} (reference)`, teacher: { combine: 'arithmetic', logits: 'dense' }, distillation: soft });
    out.push(
      { ...base, name: 'ablation-no-T2', label: 'without the T\u00b2 scale', teacher: { combine: 'arithmetic', logits: 'dense' }, distillation: { ...soft, scaleByTemperatureSquared: false } },
      { ...base, name: 'ablation-geometric', label: 'geometric-mean ensemble', teacher: { combine: 'geometric', logits: 'dense' }, distillation: soft },
      { ...base, name: 'ablation-soft-only', label: 'soft targets only (hard weight 0)', teacher: { combine: 'arithmetic', logits: 'dense' }, distillation: { ...soft, hardWeight: 0 } },
      { ...base, name: 'ablation-logit-matching', label: 'logit matching (mean logits, \u00bd\u2016z\u2212v\u2016\u00b2)', teacher: { combine: 'geometric', logits: 'dense' }, distillation: { ...soft, lossKind: 'logit-matching' } },
      { ...base, name: `ablation-top${c.ablations.topK}`, label: `stored top-${c.ablations.topK} logits per member`, teacher: { combine: 'arithmetic', logits: 'topk' }, distillation: soft },
    );
  }
  if (c.smallData.enabled) {
    const s = c.smallData;
    out.push(
      { name: 'small-hard', label: `${fmtPct(s.fraction)} of frames, hard targets`, group: 'small-data', teacher: null, fraction: s.fraction, epochs: s.epochs, patience: 0 },
      {
        name: 'small-soft',
        label: `${fmtPct(s.fraction)} of frames, soft targets (T=${s.temperature})`,
        group: 'small-data',
        teacher: { combine: 'arithmetic', logits: 'dense' },
        distillation: { temperature: s.temperature, hardWeight: s.hardWeight, softWeight: 1, scaleByTemperatureSquared: true, lossKind: 'soft' },
        fraction: s.fraction,
        epochs: s.epochs,
        patience: 0,
      },
    );
  }
  return out;
}

export function fmtPct(f: number): string {
  return `${+(100 * f).toFixed(2)}%`;
}

/** The frames a small-data run trains on: a seeded random subset of the training frames (same for hard and soft). */
export function smallDataIndices(size: number, fraction: number, seed: number): Int32Array {
  const n = Math.max(1, Math.round(size * fraction));
  return new Rng(seed).fork('small-data').permutation(size).slice(0, n).sort();
}

export function studentDir(expDir: string, name: string): string {
  return join(expDir, STUDENTS_DIR, assertSafeId(name, 'student name'));
}

export const studentsStage: Stage<AsrRecipeConfig> = {
  name: 'students',
  outputs: [STUDENTS_DIR],
  description: 'train the students: distilled at each temperature, the ablations, and the small-data pair',
  configSlice: (c) => ({ specs: studentSpecs(c), model: c.model, seed: c.seed, engine: c.engine }),
  after: ['teacher-logits'],
  async run(c, ctx) {
    const data = loadAsrData(ctx.expDir, c);
    const logPriors = logPriorsOf(data);
    const specs = studentSpecs(c);
    const teachers = new Map<string, Teacher>();
    const teacherOf = (t: NonNullable<StudentSpec['teacher']>): Teacher => {
      const key = `${t.combine}/${t.logits}`;
      let teacher = teachers.get(key);
      if (!teacher) {
        const kind = t.logits === 'dense' ? 'dense' : (`top${c.ablations.topK}` as const);
        // Dense members are shared between the arithmetic and geometric teachers (one copy in memory).
        const members = Array.from({ length: c.ensemble.members }, (_, i) => stored(logitsDir(ctx.expDir, kind, i)));
        teacher = new EnsembleTeacher(members, { combine: t.combine });
        teachers.set(key, teacher);
      }
      return teacher;
    };
    const storedCache = new Map<string, StoredLogitsTeacher>();
    const stored = (dir: string) => {
      let s = storedCache.get(dir);
      if (!s) storedCache.set(dir, (s = openStored(dir)));
      return s;
    };
    const summary: Record<string, number | undefined> = {};
    for (const spec of specs) {
      const dir = studentDir(ctx.expDir, spec.name);
      if (readRecord(dir)) {
        ctx.log(`  ${spec.name}: already trained`);
        continue;
      }
      const subset = spec.fraction ? smallDataIndices(data.task.train.size, spec.fraction, c.seed) : undefined;
      const transfer: BatchSource = subset ? new IndexSubset(data.task.train, subset) : data.task.train;
      // Curves survive an interrupt beside the checkpoint (a resumed run appends to them).
      const curvesFile = join(dir, 'curves.partial.json');
      const curves = existsSync(curvesFile) ? (JSON.parse(readFileSync(curvesFile, 'utf8')) as NonNullable<ModelRecord['curves']>) : { trainAccuracy: [] as number[], devAccuracy: [] as number[], testAccuracy: [] as number[] };
      // Small-data runs record train (their own frames) and test accuracy each epoch, to show the overfitting;
      // test is reported, never used for selection.
      const devMetric = subset
        ? (m: Classifier, dev: BatchSource) => {
            const d = frameAccuracy(m, dev);
            curves.trainAccuracy.push(frameAccuracy(m, transfer));
            curves.devAccuracy.push(d);
            curves.testAccuracy.push(frameAccuracy(m, data.task.test));
            writeJsonAtomic(curvesFile, curves);
            return d;
          }
        : undefined;
      const cfg = acousticConfig(c, spec.epochs, spec.patience);
      const seed = c.seed + 1000;
      ctx.log(`  ${spec.name}: ${spec.label}; ${transfer.size} transfer frames`);
      const t0 = Date.now();
      const r = await trainAcousticModel({
        config: cfg,
        train: transfer,
        dev: data.task.dev,
        seed,
        engine: c.engine,
        checkpointDir: join(dir, 'checkpoint'),
        teacher: spec.teacher ? teacherOf(spec.teacher) : undefined,
        distillation: spec.distillation,
        devMetric,
        restoreBest: !subset,
        onProgress: epochLogger(ctx, spec.name),
      });
      const record: ModelRecord = {
        name: spec.name,
        seed,
        engine: r.engine,
        history: r.result.history,
        ...(subset ? { curves } : {}),
        finalEpoch: r.result.finalEpoch,
        bestEpoch: r.result.bestEpoch,
        seconds: (Date.now() - t0) / 1000,
        settings: spec,
      };
      await saveModelWithRecord(dir, data, r.model, cfg, logPriors, record);
      summary[spec.name] = r.devFrameAccuracy;
      r.model.dispose();
    }
    data.archive.close();
    return { students: specs.map((s) => s.name), devFrameAccuracyNew: summary };
  },
};
