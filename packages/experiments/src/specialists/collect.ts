/** Everything the specialists report shows for one task, gathered from results/*.json and done/*.json. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { provenance, requireRuntime } from '@kdasr/core';
import { type ResolvedEngine } from '@kdasr/native';
import { readDone } from '../stages.js';
import { type SpecialistsRecipeConfig } from './config.js';
import { type TaskResults } from './report.js';
import { SPECIALISTS_STAGE_NAMES, STAGE_COMMANDS_FILE, readResult, readResultIfAny } from './env.js';
import type { ClustersResult, CombineResult, DataResult, GeneralistResult, SingleModelResult, SoftResult, SpecialistsResult } from './results.js';

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
