/**
 * Runs one job idempotently. The output is built in a temp directory and renamed into place with a job.json
 * sidecar holding the job's config hash, so a reader sees the whole output or none, and a job whose output already
 * carries the same hash is skipped: delivering a job twice (BullMQ after a stalled worker, a resubmitted Slurm
 * task, a rerun submitter) is safe.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { provenance, writeJsonAtomic } from '@kdasr/core';
import { JobKindRegistry, jobHash, jobId, parsePayload, type JobContext, type JobSpec } from './kind.js';
import { JobPathError, resolveInRoot } from './paths.js';

export const JOB_SIDECAR = 'job.json';

export interface JobSidecar {
  format: 'kdasr-job';
  id: string;
  kind: string;
  hash: string;
  payload: unknown;
  summary: unknown;
  seconds: number;
  finishedAt: string;
  provenance: ReturnType<typeof provenance>;
}

/** What a job came to: 'ran' here, or 'skipped' because its output was already complete for the same hash. */
export interface JobOutcome {
  id: string;
  kind: string;
  status: 'ran' | 'skipped';
  /** Output directory, relative to the artifact root. */
  output: string;
  summary: unknown;
  seconds: number;
}

export interface ExecuteHooks {
  progress?: (fraction: number, message?: string) => void;
  log?: (line: string) => void;
}

/** The sidecar of a complete output, when it records this hash. */
export function completedSidecar(outAbs: string, hash: string): JobSidecar | undefined {
  const f = join(outAbs, JOB_SIDECAR);
  if (!existsSync(f)) return undefined;
  try {
    const s = JSON.parse(readFileSync(f, 'utf8')) as JobSidecar;
    return s.format === 'kdasr-job' && s.hash === hash ? s : undefined;
  } catch {
    return undefined;
  }
}

const TMP_MARK = '.job-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Temp directories of this output left by dead processes on this host (a killed worker): removed. */
function removeDeadTemps(outAbs: string): void {
  const parent = dirname(outAbs);
  if (!existsSync(parent)) return;
  const prefix = `.${basename(outAbs)}${TMP_MARK}`;
  const host = hostname();
  for (const e of readdirSync(parent)) {
    if (!e.startsWith(prefix)) continue;
    const m = /^(.*)-(\d+)-[0-9a-f]+$/.exec(e.slice(prefix.length));
    // Another host's temps are left alone: that host may still be writing (its own run cleans up).
    if (m && m[1] === host && !alive(Number(m[2]))) rmSync(join(parent, e), { recursive: true, force: true });
  }
}

export function scratchDirOf(outAbs: string): string {
  return join(dirname(outAbs), `.${basename(outAbs)}.scratch`);
}

