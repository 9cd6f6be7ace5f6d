/**
 * Recipes as ordered stages, in the spirit of Kaldi's and icefall's run.sh: `--stage N` / `--stop-stage N` pick a
 * range, and a stage whose outputs are complete is skipped. "Complete" means its done-file exists and records the
 * hash of the config slice the stage depends on (plus the hashes of the stages it reads), so changing a setting
 * reruns exactly the stages it affects and an interrupted run resumes at the stage it was in.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { assertSafeId, formatDuration, provenance, withDirectoryLock, writeJsonAtomic } from '@kdasr/core';
import { InlineRunner, JobKindRegistry, type Runner } from '@kdasr/jobs';

export interface StageContext {
  /** The recipe's output directory (exp/<recipe>-<preset>). */
  expDir: string;
  log: (line: string) => void;
  /** Where fan-out stages send their jobs (default: in this process, artifact root = expDir). */
  jobs?: StageJobs;
}

/** A runner and the artifact root its workers see (expDir must be inside it). */
export interface StageJobs {
  runner: Runner;
  root: string;
}

/** The stage's runner, or an in-process one over the registry of all job kinds. */
export async function stageJobs(ctx: StageContext): Promise<StageJobs> {
  if (ctx.jobs) return ctx.jobs;
  const { jobKinds } = await import('./job-kinds.js');
  return { runner: new InlineRunner({ root: ctx.expDir, registry: new JobKindRegistry(jobKinds) }), root: ctx.expDir };
}

export interface Stage<C> {
  /** Short name (kebab-case): the done-file's name and what --stage accepts besides the number. */
  name: string;
  description: string;
  /** The part of the config this stage's outputs depend on (hashed; a change reruns the stage). */
  configSlice: (config: C) => unknown;
  /** Stages whose outputs this one reads: their hashes enter this one's, so a rerun upstream reruns this. */
  after?: string[];
  run: (config: C, ctx: StageContext) => Promise<unknown>;
  /**
   * Paths (relative to expDir) the stage writes. Stages resume unit by unit inside themselves (a model, a
   * decoded system), so when a stage starts under a new hash these are removed first: nothing made under an
   * older config is reused. An interrupted run under the same hash keeps them and resumes.
   */
  outputs?: string[];
}

export interface DoneRecord {
  stage: string;
  index: number;
  hash: string;
  seconds: number;
  summary: unknown;
  finishedAt: string;
  provenance: ReturnType<typeof provenance>;
}

export interface RunStagesOptions {
  expDir: string;
  /** First stage to run (index or name); earlier ones must be complete. Default 0. */
  stage?: number | string;
  /** Last stage to run (inclusive). Default: the last. */
  stopStage?: number | string;
  /** Rerun stages in range even when complete. */
  force?: boolean;
  log?: (line: string) => void;
  /** Runner for the fan-out stages (see StageContext.jobs). */
  jobs?: StageJobs;
}

export interface StageOutcome {
  name: string;
  index: number;
  status: 'ran' | 'skipped' | 'not-in-range';
  seconds: number;
  summary?: unknown;
}

export const DONE_DIR = 'done';

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v as object)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

export function hashOf(v: unknown): string {
  return createHash('sha256').update(stableJson(v)).digest('hex').slice(0, 16);
}

export function resolveStageIndex<C>(stages: readonly Stage<C>[], v: number | string | undefined, flag: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : stages.findIndex((s) => s.name === v);
  if (!(Number.isInteger(n) && n >= 0 && n < stages.length))
    throw new Error(`${flag} ${v}: expected a stage number 0-${stages.length - 1} or a name (${stages.map((s) => s.name).join(', ')})`);
  return n;
}

