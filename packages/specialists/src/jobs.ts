import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ArrayDataset, loadModel, makeSidecar, writeFileAtomic, writeJsonAtomic } from '@kdasr/core';
import { MlpClassifier } from '@kdasr/distillation';
import { loadNet, saveNet, type Net } from './net.js';
import { specialistConfigSchema, trainSpecialistNet, type SpecialistConfig } from './specialist.js';

/** A dataset as two raw little-endian files: float32 features [n, featureDim] and int32 labels [n]. */
export const datasetFilesSchema = z.strictObject({
  featuresFile: z.string().min(1),
  labelsFile: z.string().min(1),
  featureDim: z.number().int().positive(),
  numClasses: z.number().int().positive(),
});
export type DatasetFiles = z.infer<typeof datasetFilesSchema>;

/**
 * One specialist's training as JSON: everything a separate process needs. Paths are absolute or relative to the
 * process's working directory.
 */
export const specialistJobSchema = z.strictObject({
  config: specialistConfigSchema,
  /** A generalist saved by saveModel(generalist.toLayersModel(), dir, ...). */
  generalistDir: z.string().min(1),
  data: datasetFilesSchema,
  /** Where the trained specialist is saved (saveModel format, sidecar kind 'kdasr-specialist'). */
  outDir: z.string().min(1),
  /** Tensor backend for a child process (runSpecialistJob in-process uses whatever runtime is initialised). */
  backend: z.enum(['auto', 'cpu', 'wasm', 'tensorflow']).default('auto'),
  /** Training engine (@kdasr/native's --engine): 'tfjs' (default), 'native', or 'auto'. */
  engine: z.enum(['native', 'tfjs', 'auto']).default('tfjs'),
  /** Held-out data with natural proportions, for correction 'calibrated'. */
  calibration: datasetFilesSchema.optional(),
});
export type SpecialistJob = z.input<typeof specialistJobSchema>;

export interface SpecialistJobResult {
  outDir: string;
  subset: number[];
  dustbinOffset: number;
  priorInSubset: number;
  epochs: number;
  finalLoss: number;
  seconds: number;
  /** The engine that trained it. */
  engine: 'native' | 'tfjs';
  /** Examples processed in training (epochs × epoch size). */
  examplesSeen: number;
}

/** Writes an in-memory labelled dataset as raw files under `dir` (atomically each) and returns their description. */
export function writeDatasetFiles(dir: string, ds: ArrayDataset, name = 'data'): DatasetFiles {
  if (!ds.labels) throw new Error('writeDatasetFiles: the dataset has no labels');
  mkdirSync(dir, { recursive: true });
  const featuresFile = resolve(dir, `${name}.features.f32`);
  const labelsFile = resolve(dir, `${name}.labels.i32`);
  writeFileAtomic(featuresFile, new Uint8Array(ds.features.buffer, ds.features.byteOffset, ds.features.byteLength));
  writeFileAtomic(labelsFile, new Uint8Array(ds.labels.buffer, ds.labels.byteOffset, ds.labels.byteLength));
  return { featuresFile, labelsFile, featureDim: ds.featureDim, numClasses: ds.numClasses };
}

export function readDatasetFiles(files: DatasetFiles): ArrayDataset {
  const f = readFileSync(files.featuresFile);
  const l = readFileSync(files.labelsFile);
  if (f.byteLength % 4 !== 0 || l.byteLength % 4 !== 0) throw new Error(`readDatasetFiles: ${files.featuresFile} or ${files.labelsFile} is not a whole number of 4-byte values`);
  // Copies: Buffer memory may be pooled and unaligned.
  const features = new Float32Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength));
  const labels = new Int32Array(l.buffer.slice(l.byteOffset, l.byteOffset + l.byteLength));
  return new ArrayDataset({ features, labels, featureDim: files.featureDim, numClasses: files.numClasses, source: files.featuresFile });
}

