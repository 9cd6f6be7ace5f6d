/**
 * The BullMQ runner: the submitter adds one BullMQ job per kdasr job (jobId = the job's config-hash id, so a rerun
 * of the submitter finds the jobs it queued before and waits on them instead of adding twins), and `kdasr worker`
 * processes on any machine that sees the artifact root run them in sandboxed child processes.
 *
 * Settings (chosen, not defaults):
 * - Sandboxed processor (a file run in a forked child): training blocks the child's event loop for minutes; the
 *   worker's main process keeps renewing the lock meanwhile, so a busy job is never taken for a dead one.
 * - lockDuration 60 s (renewed every 30 s): a killed worker's job is free again at most 60 s after its death.
 * - stalledInterval 30 s: how often each worker looks for such jobs and moves them back to waiting (the
 *   'stalled' event, logged by the worker that recovers it and counted in `kdasr jobs status`).
 * - maxStalledCount 2: a job whose workers died under it three times is failed (something in it kills workers).
 * - attempts 3, exponential backoff from 30 s: a thrown error (a full disk, an NFS hiccup) is retried twice;
 *   a malformed payload or a path outside the root is unrecoverable and fails at once.
 * - completed and failed jobs are kept 7 days, so a rerun submitter reattaches to them and `jobs status` shows them.
 * Delivery is at least once (a stalled job can run twice); executeJob makes that safe.
 */
import { Queue, Worker, UnrecoverableError, type ConnectionOptions, type Job, type JobsOptions } from 'bullmq';
import { resolve } from 'node:path';
import { executeJob, loadRegistry, type JobOutcome } from './execute.js';
import { JobKindRegistry, JobPayloadError, jobId, type JobSpec } from './kind.js';
import { JobPathError } from './paths.js';
import { checkRedis, maskRedisUrl, redisOptions } from './redis.js';
import { JobsFailedError, ProgressTracker, formatSeconds, type JobFailure, type RunHooks, type Runner } from './runner.js';
import { siblingModule, tsNodeArgs } from './node-args.js';

export const DEFAULT_QUEUE = 'kdasr';

function bullConnection(url: string): ConnectionOptions {
  return redisOptions(url) as ConnectionOptions;
}

export const WORKER_DEFAULTS = { lockDurationMs: 60_000, stalledIntervalMs: 30_000, maxStalledCount: 2 } as const;
export const SUBMIT_DEFAULTS = { attempts: 3, backoffMs: 30_000, keepSeconds: 7 * 24 * 3600 } as const;

/** What a BullMQ job carries: the kdasr job, nothing else (no paths outside it, no code). */
export interface QueuedJobData {
  spec: JobSpec;
}

export interface BullRunnerOptions {
  redis: string;
  queue?: string;
  attempts?: number;
  backoffMs?: number;
  pollMs?: number;
}

export class BullRunner implements Runner {
  readonly name = 'bullmq' as const;
  private queue?: Queue;
  constructor(private readonly o: BullRunnerOptions) {}

  private async open(): Promise<Queue> {
    if (this.queue) return this.queue;
    await checkRedis(this.o.redis);
    this.queue = new Queue(this.o.queue ?? DEFAULT_QUEUE, { connection: bullConnection(this.o.redis) });
    return this.queue;
  }

