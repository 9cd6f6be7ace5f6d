/**
 * `kdasr experiment specialists`: §5 of Hinton, Vinyals & Dean (2015) as resumable stages, on a speech task
 * (frame classification over the ASR recipe's HMM-state targets) and a non-speech one (MNIST pairs), plus what
 * the paper leaves open: a compute-matched generalist, the whole system distilled back into one model, and
 * specialists trained on the generalist's soft targets (§6.1).
 *
 * Layout of <out>/<task>/: done/<stage>.json (stage runner), results/<stage>.json (numbers), models/ (TF.js
 * models + kdasr.json sidecars), ckpt/ (resume state, removed when a stage completes), plots/, RESULTS.md and
 * results.json. <out>/RESULTS.md and <out>/results.json gather every task found there.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makeSidecar, provenance, requireRuntime, writeFileAtomic, writeJsonAtomic } from '@kdasr/core';
import { distill, predictLogits, type DistillResult, type ProgressEvent } from '@kdasr/distillation';
import { resolveEngine, type ResolvedEngine } from '@kdasr/native';
import {
  SpecialistEnsembleTeacher,
  calibrateDustbinOffset,
  clusterClasses,
  combineOnSource,
  confusionMatrix,
  createNet,
  loadNet,
  loadSpecialistNet,
  predictionCovariance,
  runSpecialistJobsInChildProcesses,
  saveNet,
  specialistMetricsFromPredictions,
  specialistView,
  trainSpecialistNet,
  writeDatasetFiles,
  type CombineMethod,
  type CombinedOnSource,
  type Net,
  type SpecialistConfig,
  type SpecialistJob,
  type SpecialistMetrics,
} from '@kdasr/specialists';
import { formatDuration } from '@kdasr/mnist';
import { hashOf, readDone, runStages, stageHashes, type Stage, type StageOutcome } from '../stages.js';
import {
  ALL_TASKS,
  SPECIALISTS_TASK_NAMES,
  parseSpecialistsConfig,
  specialistsPreset,
  type SpecialistsPresetName,
  type SpecialistsRecipeConfig,
  type SpecialistsRecipeInput,
  type SpecialistsTaskName,
} from './config.js';
import { accuracyOf, classCounts, loadTask, predictTop1, type LoadedTask, type SpeechTaskLoader } from './tasks.js';
import { renderResults, renderTaskReport, writePlots, type TaskResults } from './report.js';

export const RESULTS_DIR = 'results';
export const MODELS_DIR = 'models';
export const CKPT_DIR = 'ckpt';

/** Stage order (indices for --stage / --stop-stage). */
export const SPECIALISTS_STAGE_NAMES = [
  'data',
  'generalist',
  'clusters',
  'specialists',
  'combine',
  'baseline',
  'distil-back',
  'soft-specialists',
  'report',
] as const;

export const EQ5_CRITERION =
  'per example, gradient descent on the logits of q (diagonally preconditioned, Armijo line search, warm start q = p_g) until max_j |∂f/∂z_j| < gradTolerance; fallback: 5 consecutive steps with relative objective change ≤ 1e-15 (float64 resolution); else maxIterations. Classes outside every active subset are solved as one lumped class (exact: at the optimum they keep p_g\u2019s proportions)';

// ---------------------------------------------------------------------------------------------------------------
// Per-task state shared by the stages of one invocation (loaded lazily, disposed at the end).

interface LoadedSpecialist {
  net: Net;
  subset: number[];
  dustbinOffset: number;
}

class TaskEnv {
  private taskP?: Promise<LoadedTask>;
  private gen?: Net;
  private hard?: LoadedSpecialist[];
  readonly hashes: Map<string, string>;

  constructor(
    readonly config: SpecialistsRecipeConfig,
    readonly expDir: string,
    readonly engine: ResolvedEngine,
    readonly log: (line: string) => void,
    readonly speechLoader: SpeechTaskLoader | undefined,
    stages: readonly Stage<SpecialistsRecipeConfig>[],
    readonly command?: string,
  ) {
    this.hashes = stageHashes(stages, config);
  }

  path(...p: string[]): string {
    return join(this.expDir, ...p);
  }

  task(): Promise<LoadedTask> {
    this.taskP ??= loadTask(this.config, { speechLoader: this.speechLoader, log: this.log });
    return this.taskP;
  }

  async generalist(): Promise<Net> {
    this.gen ??= (await loadNet(this.path(MODELS_DIR, 'generalist'), this.engine)).net;
    return this.gen;
  }

  async hardSpecialists(): Promise<LoadedSpecialist[]> {
    if (!this.hard) {
      const r = readResult<SpecialistsResult>(this.expDir, 'specialists');
      const out: LoadedSpecialist[] = [];
      for (const s of r.specialists) {
        const l = await loadSpecialistNet(this.path(s.dir), this.engine);
        out.push({ net: l.net, subset: l.subset, dustbinOffset: l.dustbinOffset });
      }
      this.hard = out;
    }
    return this.hard;
  }

  dispose(): void {
    this.gen?.dispose();
    for (const s of this.hard ?? []) s.net.dispose();
    this.gen = undefined;
    this.hard = undefined;
  }
}

export function readResult<T>(expDir: string, name: string): T {
  const f = join(expDir, RESULTS_DIR, `${name}.json`);
  if (!existsSync(f)) throw new Error(`${f} does not exist; run the stage "${name}" first`);
  return JSON.parse(readFileSync(f, 'utf8')) as T;
}