/** Runs one job in this process (the runtime must be initialised): load, train, save; disposes its models. */
export async function runSpecialistJob(jobInput: SpecialistJob): Promise<SpecialistJobResult> {
  const r = specialistJobSchema.safeParse(jobInput);
  if (!r.success) throw new Error(`specialist job: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const job = r.data;
  const t0 = Date.now();
  const { net: generalist } = await loadNet(job.generalistDir, job.engine);
  try {
    const data = readDatasetFiles(job.data);
    const calibration = job.calibration ? readDatasetFiles(job.calibration) : undefined;
    const t = await trainSpecialistNet(generalist, data, job.config as SpecialistConfig, { calibration });
    try {
      const result: SpecialistJobResult = {
        outDir: resolve(job.outDir),
        subset: t.subset,
        dustbinOffset: t.dustbinOffset,
        priorInSubset: t.priorInSubset,
        epochs: t.training.history.length,
        finalLoss: t.training.history.at(-1)?.loss ?? NaN,
        seconds: 0,
        engine: t.net.engine,
        examplesSeen: t.examplesSeen,
      };
      await saveNet(
        t.net,
        job.outDir,
        makeSidecar('kdasr-specialist', job.config, t.config.seed, {
          subset: t.subset,
          dustbinOffset: t.dustbinOffset,
          priorInSubset: t.priorInSubset,
          calibration: t.calibration,
          engine: t.net.engine,
          examplesSeen: t.examplesSeen,
          history: t.training.history,
        }),
      );
      result.seconds = (Date.now() - t0) / 1000;
      return result;
    } finally {
      t.net.dispose();
    }
  } finally {
    generalist.dispose();
  }
}

/** Loads a specialist saved by runSpecialistJob: the model (dustbin correction included) and its subset. */
export async function loadSpecialist(dir: string): Promise<{ model: MlpClassifier; subset: number[]; dustbinOffset: number }> {
  const { model, sidecar } = await loadModel(dir);
  const m = sidecar?.metrics as { subset?: number[]; dustbinOffset?: number } | undefined;
  if (sidecar?.kind !== 'kdasr-specialist' || !Array.isArray(m?.subset))
    throw new Error(`loadSpecialist: ${dir} has no kdasr-specialist sidecar with a subset`);
  return { model: MlpClassifier.fromLayersModel(model), subset: m.subset, dustbinOffset: m.dustbinOffset ?? 0 };
}

/** loadSpecialist onto either engine (see loadNet). */
export async function loadSpecialistNet(dir: string, engine: Parameters<typeof loadNet>[1]): Promise<{ net: Net; subset: number[]; dustbinOffset: number; metrics: Record<string, unknown> }> {
  const { net, sidecar } = await loadNet(dir, engine);
  const m = sidecar?.metrics as { subset?: number[]; dustbinOffset?: number } | undefined;
  if (sidecar?.kind !== 'kdasr-specialist' || !Array.isArray(m?.subset)) {
    net.dispose();
    throw new Error(`loadSpecialistNet: ${dir} has no kdasr-specialist sidecar with a subset`);
  }
  return { net, subset: m.subset, dustbinOffset: m.dustbinOffset ?? 0, metrics: sidecar.metrics ?? {} };
}

const here = dirname(fileURLToPath(import.meta.url));
const fromSource = import.meta.url.endsWith('.ts');

/**
 * Runs jobs as separate Node processes, `concurrency` at a time (each specialist trains independently, §5.3).
 * Each job is written to `<workDir>/job-<i>.json`; the worker writes `<workDir>/job-<i>.result.json`. Running from
 * source (.ts) the children get `--conditions=@kdasr/source --import tsx`; pass `nodeArgs` to override.
 * Rejects with the child's stderr tail when one fails.
 */
export async function runSpecialistJobsInChildProcesses(
  jobs: SpecialistJob[],
  options: { workDir: string; concurrency?: number; nodeArgs?: string[]; env?: NodeJS.ProcessEnv },
): Promise<SpecialistJobResult[]> {
  const concurrency = options.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`runSpecialistJobsInChildProcesses: concurrency must be >= 1, got ${concurrency}`);
  mkdirSync(options.workDir, { recursive: true });
  const worker = join(here, fromSource ? 'job-worker.ts' : 'job-worker.js');
  const nodeArgs = options.nodeArgs ?? (fromSource ? ['--conditions=@kdasr/source', '--import', 'tsx'] : []);
  const files = jobs.map((job, i) => {
    const parsed = specialistJobSchema.parse(job);
    const file = resolve(options.workDir, `job-${i}.json`);
    writeJsonAtomic(file, { ...parsed, generalistDir: resolve(parsed.generalistDir), outDir: resolve(parsed.outDir) });
    return file;
  });
  const results: SpecialistJobResult[] = new Array(jobs.length);
  let next = 0;
  const runOne = (i: number) =>
    new Promise<void>((done, fail) => {
      const child = spawn(process.execPath, [...nodeArgs, worker, files[i]], { cwd: here, env: options.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
      child.on('error', fail);
      child.on('close', (code) => {
        if (code !== 0) return fail(new Error(`specialist job ${i} (${files[i]}) exited with ${code}: ${err.trim()}`));
        try {
          results[i] = JSON.parse(readFileSync(files[i].replace(/\.json$/, '.result.json'), 'utf8')) as SpecialistJobResult;
          done();
        } catch (e) {
          fail(e as Error);
        }
      });
    });
  const lanes = Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
    while (next < jobs.length) await runOne(next++);
  });
  await Promise.all(lanes);
  return results;
}

/** Used by job-worker: run the job in `file`, write `<file>.result.json`. */
export async function runSpecialistJobFile(file: string, init: (backend: string) => Promise<unknown>): Promise<void> {
  const job = specialistJobSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  await init(job.backend);
  const result = await runSpecialistJob(job);
  writeFileSync(file.replace(/\.json$/, '.result.json'), JSON.stringify(result, null, 2) + '\n');
}
