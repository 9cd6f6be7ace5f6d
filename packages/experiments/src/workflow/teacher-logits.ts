/**
 * `kdasr teacher-logits`: a teacher's logits on a transfer set, stored as @kdasr/distillation's stored-logits
 * artifact (chunked, sha256 per chunk, optional top-k with a tail temperature), one per member or one for the
 * combined ensemble. The frames are written in shards of whole chunks, each its own atomic artifact, and merged at
 * the end: an interrupted run keeps its finished shards and resumes at the next one.
 */
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SIDECAR_FILE, makeSidecar, writeDirAtomic, writeFileAtomic, writeJsonAtomic, type BatchOptions, type BatchSource, type Classifier, type Dataset, type HostBatch } from '@kdasr/core';
import { EnsembleClassifier, type LoadedAcousticModel } from '@kdasr/acoustic-models';
import { TEACHER_LOGITS_INDEX, writeTeacherLogits, type TeacherLogitsIndex } from '@kdasr/distillation';
import { z } from 'zod';
import { hashOf } from '../stages.js';
import { ConfigError } from './config-file.js';
import { loadTeacherModels, loadTransferSet, transferSetSchema, type TransferSetRecord } from './transfer-set.js';

export const teacherLogitsConfigSchema = z.strictObject({
  /** Model paths: a model dir, a kdasr train experiment, or an ensemble experiment (its members). */
  models: z.array(z.string().min(1)).min(1),
  /** Absent: one artifact per member. Else one artifact for the ensemble (see README on arithmetic). */
  combine: z.enum(['arithmetic', 'geometric']).optional(),
  transfer: transferSetSchema,
  /** Keep the k largest logits per frame plus one tail value (absent: dense). */
  topK: z.number().int().positive().optional(),
  /** The temperature at which top-k keeps the tail mass exactly (use the distillation T). */
  tailTemperature: z.number().positive().default(1),
  chunkRows: z.number().int().positive().default(4096),
  /** Chunks per shard: the unit of resume. */
  shardChunks: z.number().int().positive().default(4),
  batchSize: z.number().int().positive().default(1024),
  engine: z.enum(['native', 'tfjs', 'auto']).default('auto'),
});
export type TeacherLogitsConfig = z.output<typeof teacherLogitsConfigSchema>;
export type TeacherLogitsConfigInput = z.input<typeof teacherLogitsConfigSchema>;

/** OUT/transfer.json: the transfer set the artifacts index, and the teachers they came from. */
export const TRANSFER_FILE = 'transfer.json';

export interface TeacherLogitsManifest {
  format: 'kdasr-teacher-logits-set';
  version: 1;
  transfer: TransferSetRecord;
  /** Artifact directories (relative to OUT), one per member or one combined. */
  artifacts: { dir: string; teachers: string[]; combine?: 'arithmetic' | 'geometric' }[];
  numClasses: number;
  config: TeacherLogitsConfig;
}

export interface TeacherLogitsResult {
  outDir: string;
  manifest: TeacherLogitsManifest;
  /** Shards computed by this call (0 when everything was already there). */
  shardsWritten: number;
  shardsReused: number;
  bytes: number;
  seconds: number;
}

export interface TeacherLogitsOptions {
  config: TeacherLogitsConfigInput;
  outDir: string;
  log?: (line: string) => void;
  /** Frames done / total over the whole run (every artifact), after each batch. */
  onProgress?: (done: number, total: number) => void;
}

/** Frames [start, end) of a dataset, renumbered 0..n−1 (writeTeacherLogits stores rows by index). */
class FrameRange implements BatchSource {
  readonly size: number;
  readonly featureDim: number;
  readonly numClasses: number;
  constructor(
    private readonly ds: Dataset,
    private readonly start: number,
    end: number,
  ) {
    this.size = end - start;
    this.featureDim = ds.featureDim;
    this.numClasses = ds.numClasses;
  }
  *batches(options: BatchOptions): Iterable<HostBatch> {
    for (let a = 0; a < this.size; a += options.batchSize) {
      const n = Math.min(options.batchSize, this.size - a);
      const b = this.ds.gather(Int32Array.from({ length: n }, (_, i) => this.start + a + i));
      yield { ...b, indices: Int32Array.from({ length: n }, (_, i) => a + i) };
    }
  }
}

function shardName(i: number): string {
  return `shard-${String(i).padStart(5, '0')}`;
}

export interface ShardedLogitsOptions {
  chunkRows: number;
  /** Chunks per shard: the unit of resume. */
  shardChunks: number;
  batchSize: number;
  topK?: number;
  tailTemperature?: number;
  /** Recorded as the artifact's sidecar config; shards made under another config (or frame count) are not resumed. */
  sidecarConfig: unknown;
  seed?: number | null;
  /** Frames newly accounted for (computed or found in a finished shard). */
  onFrames?: (frames: number) => void;
}