function readResultIfAny<T>(expDir: string, name: string): T | undefined {
  const f = join(expDir, RESULTS_DIR, `${name}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as T) : undefined;
}

function writeResult(expDir: string, name: string, value: unknown): void {
  writeJsonAtomic(join(expDir, RESULTS_DIR, `${name}.json`), value);
}

function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

/** Epoch lines, plus a step line at most every 20 s inside long epochs. */
function progressLogger(label: string, log: (line: string) => void): (e: ProgressEvent) => void {
  let last = Date.now();
  return (e) => {
    const now = Date.now();
    if (e.phase === 'epoch' && e.record) {
      const v = e.record.validation !== undefined ? `, dev accuracy ${pct(e.record.validation)}` : '';
      log(`${label}: epoch ${e.epoch}/${e.epochs} loss ${e.record.loss.toFixed(4)}${v} (${e.record.seconds.toFixed(1)} s; ETA ${formatDuration(e.etaSeconds)})`);
      last = now;
    } else if (now - last > 20_000) {
      last = now;
      log(`${label}: epoch ${e.epoch}/${e.epochs} step ${e.step}/${e.stepsPerEpoch} loss ${e.loss.toFixed(4)} (ETA ${formatDuration(e.etaSeconds)})`);
    }
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Result shapes (results/<stage>.json).

export interface DataResult {
  task: string;
  description: string;
  numClasses: number;
  inputDim: number;
  sizes: { train: number; dev: number; test: number };
  classNames: string[];
  groupOfClass?: string[];
  /** Training examples per class. */
  trainCounts: number[];
}

export interface GeneralistResult {
  engine: 'native' | 'tfjs';
  engineReason?: string;
  devAccuracy: number;
  testAccuracy: number;
  examplesSeen: number;
  history: DistillResult['history'];
  seconds: number;
}

export interface ChosenSubset {
  subset: number[];
  names: string[];
  /** Index in config.clusterings of the clustering it came from. */
  clustering: number;
  method: string;
  /** Mean positive covariance between distinct classes of the subset (how confusable it is). */
  score: number;
  /** Share of training examples whose class is in the subset. */
  trainShare: number;
}

export interface ClustersResult {
  covarianceExamples: number;
  clusterings: { method: string; k: number; sizes: number[]; inertia: number; subsets: number[][]; used: number }[];
  chosen: ChosenSubset[];
  /** Classes covered by at least one specialist, and the largest coverage. */
  coveredClasses: number;
  maxCoverage: number;
  seconds: number;
}

export interface SpecialistRecord {
  index: number;
  dir: string;
  subset: number[];
  dustbinOffset: number;
  priorInSubset: number;
  examplesSeen: number;
  epochs: number;
  finalLoss: number;
  seconds: number;
  calibration?: unknown;
}

export interface SpecialistsResult {
  kind: 'hard' | 'soft';
  engine: string;
  processes: 'in-process' | 'child';
  specialists: SpecialistRecord[];
  totalExamplesSeen: number;
  seconds: number;
}

export interface CombineResult {
  methods: Partial<Record<CombineMethod, SpecialistMetrics & { nll: number; seconds: number }>>;
  generalistNll: number;
  eq5: { criterion: string; gradTolerance: number; maxIterations: number; meanIterations: number; maxIterations_: number; notConverged: number; meanActive: number; withActive: number };
  topN: number;
  specialistRows: number;
  seconds: number;
}

export interface SingleModelResult {
  /** Metrics against the generalist: combined* fields are this model's. */
  metrics: SpecialistMetrics;
  epochs: number;
  examplesSeen: number;
  seconds: number;
  devAccuracy?: number;
  /** Test accuracy after each epoch (baseline only), so other budgets can be read off. */
  testAccuracyByEpoch?: number[];
  extraEpochsExact?: number;
  teacher?: { method: string; temperature: number; cached: boolean; rowsComputed: number };
  enabled: boolean;
}

export interface SoftResult {
  enabled: boolean;
  soft?: SpecialistsResult;
  /** Eq. 5 with the soft-target specialists (their dustbin offsets per config.softSpecialists.correction). */
  softMetrics?: SpecialistMetrics & { nll: number };
  /** Eq. 5 with the hard-target specialists, dustbin offset re-fitted on dev (isolates the calibration's effect). */
  hardCalibratedMetrics?: SpecialistMetrics & { nll: number };
  hardCalibrationOffsets?: number[];
  seconds: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Stages.

function metricsOf(r: CombinedOnSource, method: CombineMethod, subsets: number[][]): SpecialistMetrics & { nll: number } {
  return {
    ...specialistMetricsFromPredictions({ labels: r.labels, generalist: r.generalistPredictions, combined: r.predictions[method]!, numClasses: r.numClasses, subsets }),
    nll: r.nll[method] ?? NaN,
  };
}

function specialistConfigFor(c: SpecialistsRecipeConfig, subset: number[], m: number, soft: boolean): SpecialistConfig {
  const s = c.specialists;
  return {
    subset,
    seed: c.seed * 1000 + m,
    inSubsetFraction: s.inSubsetFraction,
    dustbinInit: s.dustbinInit,
    correction: soft ? c.softSpecialists.correction : s.correction,
    ...(soft ? { softTargets: { temperature: c.softSpecialists.temperature, softWeight: c.softSpecialists.softWeight, hardWeight: c.softSpecialists.hardWeight } } : {}),
    training: { epochs: s.epochs, batchSize: s.batchSize, optimizer: { kind: 'adam', learningRate: s.learningRate } },
  };
}

/** Trains (or reuses) one set of specialists, each resumable on its own. */
async function trainSpecialistSet(env: TaskEnv, kind: 'hard' | 'soft', stageName: string): Promise<SpecialistsResult> {
  const c = env.config;
  const t0 = Date.now();
  const task = await env.task();
  const chosen = readResult<ClustersResult>(env.expDir, 'clusters').chosen;
  const stageHash = env.hashes.get(stageName)!;
  const modelsDir = join(MODELS_DIR, `specialists-${kind}`);
  const ckptRoot = env.path(CKPT_DIR, stageName);
  const needsCalibration = (kind === 'soft' ? c.softSpecialists.correction : c.specialists.correction) === 'calibrated';
  const records: SpecialistRecord[] = new Array(chosen.length);
  const todo: { m: number; cfg: SpecialistConfig; key: string; dir: string }[] = [];
  chosen.forEach((ch, m) => {
    const cfg = specialistConfigFor(c, ch.subset, m, kind === 'soft');
    const key = hashOf({ stageHash, cfg });
    const dir = join(modelsDir, String(m).padStart(3, '0'));
    const doneFile = env.path(`${dir}.done.json`);
    if (existsSync(doneFile) && existsSync(env.path(dir, 'model.json'))) {
      const d = JSON.parse(readFileSync(doneFile, 'utf8')) as { key: string; record: SpecialistRecord };
      if (d.key === key) {
        records[m] = d.record;
        return;
      }
    }
    todo.push({ m, cfg, key, dir });
  });
  if (todo.length < chosen.length) env.log(`${kind} specialists: ${chosen.length - todo.length} of ${chosen.length} already trained, reused`);
  const finish = (m: number, key: string, record: SpecialistRecord) => {
    records[m] = record;
    writeJsonAtomic(env.path(`${record.dir}.done.json`), { key, record });
  };
  const processes = c.specialists.processes;
  if (processes === 'child' && todo.length > 0) {
    if (!task.arrays)
      throw new Error(`specialists.processes 'child' needs a task held in memory (mnist-pairs, synthetic); the ${task.name} task trains its specialists in-process`);
    const dataDir = env.path(CKPT_DIR, 'data-files');
    const train = writeDatasetFiles(dataDir, task.arrays.train, 'train');
    const dev = needsCalibration ? writeDatasetFiles(dataDir, task.arrays.dev, 'dev') : undefined;
    const backend = requireRuntime('specialists recipe').backend;
    const jobs: SpecialistJob[] = todo.map((t) => ({
      config: { ...t.cfg, training: { ...t.cfg.training, checkpointDir: resolve(ckptRoot, `${t.m}-${t.key}`) } },
      generalistDir: env.path(MODELS_DIR, 'generalist'),
      data: train,
      calibration: dev,
      outDir: env.path(t.dir),
      backend,
      engine: env.engine.kind,
    }));
    env.log(`${kind} specialists: ${jobs.length} job(s) in child processes, ${c.specialists.concurrency} at a time`);
    const results = await runSpecialistJobsInChildProcesses(jobs, { workDir: env.path(CKPT_DIR, `${stageName}-jobs`), concurrency: c.specialists.concurrency });
    results.forEach((r, i) => {
      const t = todo[i];
      finish(t.m, t.key, {
        index: t.m,
        dir: t.dir,
        subset: r.subset,
        dustbinOffset: r.dustbinOffset,
        priorInSubset: r.priorInSubset,
        examplesSeen: r.examplesSeen,
        epochs: r.epochs,
        finalLoss: r.finalLoss,
        seconds: r.seconds,
      });
    });
  } else if (todo.length > 0) {
    const gen = await env.generalist();
    const tStart = Date.now();
    for (const [i, t] of todo.entries()) {
      const ts = Date.now();
      const label = `${kind} specialist ${t.m + 1}/${chosen.length} (${t.cfg.subset.length} classes)`;
      const r = await trainSpecialistNet(
        gen,
        task.train,
        { ...t.cfg, training: { ...t.cfg.training, checkpointDir: join(ckptRoot, `${t.m}-${t.key}`) } },
        { engine: env.engine, calibration: needsCalibration ? task.dev : undefined, onProgress: progressLogger(label, () => {}) },
      );
      try {
        const seconds = (Date.now() - ts) / 1000;
        const record: SpecialistRecord = {
          index: t.m,
          dir: t.dir,
          subset: r.subset,
          dustbinOffset: r.dustbinOffset,
          priorInSubset: r.priorInSubset,
          examplesSeen: r.examplesSeen,
          epochs: r.training.history.length,
          finalLoss: r.training.history.at(-1)?.loss ?? NaN,
          seconds,
          calibration: r.calibration,
        };
        await saveNet(
          r.net,
          env.path(t.dir),
          makeSidecar('kdasr-specialist', r.config, r.config.seed, {
            subset: r.subset,
            dustbinOffset: r.dustbinOffset,
            priorInSubset: r.priorInSubset,
            calibration: r.calibration,
            engine: r.net.engine,
            examplesSeen: r.examplesSeen,
            history: r.training.history,
            key: t.key,
          }),
        );
        finish(t.m, t.key, record);
        const eta = ((Date.now() - tStart) / 1000 / (i + 1)) * (todo.length - i - 1);
        env.log(
          `${label}: ${record.epochs} epochs, loss ${record.finalLoss.toFixed(4)}, dustbin ${record.dustbinOffset >= 0 ? '+' : ''}${record.dustbinOffset.toFixed(3)}, ${seconds.toFixed(1)} s; ETA ${formatDuration(eta)}`,
        );
      } finally {
        r.net.dispose();
      }
    }
  }
  rmSync(ckptRoot, { recursive: true, force: true });
  return {
    kind,
    engine: env.engine.kind,
    processes,
    specialists: records,
    totalExamplesSeen: records.reduce((s, r) => s + r.examplesSeen, 0),
    seconds: (Date.now() - t0) / 1000,
  };
}

async function trainGeneralistLike(
  env: TaskEnv,
  label: string,
  ckptName: string,
  options: { epochs: number; batchSize: number; learningRate: number; seed: number; init?: Net; teacher?: SpecialistEnsembleTeacher; distil?: SpecialistsRecipeConfig['distilBack']; onEpoch?: (net: Net) => void },
): Promise<{ net: Net; result: DistillResult }> {
  const c = env.config;
  const task = await env.task();
  const net = createNet({
    engine: env.engine,
    inputDim: task.inputDim,
    hiddenSizes: c.generalist.hiddenSizes,
    numClasses: task.numClasses,
    dropout: c.generalist.dropout,
    seed: options.seed,
    weights: options.init?.getWeights(),
  });
  try {
    const ckpt = env.path(CKPT_DIR, `${ckptName}-${env.hashes.get(ckptName)}`);
    const result = await distill(net.student, options.teacher, task.train, {
      epochs: options.epochs,
      batchSize: options.batchSize,
      optimizer: { kind: 'adam', learningRate: options.learningRate },
      seed: options.seed,
      checkpointDir: ckpt,
      progress: false,
      onProgress: progressLogger(label, env.log),
      validation: {
        source: task.dev,
        metric: (clf) => {
          options.onEpoch?.(net);
          return accuracyOf(predictTop1(clf, task.dev), task.labels.dev);
        },
      },
      ...(options.distil ? { temperature: options.distil.temperature, softWeight: options.distil.softWeight, hardWeight: options.distil.hardWeight } : {}),
    });
    return { net, result };
  } catch (e) {
    net.dispose();
    throw e;
  }
}

function removeCkpt(env: TaskEnv, name: string): void {
  rmSync(env.path(CKPT_DIR, `${name}-${env.hashes.get(name)}`), { recursive: true, force: true });
}

/** <expDir>/stage-commands.json: for each stage, the command line of the invocation that last ran it. */
export const STAGE_COMMANDS_FILE = 'stage-commands.json';

function recordStageCommand(env: TaskEnv, stage: string): void {
  const f = env.path(STAGE_COMMANDS_FILE);
  const m = existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Record<string, string>) : {};
  m[stage] = env.command ?? '(not recorded: called from code)';
  writeJsonAtomic(f, m);
}

/** The recipe's stages for one task (their run() record which command ran them, for the report). */
export function specialistsStages(getEnv: () => TaskEnv): Stage<SpecialistsRecipeConfig>[] {
  return stageList(getEnv).map((s) => ({
    ...s,
    run: async (c, ctx) => {
      const env = getEnv();
      if (s.name === 'report') recordStageCommand(env, s.name);
      const r = await s.run(c, ctx);
      if (s.name !== 'report') recordStageCommand(env, s.name);
      return r;
    },
  }));
}

function stageList(getEnv: () => TaskEnv): Stage<SpecialistsRecipeConfig>[] {
  return [
    {
      name: 'data',
      description: 'load or prepare the task (speech: the ASR recipe\u2019s corpus, features and state labels)',
      configSlice: (c) => ({ task: c.task, data: c.data, seed: c.seed }),
      run: async () => {
        const env = getEnv();
        const t = await env.task();
        const r: DataResult = {
          task: t.name,
          description: t.description,
          numClasses: t.numClasses,
          inputDim: t.inputDim,
          sizes: { train: t.train.size, dev: t.dev.size, test: t.test.size },
          classNames: t.classNames,
          groupOfClass: t.groupOfClass,
          trainCounts: classCounts(t.labels.train, t.numClasses),
        };
        writeResult(env.expDir, 'data', r);
        env.log(`${t.name}: ${t.numClasses} classes, ${t.train.size}/${t.dev.size}/${t.test.size} train/dev/test examples of ${t.inputDim} features`);
        return { numClasses: t.numClasses, sizes: r.sizes };
      },
    },
    {
      name: 'generalist',
      description: 'train the generalist on all classes (hard labels)',
      configSlice: (c) => ({ engine: c.engine, generalist: c.generalist, seed: c.seed }),
      after: ['data'],
      run: async (c) => {
        const env = getEnv();
        const t0 = Date.now();
        const task = await env.task();
        const g = c.generalist;
        const { net, result } = await trainGeneralistLike(env, 'generalist', 'generalist', { epochs: g.epochs, batchSize: g.batchSize, learningRate: g.learningRate, seed: c.seed });
        try {
          const testAccuracy = accuracyOf(predictTop1(net.classifier, task.test), task.labels.test);
          const r: GeneralistResult = {
            engine: net.engine,
            engineReason: env.engine.kind === 'tfjs' ? env.engine.reason : undefined,
            devAccuracy: result.history.at(-1)?.validation ?? NaN,
            testAccuracy,
            examplesSeen: result.history.length * task.train.size,
            history: result.history,
            seconds: (Date.now() - t0) / 1000,
          };
          await saveNet(net, env.path(MODELS_DIR, 'generalist'), makeSidecar('kdasr-specialists-generalist', { ...g, task: c.task }, c.seed, { ...r }));
          writeResult(env.expDir, 'generalist', r);
          removeCkpt(env, 'generalist');
          env.log(`generalist: test accuracy ${pct(testAccuracy)} (dev ${pct(r.devAccuracy)}), engine ${net.engine}`);
          return { testAccuracy, devAccuracy: r.devAccuracy, engine: net.engine };
        } finally {
          net.dispose();
        }
      },
    },
    {
      name: 'clusters',
      description: 'covariance of the generalist\u2019s predictions on the training set, class clusters, specialist subsets',
      configSlice: (c) => ({ clusterings: c.clusterings, seed: c.seed }),
      after: ['generalist'],
      run: async (c) => {
        const env = getEnv();
        const t0 = Date.now();
        const task = await env.task();
        const gen = await env.generalist();
        const C = task.numClasses;
        const cov = predictionCovariance(gen.classifier, task.train, { batchSize: 1024 });
        let confusion: Float64Array | undefined;
        const counts = classCounts(task.labels.train, C);
        const score = (sub: number[]) => {
          let t = 0;
          for (const a of sub) for (const b of sub) if (a !== b) t += Math.max(0, cov.covariance[a * C + b]);
          return sub.length > 1 ? t / (sub.length * (sub.length - 1)) : 0;
        };
        const chosen: ChosenSubset[] = [];
        const seen = new Set<string>();
        const clusterings: ClustersResult['clusterings'] = [];
        for (const [i, cl] of c.clusterings.entries()) {
          if (cl.method === 'confusion-kmeans' && !confusion) confusion = confusionMatrix(task.labels.train, predictTop1(gen.classifier, task.train), C);
          const res = clusterClasses({ method: cl.method, k: cl.k, targetSize: cl.targetSize, numClasses: C, covariance: cov.covariance, confusion, seed: c.seed + i });
          const ranked = res.subsets
            .filter((s) => s.length >= cl.minSize && s.length <= (cl.maxSize ?? C - 1) && s.length < C && !seen.has(s.join(',')))
            .map((s) => ({ s, score: score(s) }))
            .sort((a, b) => b.score - a.score)
            .slice(0, cl.maxSpecialists);
          for (const { s, score: sc } of ranked) {
            seen.add(s.join(','));
            chosen.push({
              subset: s,
              names: s.map((j) => task.classNames[j]),
              clustering: i,
              method: cl.method,
              score: sc,
              trainShare: s.reduce((t, j) => t + counts[j], 0) / Math.max(1, task.labels.train.length),
            });
          }
          clusterings.push({ method: cl.method, k: res.subsets.length, sizes: res.subsets.map((s) => s.length), inertia: res.inertia, subsets: res.subsets, used: ranked.length });
          env.log(`clusters: ${cl.method} gave ${res.subsets.length} clusters (sizes ${Math.min(...res.subsets.map((s) => s.length))}-${Math.max(...res.subsets.map((s) => s.length))}); ${ranked.length} get a specialist`);
        }
        if (chosen.length === 0) throw new Error('clusters: no cluster qualifies for a specialist; check clusterings[].minSize/maxSize/maxSpecialists');
        const cover = new Int32Array(C);
        for (const ch of chosen) for (const j of ch.subset) cover[j]++;
        const r: ClustersResult = {
          covarianceExamples: cov.count,
          clusterings,
          chosen,
          coveredClasses: cover.filter((v) => v > 0).length,
          maxCoverage: Math.max(...cover),
          seconds: (Date.now() - t0) / 1000,
        };
        writeResult(env.expDir, 'clusters', r);
        return { specialists: chosen.length, coveredClasses: r.coveredClasses, maxCoverage: r.maxCoverage };
      },
    },
    {
      name: 'specialists',
      description: 'train one specialist per chosen subset (hard labels, half the batch from the subset, dustbin correction)',
      configSlice: (c) => ({ engine: c.engine, specialists: c.specialists, seed: c.seed }),
      after: ['clusters'],
      run: async () => {
        const env = getEnv();
        const r = await trainSpecialistSet(env, 'hard', 'specialists');
        writeResult(env.expDir, 'specialists', r);
        return { specialists: r.specialists.length, totalExamplesSeen: r.totalExamplesSeen };
      },
    },
    {
      name: 'combine',
      description: 'generalist + specialists on the test set: Eq. 5 and the arithmetic/geometric shortcuts; Tables 3 and 4',
      configSlice: (c) => ({ combine: c.combine }),
      after: ['specialists'],
      run: async (c) => {
        const env = getEnv();
        const t0 = Date.now();
        const task = await env.task();
        const gen = await env.generalist();
        const specs = await env.hardSpecialists();
        const subsets = specs.map((s) => s.subset);
        let lastLog = Date.now();
        const methods: CombineMethod[] = ['eq5', 'arithmetic', 'geometric'];
        const r = combineOnSource({
          generalist: gen.classifier,
          specialists: specs.map((s) => ({ classifier: s.net.classifier, subset: s.subset })),
          source: task.test,
          methods,
          topN: c.combine.topN,
          solver: { gradTolerance: c.combine.gradTolerance, maxIterations: c.combine.maxIterations },
          onBatch: (done, total) => {
            if (Date.now() - lastLog > 20_000) {
              lastLog = Date.now();
              env.log(`combine: ${done}/${total} test examples`);
            }
          },
        });
        const withActive = r.active.filter((a) => a > 0).length;
        const its = r.eq5Iterations!;
        const out: CombineResult = {
          methods: Object.fromEntries(methods.map((m) => [m, { ...metricsOf(r, m, subsets), seconds: r.seconds[m] ?? 0 }])),
          generalistNll: r.nll.generalist,
          eq5: {
            criterion: EQ5_CRITERION,
            gradTolerance: c.combine.gradTolerance,
            maxIterations: c.combine.maxIterations,
            meanIterations: withActive ? its.reduce((a, b) => a + b, 0) / withActive : 0,
            maxIterations_: its.reduce((a, b) => Math.max(a, b), 0),
            notConverged: r.eq5NotConverged,
            meanActive: r.active.reduce((a, b) => a + b, 0) / Math.max(1, r.numExamples),
            withActive,
          },
          topN: c.combine.topN,
          specialistRows: r.specialistRows,
          seconds: (Date.now() - t0) / 1000,
        };
        writeResult(env.expDir, 'combine', out);
        const e = out.methods.eq5!;
        env.log(
          `combine: generalist ${pct(e.generalistAccuracy)} -> Eq. 5 ${pct(e.combinedAccuracy)} (arithmetic ${pct(out.methods.arithmetic!.combinedAccuracy)}, geometric ${pct(out.methods.geometric!.combinedAccuracy)}); conditional ${pct(e.conditional.generalistAccuracy)} -> ${pct(e.conditional.combinedAccuracy)}`,
        );
        return { generalist: e.generalistAccuracy, eq5: e.combinedAccuracy, conditional: e.conditional };
      },
    },
    {
      name: 'baseline',
      description: 'compute-matched baseline: the generalist trained on for the example passes all specialists used',
      configSlice: (c) => ({ baseline: c.baseline, specialists: { epochs: c.specialists.epochs, batchSize: c.specialists.batchSize, learningRate: c.specialists.learningRate } }),
      after: ['specialists'],
      run: async (c) => {
        const env = getEnv();
        if (!c.baseline.enabled) {
          writeResult(env.expDir, 'baseline', { enabled: false });
          return { enabled: false };
        }
        const t0 = Date.now();
        const task = await env.task();
        const gen = await env.generalist();
        const spec = readResult<SpecialistsResult>(env.expDir, 'specialists');
        const exact = spec.totalExamplesSeen / task.train.size;
        const epochs = Math.max(1, Math.round(exact));
        env.log(`baseline: the specialists processed ${spec.totalExamplesSeen} examples = ${exact.toFixed(2)} generalist epochs; training the generalist ${epochs} more epoch(s)`);
        const ckptTests = env.path(CKPT_DIR, `baseline-${env.hashes.get('baseline')}.test.json`);
        const testByEpoch: number[] = existsSync(ckptTests) ? (JSON.parse(readFileSync(ckptTests, 'utf8')) as number[]) : [];
        const { net, result } = await trainGeneralistLike(env, 'baseline', 'baseline', {
          epochs,
          batchSize: c.specialists.batchSize,
          learningRate: c.specialists.learningRate,
          seed: c.seed + 7,
          init: gen,
          onEpoch: (n) => {
            testByEpoch.push(accuracyOf(predictTop1(n.classifier, task.test), task.labels.test));
            mkdirSync(env.path(CKPT_DIR), { recursive: true });
            writeJsonAtomic(ckptTests, testByEpoch);
          },
        });
        try {
          const pred = predictTop1(net.classifier, task.test);
          const genPred = predictTop1(gen.classifier, task.test);
          const subsets = readResult<ClustersResult>(env.expDir, 'clusters').chosen.map((x) => x.subset);
          const r: SingleModelResult = {
            enabled: true,
            metrics: specialistMetricsFromPredictions({ labels: task.labels.test, generalist: genPred, combined: pred, numClasses: task.numClasses, subsets }),
            epochs,
            extraEpochsExact: exact,
            examplesSeen: result.history.length * task.train.size,
            devAccuracy: result.history.at(-1)?.validation,
            testAccuracyByEpoch: testByEpoch.slice(0, epochs),
            seconds: (Date.now() - t0) / 1000,
          };
          await saveNet(net, env.path(MODELS_DIR, 'baseline'), makeSidecar('kdasr-specialists-baseline', { epochs, from: 'generalist' }, c.seed + 7, { ...r }));
          writeResult(env.expDir, 'baseline', r);
          removeCkpt(env, 'baseline');
          rmSync(ckptTests, { force: true });
          env.log(`baseline: test accuracy ${pct(r.metrics.combinedAccuracy)} (generalist ${pct(r.metrics.generalistAccuracy)})`);
          return { testAccuracy: r.metrics.combinedAccuracy, epochs };
        } finally {
          net.dispose();
        }
      },
    },
    {
      name: 'distil-back',
      description: 'distil generalist + specialists (their combined distribution) back into one generalist-shaped model',
      configSlice: (c) => ({ distilBack: c.distilBack, combine: c.combine, engine: c.engine }),
      after: ['specialists'],
      run: async (c) => {
        const env = getEnv();
        const d = c.distilBack;
        if (!d.enabled) {
          writeResult(env.expDir, 'distil-back', { enabled: false });
          return { enabled: false };
        }
        const t0 = Date.now();
        const task = await env.task();
        const gen = await env.generalist();
        const specs = await env.hardSpecialists();
        const teacher = new SpecialistEnsembleTeacher({
          generalist: gen.classifier,
          specialists: specs.map((s) => ({ classifier: s.net.classifier, subset: s.subset })),
          topN: c.combine.topN,
          solver: { gradTolerance: c.combine.gradTolerance, maxIterations: c.combine.maxIterations },
          method: d.method,
          cacheExamples: task.train.size,
          maxCacheBytes: d.cacheMiB * 2 ** 20,
        });
        env.log(`distil-back: teacher = generalist + ${specs.length} specialists (${d.method}) at T=${d.temperature}${teacher.caching ? ', combined targets cached after the first epoch' : ''}`);
        const { net, result } = await trainGeneralistLike(env, 'distil-back', 'distil-back', {
          epochs: d.epochs,
          batchSize: d.batchSize,
          learningRate: d.learningRate,
          seed: c.seed + 11,
          init: d.init === 'generalist' ? gen : undefined,
          teacher,
          distil: d,
        });
        try {
          const pred = predictTop1(net.classifier, task.test);
          const genPred = predictTop1(gen.classifier, task.test);
          const subsets = specs.map((s) => s.subset);
          const r: SingleModelResult = {
            enabled: true,
            metrics: specialistMetricsFromPredictions({ labels: task.labels.test, generalist: genPred, combined: pred, numClasses: task.numClasses, subsets }),
            epochs: d.epochs,
            examplesSeen: result.history.length * task.train.size,
            devAccuracy: result.history.at(-1)?.validation,
            teacher: { method: d.method, temperature: d.temperature, cached: teacher.caching, rowsComputed: teacher.stats.rowsComputed },
            seconds: (Date.now() - t0) / 1000,
          };
          await saveNet(net, env.path(MODELS_DIR, 'distil-back'), makeSidecar('kdasr-specialists-distil-back', d, c.seed + 11, { ...r }));
          writeResult(env.expDir, 'distil-back', r);
          removeCkpt(env, 'distil-back');
          env.log(`distil-back: test accuracy ${pct(r.metrics.combinedAccuracy)} (generalist ${pct(r.metrics.generalistAccuracy)})`);
          return { testAccuracy: r.metrics.combinedAccuracy };
        } finally {
          net.dispose();
        }
      },
    },
    {
      name: 'soft-specialists',
      description: 'specialists also trained on the generalist\u2019s soft targets (§6.1), and hard ones with a dev-fitted dustbin, under Eq. 5',
      configSlice: (c) => ({ softSpecialists: c.softSpecialists, specialists: c.specialists, combine: c.combine, engine: c.engine, seed: c.seed }),
      after: ['specialists'],
      run: async (c) => {
        const env = getEnv();
        if (!c.softSpecialists.enabled) {
          writeResult(env.expDir, 'soft-specialists', { enabled: false, seconds: 0 });
          return { enabled: false };
        }
        const t0 = Date.now();
        const task = await env.task();
        const soft = await trainSpecialistSet(env, 'soft', 'soft-specialists');
        const gen = await env.generalist();
        const solver = { gradTolerance: c.combine.gradTolerance, maxIterations: c.combine.maxIterations };
        const softNets: LoadedSpecialist[] = [];
        const calibrated: LoadedSpecialist[] = [];
        try {
          for (const s of soft.specialists) {
            const l = await loadSpecialistNet(env.path(s.dir), env.engine);
            softNets.push({ net: l.net, subset: l.subset, dustbinOffset: l.dustbinOffset });
          }
          const hard = readResult<SpecialistsResult>(env.expDir, 'specialists');
          const offsets: number[] = [];
          for (const s of hard.specialists) {
            const l = await loadSpecialistNet(env.path(s.dir), env.engine);
            calibrated.push({ net: l.net, subset: l.subset, dustbinOffset: l.dustbinOffset });
            const z = predictLogits(l.net.classifier, specialistView(task.dev, l.subset));
            const cal = calibrateDustbinOffset(z.logits, z.labels!, l.subset.length + 1);
            l.net.addToOutputBias(l.subset.length, cal.offset);
            offsets.push(cal.offset);
          }
          const evalSet = (set: LoadedSpecialist[]) => {
            const r = combineOnSource({
              generalist: gen.classifier,
              specialists: set.map((s) => ({ classifier: s.net.classifier, subset: s.subset })),
              source: task.test,
              methods: ['eq5'],
              topN: c.combine.topN,
              solver,
            });
            return metricsOf(r, 'eq5', set.map((s) => s.subset));
          };
          const out: SoftResult = {
            enabled: true,
            soft,
            softMetrics: evalSet(softNets),
            hardCalibratedMetrics: evalSet(calibrated),
            hardCalibrationOffsets: offsets,
            seconds: (Date.now() - t0) / 1000,
          };
          writeResult(env.expDir, 'soft-specialists', out);
          env.log(
            `soft-specialists: Eq. 5 with soft-target specialists ${pct(out.softMetrics!.combinedAccuracy)}, with hard ones re-calibrated on dev ${pct(out.hardCalibratedMetrics!.combinedAccuracy)} (generalist ${pct(out.softMetrics!.generalistAccuracy)})`,
          );
          return { soft: out.softMetrics!.combinedAccuracy, hardCalibrated: out.hardCalibratedMetrics!.combinedAccuracy };
        } finally {
          for (const s of [...softNets, ...calibrated]) s.net.dispose();
        }
      },
    },
    {
      name: 'report',
      description: 'RESULTS.md (Tables 2-4 beside the paper, beyond-the-paper table), results.json, SVG plots',
      configSlice: (c) => ({ table2Rows: c.table2Rows }),
      after: ['data', 'generalist', 'clusters', 'specialists', 'combine', 'baseline', 'distil-back', 'soft-specialists'],
      run: async () => {
        const env = getEnv();
        const r = collectSpecialistsTaskResults(env.expDir, env.config, env.engine, env.command);
        writeJsonAtomic(env.path('results.json'), r);
        await writePlots(env.expDir, r);
        writeTextAtomic(env.path('RESULTS.md'), renderTaskReport(r, { plotPrefix: 'plots/' }));
        return { wrote: ['RESULTS.md', 'results.json', 'plots/'] };
      },
    },
  ];
}

function writeTextAtomic(path: string, text: string): void {
  writeFileAtomic(path, new TextEncoder().encode(text));
}

/** Everything the report shows for one task, from results/*.json and done/*.json. */
export function collectSpecialistsTaskResults(expDir: string, config: SpecialistsRecipeConfig, engine?: ResolvedEngine, command?: string): TaskResults {
  const stages = SPECIALISTS_STAGE_NAMES.map((name) => {
    const d = readDone(expDir, name);
    return { name, seconds: d?.seconds ?? NaN, finishedAt: d?.finishedAt };
  });
  const rt = requireRuntime('specialists report');
  const cf = join(expDir, STAGE_COMMANDS_FILE);
  const byStage = existsSync(cf) ? (JSON.parse(readFileSync(cf, 'utf8')) as Record<string, string>) : {};
  const commands: { command: string; stages: string[] }[] = [];
  for (const name of SPECIALISTS_STAGE_NAMES) {
    const cmd = byStage[name];
    if (!cmd) continue;
    const e = commands.find((x) => x.command === cmd);
    if (e) e.stages.push(name);
    else commands.push({ command: cmd, stages: [name] });
  }
  return {
    task: config.task,
    preset: config.name,
    command,
    commands,
    config,
    data: readResult<DataResult>(expDir, 'data'),
    generalist: readResult<GeneralistResult>(expDir, 'generalist'),
    clusters: readResult<ClustersResult>(expDir, 'clusters'),
    specialists: readResult<SpecialistsResult>(expDir, 'specialists'),
    combine: readResult<CombineResult>(expDir, 'combine'),
    baseline: readResultIfAny<SingleModelResult>(expDir, 'baseline'),
    distilBack: readResultIfAny<SingleModelResult>(expDir, 'distil-back'),
    soft: readResultIfAny<SoftResult>(expDir, 'soft-specialists'),
    stages,
    // The report stage's own time is not known yet; the top level adds it from done/report.json.
    totalSeconds: stages.filter((s) => s.name !== 'report').reduce((t, s) => t + (Number.isFinite(s.seconds) ? s.seconds : 0), 0),
    engine: engine ? { kind: engine.kind, reason: engine.kind === 'tfjs' ? engine.reason : undefined, blasThreads: engine.kind === 'native' ? engine.engine.info().blasThreads : undefined } : undefined,
    runtime: { backend: rt.backend, threads: rt.threads, patchedKernels: rt.patchedKernels },
    provenance: provenance(engine?.kind === 'native' ? { backend: `native (tfjs ${rt.backend} for I/O)`, threads: engine.engine.info().blasThreads } : {}),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Entry point.

export type SpecialistsTaskSelection = SpecialistsTaskName | 'all';

export interface SpecialistsRecipeOptions {
  preset: SpecialistsPresetName;
  /** Default 'all' (speech and mnist-pairs). */
  task?: SpecialistsTaskSelection;
  /** Default exp/specialists-<preset>; each task in <outDir>/<task>. */
  outDir?: string;
  /** First / last stage (index or name), as in Kaldi's run.sh. */
  stage?: number | string;
  stopStage?: number | string;
  /** Rerun stages in range even when complete. */
  force?: boolean;
  /** Overrides every task config's engine. */
  engine?: 'native' | 'tfjs' | 'auto';
  /** The speech task's ASR recipe directory (its data stages are reused when complete there); overrides the config's. */
  asrExpDir?: string;
  log?: (line: string) => void;
  /** The command line, for RESULTS.md. */
  command?: string;
  /** Replace a task's preset config (tests, custom runs); validated. */
  configs?: Partial<Record<SpecialistsTaskName, SpecialistsRecipeInput>>;
  /** The speech task's data (default: the ASR recipe's prepareAsrFrameTask). */
  speechLoader?: SpeechTaskLoader;
}

export interface SpecialistsTaskRun {
  task: SpecialistsTaskName;
  expDir: string;
  config: SpecialistsRecipeConfig;
  outcomes: StageOutcome[];
  /** Present when the report stage is complete. */
  results?: TaskResults;
}

export interface SpecialistsRecipeResult {
  outDir: string;
  tasks: SpecialistsTaskRun[];
  /** <outDir>/RESULTS.md, when at least one task has a report. */
  resultsFile?: string;
  wallSeconds: number;
}

export function specialistsTaskList(selection: SpecialistsTaskSelection): SpecialistsTaskName[] {
  if (selection === 'all') return [...ALL_TASKS];
  if (!(SPECIALISTS_TASK_NAMES as readonly string[]).includes(selection))
    throw new Error(`--task must be one of ${[...SPECIALISTS_TASK_NAMES, 'all'].join(', ')}, got "${selection}"`);
  return [selection];
}

/**
 * Runs the recipe's stages for each selected task (skipping complete ones), then writes <outDir>/RESULTS.md and
 * results.json over every task reported there. The caller initialises the tensor runtime (core initRuntime).
 */
export async function runSpecialistsRecipe(options: SpecialistsRecipeOptions): Promise<SpecialistsRecipeResult> {
  const t0 = Date.now();
  const log = options.log ?? ((l: string) => process.stderr.write(l + '\n'));
  requireRuntime('runSpecialistsRecipe');
  const outDir = options.outDir ?? join('exp', `specialists-${options.preset}`);
  const tasks = specialistsTaskList(options.task ?? 'all');
  const runs: SpecialistsTaskRun[] = [];
  for (const name of tasks) {
    const base = options.configs?.[name] ? parseSpecialistsConfig(options.configs[name], `config for task ${name}`) : specialistsPreset(options.preset, name);
    let config = options.engine ? parseSpecialistsConfig({ ...base, engine: options.engine }) : base;
    if (options.asrExpDir && config.data.kind === 'speech') config = parseSpecialistsConfig({ ...config, data: { ...config.data, asrExpDir: options.asrExpDir } });
    const expDir = join(outDir, name);
    const engine = resolveEngine(config.engine);
    const tlog = (l: string) => log(`[${name}] ${l}`);
    tlog(`preset ${config.name}: ${config.description}; engine ${engine.kind}${engine.kind === 'tfjs' ? ` (${engine.reason})` : ''}; output ${expDir}`);
    let env: TaskEnv | undefined;
    const stages = specialistsStages(() => env!);
    env = new TaskEnv(config, expDir, engine, tlog, options.speechLoader, stages, options.command);
    try {
      const outcomes = await runStages(stages, config, { expDir, stage: options.stage, stopStage: options.stopStage, force: options.force, log: tlog });
      const reportDone = readDone(expDir, 'report');
      const results = reportDone && existsSync(join(expDir, 'results.json')) ? (JSON.parse(readFileSync(join(expDir, 'results.json'), 'utf8')) as TaskResults) : undefined;
      runs.push({ task: name, expDir, config, outcomes, results });
    } finally {
      env.dispose();
    }
  }
  const resultsFile = writeSpecialistsTopLevel(outDir);
  return { outDir, tasks: runs, resultsFile, wallSeconds: (Date.now() - t0) / 1000 };
}

/** <outDir>/RESULTS.md and results.json over every task directory with a complete report (each with its command). */
export function writeSpecialistsTopLevel(outDir: string): string | undefined {
  const found: TaskResults[] = [];
  for (const name of SPECIALISTS_TASK_NAMES) {
    const f = join(outDir, name, 'results.json');
    if (!existsSync(f) || !readDone(join(outDir, name), 'report')) continue;
    const r = JSON.parse(readFileSync(f, 'utf8')) as TaskResults;
    const rep = readDone(join(outDir, name), 'report');
    // results.json is written inside the report stage, before its own time is known.
    found.push({
      ...r,
      stages: r.stages.map((s) => (s.name === 'report' ? { ...s, seconds: rep?.seconds ?? s.seconds, finishedAt: rep?.finishedAt } : s)),
      totalSeconds: r.totalSeconds + (rep?.seconds ?? 0),
    });
  }
  if (found.length === 0) return undefined;
  writeJsonAtomic(join(outDir, 'results.json'), { tasks: found });
  const file = join(outDir, 'RESULTS.md');
  writeTextAtomic(file, renderResults(found));
  return file;
}

