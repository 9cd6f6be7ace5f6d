/** Per-task state and file helpers shared by the specialists recipe's stages (layout: see recipe.ts). */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatDuration, writeFileAtomic, writeJsonAtomic } from '@kdasr/core';
import { type ProgressEvent } from '@kdasr/distillation';
import { type ResolvedEngine } from '@kdasr/native';
import { loadNet, loadSpecialistNet, type Net } from '@kdasr/specialists';
import { stageHashes, type Stage } from '../stages.js';
import { type SpecialistsRecipeConfig } from './config.js';
import { loadTask, type LoadedTask, type SpeechTaskLoader } from './tasks.js';
import type { SpecialistsResult } from './results.js';

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

export interface LoadedSpecialist {
  net: Net;
  subset: number[];
  dustbinOffset: number;
}

export class TaskEnv {
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

export function readResultIfAny<T>(expDir: string, name: string): T | undefined {
  const f = join(expDir, RESULTS_DIR, `${name}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as T) : undefined;
}

export function writeResult(expDir: string, name: string, value: unknown): void {
  writeJsonAtomic(join(expDir, RESULTS_DIR, `${name}.json`), value);
}

export function pct(x: number): string {
  return `${(100 * x).toFixed(2)}%`;
}

/** Epoch lines, plus a step line at most every 20 s inside long epochs. */
export function progressLogger(label: string, log: (line: string) => void): (e: ProgressEvent) => void {
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

export function removeCkpt(env: TaskEnv, name: string): void {
  rmSync(env.path(CKPT_DIR, `${name}-${env.hashes.get(name)}`), { recursive: true, force: true });
}

/** <expDir>/stage-commands.json: for each stage, the command line of the invocation that last ran it. */
export const STAGE_COMMANDS_FILE = 'stage-commands.json';

export function recordStageCommand(env: TaskEnv, stage: string): void {
  const f = env.path(STAGE_COMMANDS_FILE);
  const m = existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as Record<string, string>) : {};
  m[stage] = env.command ?? '(not recorded: called from code)';
  writeJsonAtomic(f, m);
}


export function writeTextAtomic(path: string, text: string): void {
  writeFileAtomic(path, new TextEncoder().encode(text));
}