/**
 * writeTeacherLogits in shards of whole chunks, each its own atomic artifact under `${dir}.shards/`, merged into
 * one stored-logits artifact at `dir` (the same index and chunk files an unsharded write gives). An interrupted
 * call keeps its finished shards and a rerun resumes at the next one. Returns shards written, reused, and bytes.
 */
export async function writeShardedTeacherLogits(dir: string, teacher: Classifier, ds: Dataset, o: ShardedLogitsOptions): Promise<{ written: number; reused: number; bytes: number }> {
  const progress = o.onFrames ?? (() => {});
  const shardRows = o.chunkRows * o.shardChunks;
  const shards = Math.max(1, Math.ceil(ds.size / shardRows));
  const work = `${dir}.shards`;
  // Shards from another config or transfer set are not resumed.
  const key = hashOf({ sidecarConfig: o.sidecarConfig, frames: ds.size, chunkRows: o.chunkRows, shardChunks: o.shardChunks, topK: o.topK ?? null, tailTemperature: o.tailTemperature ?? 1 });
  const keyFile = join(work, 'settings.json');
  if (existsSync(work) && (!existsSync(keyFile) || (JSON.parse(readFileSync(keyFile, 'utf8')) as { key: string }).key !== key)) rmSync(work, { recursive: true, force: true });
  if (!existsSync(keyFile)) writeJsonAtomic(keyFile, { key });
  let written = 0;
  let reused = 0;
  const indexes: TeacherLogitsIndex[] = [];
  for (let s = 0; s < shards; s++) {
    const sdir = join(work, shardName(s));
    const start = s * shardRows;
    const end = Math.min(ds.size, start + shardRows);
    if (existsSync(join(sdir, TEACHER_LOGITS_INDEX))) {
      reused++;
      progress(end - start);
    } else {
      let seen = 0;
      await writeTeacherLogits(sdir, teacher, new FrameRange(ds, start, end), {
        chunkRows: o.chunkRows,
        batchSize: o.batchSize,
        ...(o.topK !== undefined ? { topK: o.topK, tailTemperature: o.tailTemperature ?? 1 } : {}),
        config: { shard: s, of: shards, frames: [start, end] },
        onProgress: (done) => {
          progress(done - seen);
          seen = done;
        },
      });
      written++;
    }
    indexes.push(JSON.parse(readFileSync(join(sdir, TEACHER_LOGITS_INDEX), 'utf8')) as TeacherLogitsIndex);
  }
  // Merge: every shard but the last holds whole chunks, so the chunk files concatenate into one artifact.
  const first = indexes[0];
  const merged: TeacherLogitsIndex = { ...first, numExamples: ds.size, chunks: [] };
  let bytes = 0;
  await writeDirAtomic(dir, (tmp) => {
    indexes.forEach((ix, s) => {
      for (const ch of ix.chunks) {
        const file = `chunk-${String(merged.chunks.length).padStart(6, '0')}.bin`;
        renameSync(join(work, shardName(s), ch.file), join(tmp, file));
        merged.chunks.push({ ...ch, file });
        bytes += ch.bytes;
      }
    });
    writeFileAtomic(join(tmp, TEACHER_LOGITS_INDEX), JSON.stringify(merged, null, 2) + '\n');
    writeFileAtomic(
      join(tmp, SIDECAR_FILE),
      JSON.stringify(makeSidecar('teacher-logits', o.sidecarConfig, o.seed ?? null, { numExamples: ds.size, numClasses: merged.numClasses, layout: merged.layout, topK: merged.topK ?? null, shards }), null, 2) + '\n',
    );
  });
  rmSync(work, { recursive: true, force: true });
  return { written, reused, bytes };
}

function artifactDone(dir: string, expect: unknown): boolean {
  const f = join(dir, SIDECAR_FILE);
  if (!existsSync(join(dir, TEACHER_LOGITS_INDEX)) || !existsSync(f)) return false;
  return JSON.stringify((JSON.parse(readFileSync(f, 'utf8')) as { config: unknown }).config) === JSON.stringify(expect);
}

