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
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requireRuntime, writeJsonAtomic } from '@kdasr/core';
import { resolveEngine } from '@kdasr/native';
import { readDone, runStages, type Stage, type StageOutcome } from '../stages.js';
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
import { type SpeechTaskLoader } from './tasks.js';
import { renderResults, type TaskResults } from './report.js';
import { TaskEnv, recordStageCommand, writeTextAtomic } from './env.js';
import { modelStages } from './stages-models.js';
import { systemStages } from './stages-systems.js';

export { RESULTS_DIR, MODELS_DIR, CKPT_DIR, SPECIALISTS_STAGE_NAMES, EQ5_CRITERION, STAGE_COMMANDS_FILE, readResult } from './env.js';
export { collectSpecialistsTaskResults } from './collect.js';
export type { DataResult, GeneralistResult, ChosenSubset, ClustersResult, SpecialistRecord, SpecialistsResult, CombineResult, SingleModelResult, SoftResult } from './results.js';

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
  return [...modelStages(getEnv), ...systemStages(getEnv)];
}

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

