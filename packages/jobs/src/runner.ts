/**
 * One interface to every place a job can run (Kaldi's `$cmd JOB=1:N`): a stage hands a runner its jobs and waits;
 * whether they ran in this process, in child processes, on BullMQ workers or as a Slurm array is the runner's
 * business. Results come back in submission order.
 */
import type { JobSpec } from './kind.js';
import type { JobOutcome } from './execute.js';

export interface FanOutProgress {
  done: number;
  total: number;
  /** Seconds to go, from the elapsed time and the done + partial work; undefined until something moved. */
  etaSeconds?: number;
  /** `job 3/8 (…) ETA 2m10s`. */
  line: string;
}

export interface RunHooks {
  onProgress?: (p: FanOutProgress) => void;
  log?: (line: string) => void;
}

export interface Runner {
  readonly name: 'inline' | 'local' | 'bullmq' | 'slurm';
  /** Runs every job (skipping complete ones) and resolves with their outcomes, or rejects with JobsFailedError. */
  run(jobs: JobSpec[], hooks?: RunHooks): Promise<JobOutcome[]>;
  close(): Promise<void>;
}

export interface JobFailure {
  id: string;
  kind: string;
  reason: string;
  /** Where that job's log is (relative to the artifact root or a worker's), when there is one. */
  log?: string;
}

export class JobsFailedError extends Error {
  override name = 'JobsFailedError';
  constructor(
    readonly runner: string,
    readonly failures: JobFailure[],
    readonly total: number,
  ) {
    super(`${failures.length}/${total} job(s) failed on the ${runner} runner:\n${failures.map((f) => `  ${f.id}: ${f.reason}${f.log ? ` (log: ${f.log})` : ''}`).join('\n')}`);
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const r = Math.round(s);
  if (r < 60) return `${r}s`;
  if (r < 3600) return `${Math.floor(r / 60)}m${String(r % 60).padStart(2, '0')}s`;
  return `${Math.floor(r / 3600)}h${String(Math.floor((r % 3600) / 60)).padStart(2, '0')}m`;
}

/** Job N/M + ETA from per-job fractions (done jobs count 1). */
export class ProgressTracker {
  private readonly fraction = new Map<string, number>();
  private readonly t0 = Date.now();
  private lastLine = '';
  constructor(
    private readonly ids: string[],
    private readonly hooks: RunHooks = {},
  ) {}
  set(id: string, f: number, message?: string): void {
    const before = this.fraction.get(id) ?? 0;
    this.fraction.set(id, Math.max(before, f));
    this.emit(message ? `${id}: ${message}` : undefined);
  }
  finish(id: string): void {
    this.fraction.set(id, 1);
    this.emit();
  }
  get done(): number {
    return this.ids.filter((id) => this.fraction.get(id) === 1).length;
  }
  private emit(detail?: string): void {
    const total = this.ids.length;
    const work = this.ids.reduce((s, id) => s + (this.fraction.get(id) ?? 0), 0);
    const elapsed = (Date.now() - this.t0) / 1000;
    const etaSeconds = work > 0 && work < total ? (elapsed / work) * (total - work) : work >= total ? 0 : undefined;
    const running = this.ids.filter((id) => {
      const f = this.fraction.get(id) ?? 0;
      return f > 0 && f < 1;
    }).length;
    const line = `job ${this.done}/${total} done${running ? `, ${running} running` : ''}${etaSeconds !== undefined ? `, ETA ${formatSeconds(etaSeconds)}` : ''}${detail ? ` (${detail})` : ''}`;
    if (line === this.lastLine) return;
    this.lastLine = line;
    this.hooks.onProgress?.({ done: this.done, total, etaSeconds, line });
  }
}
