import { JOB_KINDS_MODULE } from '@kdasr/experiments';
import { WORKER_DEFAULTS, startWorker } from '@kdasr/jobs';
import { CliError, parseCommandArgs } from '../args.js';
import type { Command } from './registry.js';

const HELP = `usage: kdasr worker --redis URL --artifacts DIR [--concurrency N] [--queue NAME]
                    [--lock-duration-ms MS] [--stalled-interval-ms MS] [--max-stalled N]

Runs kdasr jobs from a BullMQ queue on Redis until interrupted (SIGINT/SIGTERM finish the jobs in hand).
Start one on every machine that mounts the artifact root; submit with --runner bullmq --redis URL. Each job
runs in a sandboxed child process, so training never blocks the lock renewal. Only kdasr's own job kinds run.

  --redis URL              redis://[[user]:password@]host[:port][/db] (rediss:// for TLS)
  --artifacts DIR          the artifact root as this machine mounts it (the submitter's --artifacts)
  --concurrency N          jobs at once (default 1; each is a process: set OPENBLAS_NUM_THREADS to share cores)
  --queue NAME             queue (default kdasr)
  --lock-duration-ms MS    a dead worker's job is free again after this (default ${WORKER_DEFAULTS.lockDurationMs})
  --stalled-interval-ms MS how often this worker looks for such jobs (default ${WORKER_DEFAULTS.stalledIntervalMs})
  --max-stalled N          recoveries before a job that keeps killing workers fails (default ${WORKER_DEFAULTS.maxStalledCount})`;

function posInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new CliError(`worker: --${name} must be a positive integer, got "${v}"\n\n${HELP}`);
  return n;
}

export const command: Command = {
  name: 'worker',
  summary: 'run kdasr jobs from a BullMQ queue on Redis (--redis URL --artifacts DIR)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'worker',
      argv,
      { redis: { type: 'string' }, artifacts: { type: 'string' }, concurrency: { type: 'string' }, queue: { type: 'string' }, 'lock-duration-ms': { type: 'string' }, 'stalled-interval-ms': { type: 'string' }, 'max-stalled': { type: 'string' } },
      HELP,
    );
    if (values.help) return (console.log(HELP), 0);
    if (positionals.length) throw new CliError(`worker: unexpected argument "${positionals[0]}"\n\n${HELP}`);
    if (!values.redis) throw new CliError(`worker: --redis URL is required\n\n${HELP}`);
    if (!values.artifacts) throw new CliError(`worker: --artifacts DIR is required (the shared artifact root)\n\n${HELP}`);
    const w = await startWorker({
      redis: values.redis,
      artifacts: values.artifacts,
      kindsModule: JOB_KINDS_MODULE,
      queue: values.queue,
      concurrency: posInt('concurrency', values.concurrency),
      lockDurationMs: posInt('lock-duration-ms', values['lock-duration-ms']),
      stalledIntervalMs: posInt('stalled-interval-ms', values['stalled-interval-ms']),
      maxStalledCount: posInt('max-stalled', values['max-stalled']),
    });
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    console.error('worker: finishing the jobs in hand, then exiting');
    await w.close();
    return 0;
  },
};
