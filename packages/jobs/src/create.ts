/** `--runner local|bullmq|slurm` (+ inline for in-process use) to a Runner. */
import { resolve } from 'node:path';
import { BullRunner } from './bullmq.js';
import { InlineRunner } from './inline.js';
import { loadRegistry } from './execute.js';
import { LocalRunner } from './local.js';
import type { Runner } from './runner.js';
import { SlurmRunner } from './slurm.js';

export const RUNNER_NAMES = ['local', 'bullmq', 'slurm', 'inline'] as const;
export type RunnerName = (typeof RUNNER_NAMES)[number];

export interface RunnerChoice {
  runner: RunnerName;
  /** Artifact root (absolute or relative to cwd). */
  artifacts: string;
  kindsModule: string;
  /** local: child processes at once. */
  jobs?: number;
  redis?: string;
  queue?: string;
  slurmArgs?: string[];
  env?: Record<string, string>;
}

export async function createRunner(c: RunnerChoice): Promise<Runner> {
  const root = resolve(c.artifacts);
  switch (c.runner) {
    case 'inline':
      return new InlineRunner({ root, registry: await loadRegistry(c.kindsModule) });
    case 'local':
      return new LocalRunner({ root, kindsModule: c.kindsModule, concurrency: c.jobs ?? 1, env: c.env });
    case 'bullmq':
      if (!c.redis) throw new Error('--runner bullmq needs --redis redis://host:port (the Redis your workers use)');
      return new BullRunner({ redis: c.redis, queue: c.queue });
    case 'slurm':
      return new SlurmRunner({ root, kindsModule: c.kindsModule, slurmArgs: c.slurmArgs, env: c.env });
    default:
      throw new Error(`--runner must be one of local, bullmq, slurm (or inline), got "${c.runner as string}"`);
  }
}