  async run(jobs: JobSpec[], hooks: RunHooks = {}): Promise<JobOutcome[]> {
    const queue = await this.open();
    const ids = jobs.map(jobId);
    const opts: JobsOptions = {
      attempts: this.o.attempts ?? SUBMIT_DEFAULTS.attempts,
      backoff: { type: 'exponential', delay: this.o.backoffMs ?? SUBMIT_DEFAULTS.backoffMs },
      removeOnComplete: { age: SUBMIT_DEFAULTS.keepSeconds },
      removeOnFail: { age: SUBMIT_DEFAULTS.keepSeconds },
    };
    const submit = async (i: number) => {
      const existing = await queue.getJob(ids[i]);
      if (!existing) {
        await queue.add(jobs[i].kind, { spec: jobs[i] } satisfies QueuedJobData, { ...opts, jobId: ids[i] });
        return;
      }
      const state = await existing.getState();
      hooks.log?.(`  ${ids[i]}: already queued (${state}); reattached`);
      // A failed job from an earlier submission is tried again (its output, if any, is still skipped by hash).
      if (state === 'failed') await existing.retry('failed');
    };
    for (let i = 0; i < jobs.length; i++) await submit(i);
    hooks.log?.(`  submitted ${jobs.length} job(s) to queue "${queue.name}" on ${maskRedisUrl(this.o.redis)}; waiting for workers (kdasr worker --redis URL --artifacts DIR)`);
    const tracker = new ProgressTracker(ids, hooks);
    const out: JobOutcome[] = new Array(jobs.length);
    const failures: JobFailure[] = [];
    const pending = new Set(ids.map((_, i) => i));
    while (pending.size) {
      for (const i of [...pending]) {
        // State first, then the job: a job read before its state turned 'completed' has no return value yet.
        const state = await queue.getJobState(ids[i]);
        const job = state === 'unknown' ? undefined : await queue.getJob(ids[i]);
        if (!job) {
          // Removed from Redis while we waited (obliterated, or expired): queue it again.
          await submit(i);
          continue;
        }
        if (state === 'completed') {
          out[i] = job.returnvalue as JobOutcome;
          tracker.finish(ids[i]);
          pending.delete(i);
        } else if (state === 'failed') {
          failures.push({ id: ids[i], kind: jobs[i].kind, reason: `${job.failedReason ?? 'failed'} (after ${job.attemptsMade} attempt(s))`, log: 'the worker\u2019s output; kdasr jobs status --redis URL' });
          pending.delete(i);
        } else {
          const p = job.progress as { fraction?: number; message?: string } | number;
          const f = typeof p === 'number' ? p : (p?.fraction ?? 0);
          if (f > 0) tracker.set(ids[i], Math.min(f, 0.999), typeof p === 'object' ? p?.message : undefined);
        }
      }
      if (pending.size) await new Promise((r) => setTimeout(r, this.o.pollMs ?? 500));
    }
    if (failures.length) throw new JobsFailedError(this.name, failures, jobs.length);
    return out;
  }

  async close(): Promise<void> {
    await this.queue?.close();
    this.queue = undefined;
  }
}

