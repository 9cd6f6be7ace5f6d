/**
 * The ensemble stage and its unit of work: one ensemble member as a job (`asr-ensemble-member`). The payload is the
 * recipe config, the member index and the tensor backend of the submitting process, so a member trained on any
 * runner, by any worker, is the one the in-process path trains (same seed, same data, same backend). Per-epoch
 * checkpoints live in the job's scratch dir: a job recovered after its worker died resumes from its last epoch.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { initRuntime, runtimeInfo, type BackendRequest } from '@kdasr/core';
import { trainAcousticModel } from '@kdasr/acoustic-models';
import { defineJobKind, relativeToRoot, type JobSpec } from '@kdasr/jobs';
import { stageJobs, type Stage } from '../stages.js';
import { asrRecipeSchema, type AsrRecipeConfig } from './config.js';
import { CORPUS_DIR, DATA_DIR, FEATS_DIR, loadAsrData } from './data.js';
import { MODELS_DIR, acousticConfig, logPriorsOf, saveModelWithRecord, type ModelRecord } from './systems.js';

export const ENSEMBLE_MEMBER_KIND = 'asr-ensemble-member';

const payloadSchema = z.strictObject({
  /** The experiment directory, relative to the artifact root. */
  expDir: z.string().min(1),
  member: z.number().int().min(0),
  config: asrRecipeSchema,
  /** tfjs backend to start (the submitter's), so every runner computes with the same kernels. */
  backend: z.string().optional(),
});

export interface MemberJobSummary {
  devFrameAccuracy: number | null;
  seconds: number;
  engine: 'native' | 'tfjs';
}

const posix = (...p: string[]) => join(...p).split('\\').join('/');

export const ensembleMemberKind = defineJobKind({
  name: ENSEMBLE_MEMBER_KIND,
  description: 'train one ensemble member of the speech recipe (models/member-<i>)',
  payload: payloadSchema,
  inputs: (p) => [CORPUS_DIR, FEATS_DIR, DATA_DIR].map((d) => posix(p.expDir, d)),
  output: (p) => posix(p.expDir, MODELS_DIR, `member-${p.member}`),
  async run(p, ctx): Promise<MemberJobSummary> {
    await initRuntime(p.backend ? { backend: p.backend as BackendRequest } : {});
    const c = p.config as AsrRecipeConfig;
    const data = loadAsrData(ctx.path(p.expDir), c);
    try {
      const cfg = acousticConfig(c);
      const seed = c.seed + p.member;
      const t0 = Date.now();
      ctx.log(`member ${p.member} (seed ${seed}): ${data.task.train.size} frames, ${data.task.numClasses} classes`);
      const r = await trainAcousticModel({
        config: cfg,
        train: data.task.train,
        dev: data.task.dev,
        seed,
        engine: c.engine,
        checkpointDir: join(ctx.scratchDir, 'checkpoint'),
        onProgress: (e) => {
          if (e.phase === 'epoch' && e.record) ctx.progress(e.record.epoch / e.epochs, `member ${p.member} epoch ${e.record.epoch}/${e.epochs}, dev acc ${e.record.validation?.toFixed(4) ?? '-'}`);
        },
      });
      const record: ModelRecord = { name: `member-${p.member}`, seed, engine: r.engine, history: r.result.history, finalEpoch: r.result.finalEpoch, bestEpoch: r.result.bestEpoch, seconds: (Date.now() - t0) / 1000 };
      await saveModelWithRecord(ctx.outDir, data, r.model, cfg, logPriorsOf(data), record);
      r.model.dispose();
      const dev = r.devFrameAccuracy;
      return { devFrameAccuracy: dev !== undefined && Number.isFinite(dev) ? dev : null, seconds: record.seconds, engine: r.engine };
    } finally {
      data.archive.close();
    }
  },
});

/** The job for member i of the recipe whose directory is `expRel` under the artifact root. */
export function ensembleMemberJob(c: AsrRecipeConfig, expRel: string, member: number): JobSpec {
  // The FSDD source directory is read by the corpus stage only; a worker never needs (or sees) that path.
  const config = c.corpus.kind === 'fsdd' ? { ...c, corpus: { ...c.corpus, dir: undefined } } : c;
  const backend = runtimeInfo()?.backend;
  return { kind: ENSEMBLE_MEMBER_KIND, payload: JSON.parse(JSON.stringify({ expDir: expRel, member, config, ...(backend ? { backend } : {}) })) };
}

export const ensembleStage: Stage<AsrRecipeConfig> = {
  name: 'ensemble',
  outputs: [MODELS_DIR],
  description: 'train the ensemble members (differing only in their init seed); member 0 is the baseline',
  configSlice: (c) => ({ model: c.model, members: c.ensemble.members, seed: c.seed, engine: c.engine }),
  after: ['labels'],
  async run(c, ctx) {
    // One job per member (the same job through any runner: in-process by default, or --runner local|bullmq|slurm).
    const { runner, root } = await stageJobs(ctx);
    const jobs = Array.from({ length: c.ensemble.members }, (_, i) => ensembleMemberJob(c, relativeToRoot(root, ctx.expDir, 'the experiment directory (--out)'), i));
    ctx.log(`  ${jobs.length} member job(s) on the ${runner.name} runner`);
    const outcomes = await runner.run(jobs, { log: ctx.log, onProgress: (p) => ctx.log(`  ${p.line}`) });
    for (const [i, o] of outcomes.entries()) ctx.log(`  member ${i}: ${o.status === 'skipped' ? 'already trained' : `trained in ${(o.summary as MemberJobSummary).seconds.toFixed(1)} s`}`);
    return { members: c.ensemble.members, devFrameAccuracyNewMembers: outcomes.filter((o) => o.status === 'ran').map((o) => (o.summary as MemberJobSummary).devFrameAccuracy ?? NaN) };
  },
};
