export { defineJobKind, jobHash, jobId, stableJson, parsePayload, JobKindRegistry, JobPayloadError, type JobContext, type JobKind, type JobSpec } from './kind.js';
export { resolveInRoot, relativeToRoot, JobPathError } from './paths.js';
export { executeJob, isJobComplete, loadRegistry, completedSidecar, scratchDirOf, JOB_SIDECAR, type JobOutcome, type JobSidecar, type ExecuteHooks } from './execute.js';
export { JobsFailedError, ProgressTracker, formatSeconds, type Runner, type RunHooks, type FanOutProgress, type JobFailure } from './runner.js';
export { InlineRunner } from './inline.js';
export { LocalRunner, JOB_LOGS_DIR, type LocalRunnerOptions } from './local.js';
export {
  BullRunner,
  startWorker,
  jobsStatus,
  formatJobsStatus,
  DEFAULT_QUEUE,
  WORKER_DEFAULTS,
  SUBMIT_DEFAULTS,
  type BullRunnerOptions,
  type WorkerOptions,
  type WorkerHandle,
  type JobsStatus,
  type QueuedJobInfo,
} from './bullmq.js';
export { redisOptions, checkRedis, maskRedisUrl, RedisUnreachableError } from './redis.js';
export { SlurmRunner, SLURM_DIR, type SlurmRunnerOptions } from './slurm.js';
export { tsNodeArgs } from './node-args.js';
export { createRunner, RUNNER_NAMES, type RunnerName, type RunnerChoice } from './create.js';
export { startRedis, startSlurm, redisUnavailable, slurmUnavailable, freePort, spawnWatched, type RedisServer, type SlurmCluster, type WatchedProcess } from './services.js';
