/**
 * The default runner: up to `concurrency` child processes on this machine, one job each (like Kaldi's run.pl).
 * A child is a fresh node running executeJob, so a job's memory and native state die with it, and its output
 * goes to jobs/logs/<id>.log under the artifact root.
 */
import { fork } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { isJobComplete, loadRegistry, type JobOutcome } from './execute.js';
import { jobId, type JobSpec } from './kind.js';
import { JobsFailedError, ProgressTracker, type JobFailure, type RunHooks, type Runner } from './runner.js';
import { siblingModule, tsNodeArgs } from './node-args.js';

export const JOB_LOGS_DIR = join('jobs', 'logs');

export interface LocalRunnerOptions {
  root: string;
  /** Module exporting `jobKinds` (the registry the children load). */
  kindsModule: string;
  concurrency?: number;
  /** Extra environment for the children (e.g. OPENBLAS_NUM_THREADS=1 per child). */
  env?: Record<string, string>;
}

/** Messages a job child sends its parent over IPC. */
export type ChildMessage = { type: 'progress'; fraction: number; message?: string } | { type: 'done'; outcome: JobOutcome } | { type: 'error'; message: string; name: string };

export interface ChildRequest {
  root: string;
  kindsModule: string;
  spec: JobSpec;
}

export class LocalRunner implements Runner {
  readonly name = 'local' as const;
  constructor(private readonly o: LocalRunnerOptions) {}

  async run(jobs: JobSpec[], hooks: RunHooks = {}): Promise<JobOutcome[]> {
    const ids = jobs.map(jobId);
    const tracker = new ProgressTracker(ids, hooks);
    const out: JobOutcome[] = new Array(jobs.length);
    const failures: JobFailure[] = [];
    const registry = await loadRegistry(this.o.kindsModule);
    let next = 0;
    const lane = async () => {
      while (next < jobs.length && failures.length === 0) {
        const i = next++;
        try {
          out[i] = isJobComplete(registry, this.o.root, jobs[i]) ?? (await this.runOne(jobs[i], (f, m) => tracker.set(ids[i], f, m)));
          tracker.finish(ids[i]);
          if (out[i].status === 'skipped') hooks.log?.(`  ${ids[i]}: output complete, skipped`);
        } catch (e) {
          failures.push({ id: ids[i], kind: jobs[i].kind, reason: (e as Error).message, log: join(JOB_LOGS_DIR, `${ids[i]}.log`) });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.o.concurrency ?? 1, jobs.length)) }, lane));
    if (failures.length) throw new JobsFailedError(this.name, failures, jobs.length);
    return out;
  }

  private runOne(spec: JobSpec, progress: (f: number, m?: string) => void): Promise<JobOutcome> {
    const id = jobId(spec);
    const logDir = join(this.o.root, JOB_LOGS_DIR);
    mkdirSync(logDir, { recursive: true });
    const log = createWriteStream(join(logDir, `${id}.log`), { flags: 'a' });
    log.write(`# ${new Date().toISOString()} ${spec.kind} on the local runner (pid ${process.pid})\n`);
    const child = fork(siblingModule('child-main'), [], { execArgv: tsNodeArgs(), env: { ...process.env, ...this.o.env }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    return new Promise<JobOutcome>((resolve, reject) => {
      let result: JobOutcome | undefined;
      let error: string | undefined;
      child.on('message', (m: ChildMessage) => {
        if (m.type === 'progress') progress(m.fraction, m.message);
        else if (m.type === 'done') result = m.outcome;
        else error = `${m.name}: ${m.message}`;
      });
      child.on('error', (e) => (error ??= `cannot start a job process: ${e.message}`));
      child.on('exit', (code, signal) => {
        log.end();
        if (result) resolve(result);
        else reject(new Error(error ?? `job process exited with ${signal ?? `code ${code}`} before finishing`));
      });
      const req: ChildRequest = { root: this.o.root, kindsModule: this.o.kindsModule, spec };
      child.send(req);
    });
  }

  async close(): Promise<void> {}
}
