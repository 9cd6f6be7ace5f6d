/**
 * Jobs as data: a job is a registered kind, a payload that kind's zod schema validates, and paths (inputs, one
 * output directory) relative to a shared artifact root. Nothing in a job names code: a worker runs only the kinds
 * compiled into its registry, so a queue entry can never make it run something else.
 */
import { createHash } from 'node:crypto';
import type { z } from 'zod';

/** What a job kind's run() gets besides its payload. */
export interface JobContext {
  /** The artifact root as this machine sees it (absolute). */
  root: string;
  /** A payload path resolved under the root; throws JobPathError if it leaves it. */
  path(rel: string): string;
  /** Write the output here: a temp directory renamed to the output once run() returns. */
  outDir: string;
  /**
   * Stable scratch space beside the output (e.g. per-epoch checkpoints), kept across retries and deliveries so a
   * recovered job resumes, and removed once the output is in place.
   */
  scratchDir: string;
  /** Fraction done (0..1) and an optional line, shown by the submitter as job N/M + ETA. */
  progress(fraction: number, message?: string): void;
  log(line: string): void;
}

export interface JobKind<S extends z.ZodType = z.ZodType> {
  /** Registry key (kebab-case), e.g. `ensemble-member`. */
  name: string;
  description: string;
  payload: S;
  /** Paths (relative to the artifact root) the job reads; each must exist when it starts. */
  inputs(payload: z.output<S>): string[];
  /** The one directory (relative to the artifact root) the job produces. */
  output(payload: z.output<S>): string;
  /** Fills ctx.outDir; returns a JSON summary kept in the output's job.json. */
  run(payload: z.output<S>, ctx: JobContext): Promise<unknown>;
}

/** Typed identity: infers the payload type from the schema. */
export function defineJobKind<S extends z.ZodType>(kind: JobKind<S>): JobKind<S> {
  return kind;
}

/** A job as submitted: plain JSON (it travels through Redis, Slurm task files and IPC). */
export interface JobSpec {
  kind: string;
  payload: unknown;
}

export class JobKindRegistry {
  private readonly kinds = new Map<string, JobKind>();
  constructor(kinds: Iterable<JobKind>) {
    for (const k of kinds) {
      if (this.kinds.has(k.name)) throw new Error(`job kind "${k.name}" is registered twice`);
      this.kinds.set(k.name, k);
    }
  }
  get(name: string): JobKind {
    const k = this.kinds.get(name);
    if (!k) throw new JobPayloadError(`unknown job kind "${name}"; this worker knows ${[...this.kinds.keys()].join(', ') || 'no kinds'} (run a worker built from the same kdasr version as the submitter)`);
    return k;
  }
  names(): string[] {
    return [...this.kinds.keys()];
  }
}

/** A payload that fails its kind's schema, or an unknown kind: a bug in the submitter, never retried usefully. */
export class JobPayloadError extends Error {
  override name = 'JobPayloadError';
}

export function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v as object)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** The config hash of a job: kind + payload (key order and undefined fields do not matter). */
export function jobHash(spec: JobSpec): string {
  return createHash('sha256').update(stableJson({ kind: spec.kind, payload: spec.payload })).digest('hex').slice(0, 20);
}

/** A job's id everywhere (BullMQ jobId, log names): the same job submitted twice is the same id. */
export function jobId(spec: JobSpec): string {
  return `${spec.kind}-${jobHash(spec)}`;
}

/** Validates a payload against its kind, naming the field and the fix. */
export function parsePayload(kind: JobKind, spec: JobSpec): unknown {
  const r = kind.payload.safeParse(spec.payload);
  if (!r.success)
    throw new JobPayloadError(
      `job ${jobId(spec)}: malformed ${kind.name} payload: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}; fix the code or config that submitted it (the kind's schema is its payload in the ${kind.name} job kind)`,
    );
  return r.data;
}
