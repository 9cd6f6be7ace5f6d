/**
 * The Slurm runner, after Kaldi's slurm.pl: one `sbatch --array` per batch of jobs, a log per task, and each task
 * writes its exit status file into the artifact root (sacct is often not configured, and a file on the shared root
 * is what the submitter can always read). A collector job submitted with `--dependency=afterany:<array>` marks the
 * array finished, so a task killed before it could write its status (out of memory, node failure, time limit) is
 * seen as failed rather than waited on forever. Failed tasks are resubmitted as a smaller array, up to a limit.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeJsonAtomic } from '@kdasr/core';
import type { JobOutcome } from './execute.js';
import { jobHash, jobId, stableJson, type JobSpec } from './kind.js';
import { JobsFailedError, ProgressTracker, type JobFailure, type RunHooks, type Runner } from './runner.js';
import { siblingModule, tsNodeArgs } from './node-args.js';
import { createHash } from 'node:crypto';

export const SLURM_DIR = join('jobs', 'slurm');

export interface SlurmRunnerOptions {
  root: string;
  kindsModule: string;
  /** Passed through to sbatch (partition, --cpus-per-task, --time, ...). */
  slurmArgs?: string[];
  /** Resubmissions of failed tasks before giving up (default 2). */
  maxResubmits?: number;
  pollMs?: number;
  /** Environment for sbatch (SLURM_CONF, ...) and the tasks (exported with --export=ALL). */
  env?: Record<string, string>;
}

/** What a task writes to status/<index>.json. */
export interface SlurmTaskStatus {
  index: number;
  exitCode: number;
  outcome?: JobOutcome;
  error?: string;
  host: string;
}

export interface SlurmBatchFile {
  root: string;
  kindsModule: string;
  jobs: JobSpec[];
}

function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export class SlurmRunner implements Runner {
  readonly name = 'slurm' as const;
  constructor(private readonly o: SlurmRunnerOptions) {}

  private sbatch(args: string[]): string {
    try {
      return execFileSync('sbatch', ['--parsable', ...args], { env: { ...process.env, ...this.o.env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split(';')[0];
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`sbatch failed: ${(err.stderr || err.message).trim()}; check that Slurm is up (sinfo), SLURM_CONF, and --slurm-args`);
    }
  }

  async run(jobs: JobSpec[], hooks: RunHooks = {}): Promise<JobOutcome[]> {
    const ids = jobs.map(jobId);
    const batchId = createHash('sha256').update(stableJson(jobs.map(jobHash))).digest('hex').slice(0, 16);
    const dir = join(this.o.root, SLURM_DIR, batchId);
    const statusDir = join(dir, 'status');
    const logDir = join(dir, 'logs');
    mkdirSync(statusDir, { recursive: true });
    mkdirSync(logDir, { recursive: true });
    const batch: SlurmBatchFile = { root: this.o.root, kindsModule: this.o.kindsModule, jobs };
    writeJsonAtomic(join(dir, 'batch.json'), batch);
    const script = join(dir, 'task.sh');
    const node = [process.execPath, ...tsNodeArgs(), siblingModule('slurm-task'), join(dir, 'batch.json'), '"$SLURM_ARRAY_TASK_ID"'];
    writeFileSync(script, `#!/bin/bash\n# kdasr job batch ${batchId}: ${jobs.length} task(s); one log per task in logs/\nexec ${node.map((a) => (a.startsWith('"') ? a : shellQuote(a))).join(' ')}\n`, { mode: 0o755 });
    const tracker = new ProgressTracker(ids, hooks);
    const out: JobOutcome[] = new Array(jobs.length);
    const statusFile = (i: number) => join(statusDir, `${i}.json`);
    const readStatus = (i: number): SlurmTaskStatus | undefined => (existsSync(statusFile(i)) ? (JSON.parse(readFileSync(statusFile(i), 'utf8')) as SlurmTaskStatus) : undefined);
    // Tasks already finished by an earlier submission of the same batch (a rerun submitter) are not resubmitted.
    let todo = jobs.map((_, i) => i).filter((i) => {
      const s = readStatus(i);
      if (s?.exitCode === 0 && s.outcome) {
        out[i] = s.outcome;
        tracker.finish(ids[i]);
        return false;
      }
      return true;
    });
    let lastErrors = new Map<number, string>();
    for (let round = 0; todo.length && round <= (this.o.maxResubmits ?? 2); round++) {
      for (const i of todo) rmSync(statusFile(i), { force: true });
      const marker = join(dir, `round-${round}.done`);
      rmSync(marker, { force: true });
      const arrayId = this.sbatch([
        `--array=${todo.join(',')}`,
        `--job-name=kdasr-${batchId.slice(0, 8)}`,
        `--output=${join(logDir, 'task-%a.log')}`,
        '--open-mode=append',
        '--export=ALL',
        ...(this.o.slurmArgs ?? []),
        script,
      ]);
      // Runs once every task of the array has ended, however it ended.
      this.sbatch([`--dependency=afterany:${arrayId}`, `--job-name=kdasr-${batchId.slice(0, 8)}-done`, `--output=${join(logDir, `collector-${round}.log`)}`, '--export=ALL', ...(this.o.slurmArgs ?? []), `--wrap=touch ${shellQuote(marker)}`]);
      hooks.log?.(`  slurm array ${arrayId}: ${todo.length} task(s) (round ${round + 1}); logs in ${join(SLURM_DIR, batchId, 'logs')}`);
      const pending = new Set(todo);
      for (;;) {
        for (const i of [...pending]) {
          const s = readStatus(i);
          if (!s) continue;
          pending.delete(i);
          if (s.exitCode === 0 && s.outcome) {
            out[i] = s.outcome;
            tracker.finish(ids[i]);
          } else lastErrors.set(i, s.error ?? `exit code ${s.exitCode}`);
        }
        if (!pending.size) break;
        if (existsSync(marker)) {
          // The array ended; a task that still wrote no status died without a word (see its log).
          await new Promise((r) => setTimeout(r, 1000));
          for (const i of [...pending]) if (!readStatus(i)) (pending.delete(i), lastErrors.set(i, 'the task ended without writing its status (killed? out of memory? time limit?)'));
          if (!pending.size) break;
          continue;
        }
        await new Promise((r) => setTimeout(r, this.o.pollMs ?? 1000));
      }
      todo = todo.filter((i) => !out[i]);
      if (todo.length && round < (this.o.maxResubmits ?? 2)) hooks.log?.(`  ${todo.length} task(s) failed; resubmitting: ${todo.map((i) => ids[i]).join(', ')}`);
      if (!todo.length) lastErrors = new Map();
    }
    if (todo.length) {
      const failures: JobFailure[] = todo.map((i) => ({ id: ids[i], kind: jobs[i].kind, reason: lastErrors.get(i) ?? 'failed', log: join(SLURM_DIR, batchId, 'logs', `task-${i}.log`) }));
      throw new JobsFailedError(this.name, failures, jobs.length);
    }
    return out;
  }

  async close(): Promise<void> {}
}
