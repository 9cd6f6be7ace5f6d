/**
 * `--runner local|bullmq|slurm` and its companions, shared by the commands whose stages fan out jobs. The runner's
 * workers see the artifact root (--artifacts, default the current directory); the output directory must be in it.
 */
import { resolve } from 'node:path';
import { JOB_KINDS_MODULE, type StageJobs } from '@kdasr/experiments';
import { createRunner, RUNNER_NAMES, type RunnerName } from '@kdasr/jobs';
import { CliError } from './args.js';

export const RUNNER_OPTIONS = {
  runner: { type: 'string' },
  jobs: { type: 'string' },
  redis: { type: 'string' },
  queue: { type: 'string' },
  'slurm-args': { type: 'string' },
  artifacts: { type: 'string' },
} as const;

export const RUNNER_HELP = `fan-out (the ensemble stage's members run as jobs; results are the same on every runner):
  --runner R        in-process by default; local (child processes on this machine), bullmq (workers on
                    Redis: start \`kdasr worker --redis URL --artifacts DIR\` on machines that see DIR), or
                    slurm (sbatch array jobs)
  --jobs N          local: child processes at once (default 1)
  --redis URL       bullmq: redis://[:password@]host:port[/db], rediss:// for TLS
  --queue NAME      bullmq: queue name (default kdasr; workers must use the same)
  --slurm-args "…"  slurm: passed to sbatch (e.g. "--partition=cpu --cpus-per-task=1 --time=2:00:00")
  --artifacts DIR   artifact root every worker sees at the same relative paths (default: the current
                    directory); the output directory must be inside it`;

type RunnerValues = { runner?: string; jobs?: string; redis?: string; queue?: string; 'slurm-args'?: string; artifacts?: string };

/** The StageJobs for these flags, or undefined (in-process) when --runner is absent. */
export async function stageJobsFromFlags(command: string, v: RunnerValues, help: string): Promise<StageJobs | undefined> {
  if (v.runner === undefined) {
    const stray = (['jobs', 'redis', 'queue', 'slurm-args'] as const).find((k) => v[k] !== undefined);
    if (stray) throw new CliError(`${command}: --${stray} needs --runner\n\n${help}`);
    return undefined;
  }
  if (!(RUNNER_NAMES as readonly string[]).includes(v.runner)) throw new CliError(`${command}: --runner must be one of local, bullmq, slurm, got "${v.runner}"\n\n${help}`);
  const jobs = v.jobs === undefined ? undefined : Number(v.jobs);
  if (jobs !== undefined && !(Number.isInteger(jobs) && jobs > 0)) throw new CliError(`${command}: --jobs must be a positive integer, got "${v.jobs}"\n\n${help}`);
  if (v.runner === 'bullmq' && !v.redis) throw new CliError(`${command}: --runner bullmq needs --redis redis://host:port (the Redis your workers use)\n\n${help}`);
  const root = resolve(v.artifacts ?? '.');
  const runner = await createRunner({
    runner: v.runner as RunnerName,
    artifacts: root,
    kindsModule: JOB_KINDS_MODULE,
    jobs,
    redis: v.redis,
    queue: v.queue,
    slurmArgs: v['slurm-args']?.split(/\s+/).filter(Boolean),
  });
  return { runner, root };
}