/** Validates, checks paths, skips a complete output, else runs the kind into a temp dir and renames it in. */
export async function executeJob(registry: JobKindRegistry, root: string, spec: JobSpec, hooks: ExecuteHooks = {}): Promise<JobOutcome> {
  const t0 = Date.now();
  const id = jobId(spec);
  const hash = jobHash(spec);
  const kind = registry.get(spec.kind);
  const payload = parsePayload(kind, spec);
  const wrapPath = (f: () => string) => {
    try {
      return f();
    } catch (e) {
      if (e instanceof JobPathError) e.message = `job ${id} (${kind.name}): ${e.message}`;
      throw e;
    }
  };
  const outRel = kind.output(payload);
  const outAbs = wrapPath(() => resolveInRoot(root, outRel, 'output'));
  const inputs = kind.inputs(payload).map((rel, i) => ({ rel, abs: wrapPath(() => resolveInRoot(root, rel, `input ${i}`)) }));
  const done = completedSidecar(outAbs, hash);
  if (done) return { id, kind: kind.name, status: 'skipped', output: outRel, summary: done.summary, seconds: (Date.now() - t0) / 1000 };
  for (const inp of inputs)
    if (!existsSync(inp.abs)) throw new Error(`job ${id} (${kind.name}): input "${inp.rel}" does not exist under the artifact root ${root}; run the stage that makes it first, or point the worker's --artifacts at the shared root`);
  removeDeadTemps(outAbs);
  mkdirSync(dirname(outAbs), { recursive: true });
  const tmp = join(dirname(outAbs), `.${basename(outAbs)}${TMP_MARK}${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`);
  const scratch = scratchDirOf(outAbs);
  mkdirSync(tmp, { recursive: true });
  mkdirSync(scratch, { recursive: true });
  const ctx: JobContext = {
    root,
    path: (rel) => wrapPath(() => resolveInRoot(root, rel)),
    outDir: tmp,
    scratchDir: scratch,
    progress: (f, m) => hooks.progress?.(Math.max(0, Math.min(1, f)), m),
    log: (l) => hooks.log?.(l),
  };
  let summary: unknown;
  try {
    summary = await kind.run(payload, ctx);
    const sidecar: JobSidecar = { format: 'kdasr-job', id, kind: kind.name, hash, payload: spec.payload, summary: summary ?? null, seconds: (Date.now() - t0) / 1000, finishedAt: new Date().toISOString(), provenance: provenance() };
    writeJsonAtomic(join(tmp, JOB_SIDECAR), sidecar);
    if (existsSync(outAbs)) {
      // A duplicate delivery may have finished first: same hash, same content (jobs are deterministic); keep it.
      const other = completedSidecar(outAbs, hash);
      if (other) {
        rmSync(tmp, { recursive: true, force: true });
        return { id, kind: kind.name, status: 'skipped', output: outRel, summary: other.summary, seconds: (Date.now() - t0) / 1000 };
      }
      // An output from another config (or an older version without a sidecar) is replaced.
      const old = `${tmp}.old`;
      renameSync(outAbs, old);
      renameSync(tmp, outAbs);
      rmSync(old, { recursive: true, force: true });
    } else {
      try {
        renameSync(tmp, outAbs);
      } catch (e) {
        // Lost a rename race against a duplicate delivery of the same job.
        if (!completedSidecar(outAbs, hash)) throw e;
        rmSync(tmp, { recursive: true, force: true });
        return { id, kind: kind.name, status: 'skipped', output: outRel, summary, seconds: (Date.now() - t0) / 1000 };
      }
    }
    rmSync(scratch, { recursive: true, force: true });
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { id, kind: kind.name, status: 'ran', output: outRel, summary: summary ?? null, seconds: (Date.now() - t0) / 1000 };
}

/** Whether a job's output is already complete for its hash (runners check before they spend a process on it). */
export function isJobComplete(registry: JobKindRegistry, root: string, spec: JobSpec): JobOutcome | undefined {
  try {
    const kind = registry.get(spec.kind);
    const outRel = kind.output(parsePayload(kind, spec));
    const done = completedSidecar(resolveInRoot(root, outRel, 'output'), jobHash(spec));
    return done ? { id: jobId(spec), kind: kind.name, status: 'skipped', output: outRel, summary: done.summary, seconds: 0 } : undefined;
  } catch {
    // Malformed jobs are reported by the run itself, with the runner's log.
    return undefined;
  }
}

/**
 * Loads a registry from a module that exports `jobKinds` (an array of kinds). The module is chosen by the
 * submitting program or the worker's command line, never by a job's data.
 */
export async function loadRegistry(kindsModule: string): Promise<JobKindRegistry> {
  const url = kindsModule.startsWith('file:') ? kindsModule : (await import('node:url')).pathToFileURL(kindsModule).href;
  const m = (await import(url)) as { jobKinds?: unknown };
  if (!Array.isArray(m.jobKinds)) throw new Error(`job kinds module ${kindsModule} exports no jobKinds array`);
  return new JobKindRegistry(m.jobKinds);
}
