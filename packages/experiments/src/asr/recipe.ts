/**
 * `kdasr experiment asr`: the speech recipe as an ordered list of resumable stages (Kaldi/icefall style):
 *   0 corpus → 1 features → 2 labels → 3 ensemble → 4 teacher-logits → 5 students → 6 score → 7 report.
 * Outputs live under exp/asr-<preset>/ with the resolved config (config.json) and per-stage provenance (done/).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '@kdasr/core';
import type { AsrRecipeConfig } from './config.js';
import { DATA_STAGES } from './data.js';
import { logitsStage, studentsStage } from './systems.js';
import { ensembleStage } from './ensemble.js';
import { scoreStage } from './score.js';
import { formatTables, readResults, reportStage, type AsrResults } from './report.js';
import { runStages, type Stage, type StageJobs, type StageOutcome } from '../stages.js';

export function asrStages(command: () => string): Stage<AsrRecipeConfig>[] {
  return [...DATA_STAGES, ensembleStage, logitsStage, studentsStage, scoreStage, reportStage(command)];
}

export interface AsrExperimentOptions {
  config: AsrRecipeConfig;
  /** Default exp/asr-<preset>. */
  expDir?: string;
  stage?: number | string;
  stopStage?: number | string;
  force?: boolean;
  /** The command line recorded in RESULTS.md. */
  command?: string;
  log?: (line: string) => void;
  /** Where the fan-out stages (the ensemble) run their jobs; default in this process. */
  jobs?: StageJobs;
}

export interface AsrExperimentResult {
  expDir: string;
  outcomes: StageOutcome[];
  /** Present once the report stage has run. */
  results?: AsrResults;
  tables?: string;
  wallSeconds: number;
}

export async function runAsrExperiment(o: AsrExperimentOptions): Promise<AsrExperimentResult> {
  const t0 = Date.now();
  const expDir = o.expDir ?? join('exp', `asr-${o.config.name}`);
  mkdirSync(expDir, { recursive: true });
  writeJsonAtomic(join(expDir, 'config.json'), o.config);
  const command = o.command ?? `kdasr experiment asr --preset ${o.config.name}`;
  const outcomes = await runStages(asrStages(() => command), o.config, { expDir, stage: o.stage, stopStage: o.stopStage, force: o.force, log: o.log, jobs: o.jobs });
  const results = readResults(expDir);
  return { expDir, outcomes, results, tables: results ? formatTables(results) : undefined, wallSeconds: (Date.now() - t0) / 1000 };
}