export function readDone(expDir: string, name: string): DoneRecord | undefined {
  const f = join(expDir, DONE_DIR, `${name}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as DoneRecord) : undefined;
}

/** The hash each stage must record to count as complete (config slice + upstream hashes). */
export function stageHashes<C>(stages: readonly Stage<C>[], config: C): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of stages) {
    const up = (s.after ?? []).map((a) => {
      const h = out.get(a);
      if (h === undefined) throw new Error(`stage ${s.name}: "after" names ${a}, which is not an earlier stage`);
      return h;
    });
    out.set(s.name, hashOf({ slice: s.configSlice(config), up }));
  }
  return out;
}

/** The earliest stage among `name`'s transitive upstream stages whose done-file is missing or from another config. */
function firstStaleAncestor<C>(stages: readonly Stage<C>[], name: string, hashes: Map<string, string>, expDir: string): { index: number; name: string } {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const ancestors = new Set<string>();
  const visit = (n: string) => {
    for (const a of byName.get(n)?.after ?? []) if (!ancestors.has(a)) (ancestors.add(a), visit(a));
  };
  visit(name);
  const index = stages.findIndex((s) => ancestors.has(s.name) && readDone(expDir, s.name)?.hash !== hashes.get(s.name));
  return { index, name: stages[index].name };
}

/**
 * Run stages in order. Stages before `stage` are not run, but must be complete when a stage in range reads them.
 * Each finished stage writes done/<name>.json atomically, so a kill mid-stage leaves it incomplete (rerun).
 * The run holds the lock on expDir: a second run into the same directory fails at once, naming this one.
 */
export async function runStages<C>(stages: readonly Stage<C>[], config: C, options: RunStagesOptions): Promise<StageOutcome[]> {
  return withDirectoryLock(options.expDir, { command: process.argv.slice(1).join(' ') }, () => runStagesLocked(stages, config, options));
}

async function runStagesLocked<C>(stages: readonly Stage<C>[], config: C, options: RunStagesOptions): Promise<StageOutcome[]> {
  const log = options.log ?? ((l: string) => process.stderr.write(l + '\n'));
  for (const s of stages) assertSafeId(s.name, 'stage name (it names done/NAME.json)');
  const first = resolveStageIndex(stages, options.stage, '--stage', 0);
  const last = resolveStageIndex(stages, options.stopStage, '--stop-stage', stages.length - 1);
  if (first > last) throw new Error(`--stage ${options.stage} comes after --stop-stage ${options.stopStage}`);
  const hashes = stageHashes(stages, config);
  mkdirSync(join(options.expDir, DONE_DIR), { recursive: true });
  const outcomes: StageOutcome[] = [];
  for (const [i, s] of stages.entries()) {
    if (i < first || i > last) {
      outcomes.push({ name: s.name, index: i, status: 'not-in-range', seconds: 0, summary: readDone(options.expDir, s.name)?.summary });
      continue;
    }
    for (const a of s.after ?? []) {
      const d = readDone(options.expDir, a);
      if (!d || d.hash !== hashes.get(a)) {
        // Name the earliest stale stage this one depends on (directly or not): rerunning from there is what fixes it.
        const from = firstStaleAncestor(stages, s.name, hashes, options.expDir);
        throw new Error(
          `stage ${i} (${s.name}) reads the outputs of stage "${a}", which is ${d ? 'from another config' : 'not complete'} in ${options.expDir}; run from --stage ${from.index} (${from.name})`,
        );
      }
    }
    const done = readDone(options.expDir, s.name);
    const hash = hashes.get(s.name)!;
    if (!options.force && done && done.hash === hash) {
      log(`stage ${i} (${s.name}): complete, skipped`);
      outcomes.push({ name: s.name, index: i, status: 'skipped', seconds: done.seconds, summary: done.summary });
      continue;
    }
    const startedFile = join(options.expDir, DONE_DIR, `${s.name}.started.json`);
    const started = existsSync(startedFile) ? (JSON.parse(readFileSync(startedFile, 'utf8')) as { hash: string }) : undefined;
    const resuming = started?.hash === hash && !options.force;
    if (!resuming) {
      for (const o of s.outputs ?? []) rmSync(join(options.expDir, o), { recursive: true, force: true });
      writeJsonAtomic(startedFile, { hash, startedAt: new Date().toISOString() });
    }
    log(`stage ${i} (${s.name}): ${s.description}${resuming ? ' [resuming an interrupted run]' : done ? ' [config changed: rerunning]' : ''}`);
    const t0 = Date.now();
    const summary = await s.run(config, { expDir: options.expDir, log, jobs: options.jobs });
    const seconds = (Date.now() - t0) / 1000;
    const record: DoneRecord = { stage: s.name, index: i, hash, seconds, summary, finishedAt: new Date().toISOString(), provenance: provenance() };
    writeJsonAtomic(join(options.expDir, DONE_DIR, `${s.name}.json`), record);
    log(`stage ${i} (${s.name}): done in ${formatDuration(seconds)}`);
    outcomes.push({ name: s.name, index: i, status: 'ran', seconds, summary });
  }
  return outcomes;
}