/** Parse and validate a teacher-logits config (paths resolved). */
export function parseTeacherLogitsConfig(input: unknown, where = 'teacher-logits config'): TeacherLogitsConfig {
  const r = teacherLogitsConfigSchema.safeParse(input);
  if (!r.success) throw new ConfigError(`${where}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const c = r.data;
  return { ...c, models: c.models.map((m) => resolve(m)) };
}

/**
 * Store the teacher's logits on the transfer set under outDir: member-<i>/ per member, or combined/ with
 * `combine`, plus transfer.json (the set, its frame hash, the teachers) and config.json (reruns it). Finished
 * artifacts are kept; an interrupted one resumes at its next shard.
 */
export async function runTeacherLogits(o: TeacherLogitsOptions): Promise<TeacherLogitsResult> {
  const t0 = Date.now();
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const c = parseTeacherLogitsConfig(o.config);
  const { dirs, models } = await loadTeacherModels(c.models, c.engine);
  try {
    const m0 = models[0];
    for (const [i, m] of models.entries())
      if (JSON.stringify(m.meta.frontend) !== JSON.stringify(m0.meta.frontend))
        throw new ConfigError(`teacher ${dirs[i]} has another frontend (splice/CMVN) than ${dirs[0]}; a combined teacher reads one set of inputs`);
    const data = loadTransferSet(c.transfer, { inventory: m0.inventory, numClasses: m0.model.numClasses, frontend: m0.frontend }, 'transfer set');
    const rec = data.record;
    log(`teacher-logits: ${rec.utterances} utterances, ${rec.frames} frames (${rec.labelledFrames} labelled: ${rec.labelSource}), ${m0.model.numClasses} classes, ${dirs.length} model(s)${c.combine ? `, combined (${c.combine})` : ''}${c.topK ? `, top-${c.topK} at tail temperature ${c.tailTemperature}` : ', dense'}`);
    const units: { dir: string; teachers: string[]; model: Classifier; combine?: 'arithmetic' | 'geometric' }[] = c.combine
      ? [{ dir: 'combined', teachers: dirs, model: new EnsembleClassifier(models.map((m) => m.model), c.combine), combine: c.combine }]
      : models.map((m, i) => ({ dir: `member-${i}`, teachers: [dirs[i]], model: m.model }));
    const manifest: TeacherLogitsManifest = {
      format: 'kdasr-teacher-logits-set',
      version: 1,
      transfer: rec,
      artifacts: units.map((u) => ({ dir: u.dir, teachers: u.teachers, ...(u.combine ? { combine: u.combine } : {}) })),
      numClasses: m0.model.numClasses,
      config: { ...c, transfer: rec.spec },
    };
    // An output directory belongs to one transfer set: mixing would index other frames.
    const mf = join(o.outDir, TRANSFER_FILE);
    if (existsSync(mf)) {
      const prev = JSON.parse(readFileSync(mf, 'utf8')) as TeacherLogitsManifest;
      if (prev.transfer.framesSha256 !== rec.framesSha256)
        throw new ConfigError(`${o.outDir} holds logits of another transfer set (${mf}: ${prev.transfer.frames} frames, hash ${prev.transfer.framesSha256.slice(0, 12)}); use another --out or delete it`);
    }
    writeJsonAtomic(join(o.outDir, 'config.json'), manifest.config);
    const total = rec.frames * units.length;
    let done = 0;
    let written = 0;
    let reused = 0;
    let bytes = 0;
    for (const [k, u] of units.entries()) {
      const dir = join(o.outDir, u.dir);
      const sidecarConfig = {
        teachers: u.teachers.map((d, i) => ({ dir: d, engine: models[dirs.indexOf(d)]?.meta.engine ?? null, seed: models[dirs.indexOf(d)]?.meta.config.seed ?? null, index: i })),
        combine: u.combine ?? null,
        transfer: rec,
        topK: c.topK ?? null,
        tailTemperature: c.topK !== undefined ? c.tailTemperature : null,
      };
      if (artifactDone(dir, sidecarConfig)) {
        log(`  ${u.dir}: already complete`);
        done += rec.frames;
        reused++;
        continue;
      }
      const { written: w, reused: r, bytes: b } = await writeShardedTeacherLogits(dir, u.model, data.dataset, {
        chunkRows: c.chunkRows,
        shardChunks: c.shardChunks,
        batchSize: c.batchSize,
        ...(c.topK !== undefined ? { topK: c.topK, tailTemperature: c.tailTemperature } : {}),
        sidecarConfig,
        onFrames: (n) => {
          done += n;
          o.onProgress?.(done, total);
        },
      });
      written += w;
      reused += r;
      bytes += b;
      log(`  ${u.dir} (${k + 1}/${units.length}): ${rec.frames} x ${m0.model.numClasses} -> ${dir} (${w} shard(s) computed, ${r} reused)`);
    }
    writeJsonAtomic(mf, manifest);
    return { outDir: o.outDir, manifest, shardsWritten: written, shardsReused: reused, bytes, seconds: (Date.now() - t0) / 1000 };
  } finally {
    for (const m of models) m.model.dispose();
  }
}

/** Read OUT/transfer.json of a teacher-logits output. */
export function readTeacherLogitsManifest(dir: string): TeacherLogitsManifest {
  const f = join(dir, TRANSFER_FILE);
  if (!existsSync(f)) throw new ConfigError(`${f} does not exist; pass a kdasr teacher-logits --out directory`);
  const m = JSON.parse(readFileSync(f, 'utf8')) as TeacherLogitsManifest;
  if (m.format !== 'kdasr-teacher-logits-set') throw new ConfigError(`${f} is not a kdasr teacher-logits manifest`);
  for (const a of m.artifacts)
    if (!existsSync(join(dir, a.dir, TEACHER_LOGITS_INDEX))) throw new ConfigError(`${join(dir, a.dir)} is incomplete; rerun kdasr teacher-logits with the same flags to finish it`);
  return m;
}
