/** Training shared by several specialists stages: a set of specialists (hard or soft targets) and generalist-shaped models. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatDuration, makeSidecar, requireRuntime, writeJsonAtomic } from '@kdasr/core';
import { distill, type DistillResult } from '@kdasr/distillation';
import {
  SpecialistEnsembleTeacher,
  createNet,
  runSpecialistJobsInChildProcesses,
  saveNet,
  specialistMetricsFromPredictions,
  trainSpecialistNet,
  writeDatasetFiles,
  type CombineMethod,
  type CombinedOnSource,
  type Net,
  type SpecialistConfig,
  type SpecialistJob,
  type SpecialistMetrics,
} from '@kdasr/specialists';
import { hashOf } from '../stages.js';
import { type SpecialistsRecipeConfig } from './config.js';
import { accuracyOf, predictTop1 } from './tasks.js';
import { CKPT_DIR, MODELS_DIR, TaskEnv, progressLogger, readResult } from './env.js';
import type { SpecialistRecord, SpecialistsResult, ClustersResult } from './results.js';

export function metricsOf(r: CombinedOnSource, method: CombineMethod, subsets: number[][]): SpecialistMetrics & { nll: number } {
  return {
    ...specialistMetricsFromPredictions({ labels: r.labels, generalist: r.generalistPredictions, combined: r.predictions[method]!, numClasses: r.numClasses, subsets }),
    nll: r.nll[method] ?? NaN,
  };
}

export function specialistConfigFor(c: SpecialistsRecipeConfig, subset: number[], m: number, soft: boolean): SpecialistConfig {
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
export async function trainSpecialistSet(env: TaskEnv, kind: 'hard' | 'soft', stageName: string): Promise<SpecialistsResult> {
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

export async function trainGeneralistLike(
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
