/** Runs jobs one after another in this process, through the same idempotent executeJob as every other runner. */
import { executeJob, type JobOutcome } from './execute.js';
import { jobId, type JobKindRegistry, type JobSpec } from './kind.js';
import { JobsFailedError, ProgressTracker, type RunHooks, type Runner } from './runner.js';

export class InlineRunner implements Runner {
  readonly name = 'inline' as const;
  constructor(private readonly o: { root: string; registry: JobKindRegistry }) {}
  async run(jobs: JobSpec[], hooks: RunHooks = {}): Promise<JobOutcome[]> {
    const ids = jobs.map(jobId);
    const tracker = new ProgressTracker(ids, hooks);
    const out: JobOutcome[] = [];
    for (const [i, spec] of jobs.entries()) {
      try {
        out.push(await executeJob(this.o.registry, this.o.root, spec, { progress: (f, m) => tracker.set(ids[i], f, m), log: hooks.log }));
      } catch (e) {
        throw new JobsFailedError(this.name, [{ id: ids[i], kind: spec.kind, reason: (e as Error).message }], jobs.length);
      }
      tracker.finish(ids[i]);
    }
    return out;
  }
  async close(): Promise<void> {}
}
