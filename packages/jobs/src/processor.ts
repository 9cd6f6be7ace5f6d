/**
 * The BullMQ sandboxed processor: BullMQ forks a child (with tsx in its execArgv, see startWorker) that imports
 * this file and calls its default export per job. The artifact root and the kinds module come from the worker's
 * command line through the environment, never from the job.
 */
import type { Job } from 'bullmq';
import { loadRegistry } from './execute.js';
import { processQueuedJob, type QueuedJobData } from './bullmq.js';
import type { JobKindRegistry } from './kind.js';

let registry: Promise<JobKindRegistry> | undefined;

export default async function process_(job: Job<QueuedJobData>) {
  const root = process.env.KDASR_ARTIFACTS;
  const kinds = process.env.KDASR_JOB_KINDS;
  if (!root || !kinds) throw new Error('kdasr job processor: KDASR_ARTIFACTS and KDASR_JOB_KINDS must be set (start workers with kdasr worker)');
  registry ??= loadRegistry(kinds);
  return processQueuedJob(await registry, root, job);
}