export interface WorkerOptions {
  redis: string;
  /** The artifact root as this machine mounts it. */
  artifacts: string;
  /** Module exporting `jobKinds`: the only code this worker will run. */
  kindsModule: string;
  queue?: string;
  concurrency?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  maxStalledCount?: number;
  /** Environment for the sandboxed job processes (e.g. OPENBLAS_NUM_THREADS=1). */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export interface WorkerHandle {
  close(): Promise<void>;
}

/** Starts a BullMQ worker whose jobs run in sandboxed child processes (processor.ts). */
export async function startWorker(o: WorkerOptions): Promise<WorkerHandle> {
  await checkRedis(o.redis);
  const log = o.log ?? ((l: string) => console.error(l));
  const root = resolve(o.artifacts);
  // Fail here, not on the first job, when the registry module is broken.
  const registry = await loadRegistry(o.kindsModule);
  const s = { ...WORKER_DEFAULTS, ...definedOnly({ lockDurationMs: o.lockDurationMs, stalledIntervalMs: o.stalledIntervalMs, maxStalledCount: o.maxStalledCount }) };
  const worker = new Worker(o.queue ?? DEFAULT_QUEUE, siblingModule('processor'), {
    connection: bullConnection(o.redis),
    concurrency: o.concurrency ?? 1,
    lockDuration: s.lockDurationMs,
    stalledInterval: s.stalledIntervalMs,
    maxStalledCount: s.maxStalledCount,
    useWorkerThreads: false,
    workerForkOptions: { execArgv: tsNodeArgs(), env: { ...process.env, ...o.env, KDASR_ARTIFACTS: root, KDASR_JOB_KINDS: o.kindsModule } },
  });
  worker.on('active', (job: Job) => log(`[worker ${process.pid}] start ${job.id} (${job.name}, attempt ${job.attemptsMade + 1})`));
  worker.on('completed', (job: Job) => {
    const r = job.returnvalue as JobOutcome | undefined;
    log(`[worker ${process.pid}] done ${job.id}: ${r?.status ?? '?'} in ${formatSeconds(r?.seconds ?? NaN)}`);
  });
  worker.on('failed', (job: Job | undefined, err: Error) => log(`[worker ${process.pid}] failed ${job?.id ?? '?'}: ${err.message}`));
  worker.on('stalled', (id: string, prev: string) => log(`[worker ${process.pid}] stalled job ${id} (was ${prev}; its worker died or lost its lock) moved back to waiting`));
  worker.on('error', (e: Error) => log(`[worker ${process.pid}] error: ${e.message}`));
  await worker.waitUntilReady();
  log(`[worker ${process.pid}] queue "${worker.name}" on ${maskRedisUrl(o.redis)}, artifacts ${root}, concurrency ${o.concurrency ?? 1}, kinds ${registry.names().join(', ')}; lock ${s.lockDurationMs} ms, stalled check ${s.stalledIntervalMs} ms, max stalls ${s.maxStalledCount}`);
  return { close: () => worker.close() };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The sandboxed processor's work (processor.ts is its entry): one job, errors classed for BullMQ's retries. */
export async function processQueuedJob(registry: JobKindRegistry, root: string, job: Job<QueuedJobData>): Promise<JobOutcome> {
  try {
    return await executeJob(registry, root, job.data.spec, { progress: (fraction, message) => void job.updateProgress({ fraction, message }), log: (l) => console.log(l) });
  } catch (e) {
    if (e instanceof JobPayloadError || e instanceof JobPathError) throw new UnrecoverableError(`${e.name}: ${e.message}`);
    throw e;
  }
}

export interface JobsStatusOptions {
  redis: string;
  queue?: string;
  /** Jobs listed per state. */
  limit?: number;
}

export interface QueuedJobInfo {
  id: string;
  kind: string;
  state: string;
  attemptsMade: number;
  /** Times a worker died (or lost its lock) under this job and it was recovered. */
  stalls: number;
  fraction?: number;
  failedReason?: string;
  seconds?: number;
}

export interface JobsStatus {
  queue: string;
  counts: Record<string, number>;
  jobs: QueuedJobInfo[];
}

const STATES = ['active', 'waiting', 'delayed', 'prioritized', 'failed', 'completed'] as const;

export async function jobsStatus(o: JobsStatusOptions): Promise<JobsStatus> {
  await checkRedis(o.redis);
  const queue = new Queue(o.queue ?? DEFAULT_QUEUE, { connection: bullConnection(o.redis) });
  try {
    const counts = await queue.getJobCounts(...STATES);
    const jobs: QueuedJobInfo[] = [];
    for (const state of STATES) {
      for (const j of await queue.getJobs([state], 0, (o.limit ?? 50) - 1)) {
        if (!j) continue;
        const p = j.progress as { fraction?: number } | number;
        jobs.push({
          id: String(j.id),
          kind: j.name,
          state,
          attemptsMade: j.attemptsMade,
          stalls: (j as unknown as { stalledCounter?: number }).stalledCounter ?? 0,
          fraction: typeof p === 'number' ? p : p?.fraction,
          failedReason: j.failedReason || undefined,
          seconds: j.finishedOn && j.processedOn ? (j.finishedOn - j.processedOn) / 1000 : undefined,
        });
      }
    }
    return { queue: queue.name, counts, jobs };
  } finally {
    await queue.close();
  }
}

export function formatJobsStatus(s: JobsStatus): string {
  const lines = [`queue "${s.queue}": ${STATES.map((k) => `${s.counts[k] ?? 0} ${k}`).join(', ')}`];
  for (const j of s.jobs) {
    const extra = [
      j.fraction !== undefined && j.state === 'active' ? `${Math.round(100 * j.fraction)}%` : '',
      j.attemptsMade ? `${j.attemptsMade} attempt(s)` : '',
      j.stalls ? `recovered after ${j.stalls} stall(s)` : '',
      j.seconds !== undefined ? formatSeconds(j.seconds) : '',
      j.failedReason ? `reason: ${j.failedReason}` : '',
    ].filter(Boolean);
    lines.push(`  ${j.state.padEnd(9)} ${j.id} ${extra.join('; ')}`);
  }
  return lines.join('\n');
}
