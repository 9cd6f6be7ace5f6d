// Provenance without tensors: the tensor runtime (in @kdasr/core) reports its backend through
// registerRuntimeReporter when it loads, so base never imports tfjs and a process that only reads
// artifacts records backend "none".
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

export interface Provenance {
  /** kdasr's version (root package.json). */
  kdasrVersion: string;
  /** `git rev-parse HEAD` of the checkout that ran, with `-dirty` when it had uncommitted changes. */
  gitCommit: string;
  /** The tensor backend that ran (`wasm`, `cpu`, `tensorflow`, `native` for the native engine, `none` without one). */
  backend: string;
  /** Worker threads the backend used, where known. */
  threads?: number;
  /** Whether kdasr's replacement wasm matMul kernels ran (see core's runtime.ts). */
  patchedKernels?: boolean;
  versions: Record<string, string>;
  createdAt: string;
  hostname: string;
}

/** What a tensor runtime says about itself; null when it has not started. */
export interface RuntimeReport {
  backend?: string;
  threads?: number;
  patchedKernels?: boolean;
  /** Package versions of the runtime (tfjs packages), recorded in Provenance.versions. */
  versions?: Record<string, string>;
}

let reporter: (() => RuntimeReport | null) | undefined;

/** Called by the tensor runtime (core) so that provenance() can name the backend; the last call wins. */
export function registerRuntimeReporter(report: () => RuntimeReport | null): void {
  reporter = report;
}

let cachedCommit: string | undefined;
function gitCommit(): string {
  if (cachedCommit !== undefined) return cachedCommit;
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    cachedCommit = dirty ? `${head}-dirty` : head;
  } catch {
    cachedCommit = 'unknown';
  }
  return cachedCommit;
}

function kdasrVersion(): string {
  try {
    // src/ and dist/ are both two levels below the workspace root's package.json.
    const url = new URL('../../../package.json', import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** Backend-name override for engines outside tfjs (the native engine reports itself). */
export function provenance(extra: { backend?: string; threads?: number } = {}): Provenance {
  const runtime = reporter?.() ?? null;
  const versions: Record<string, string> = { node: process.versions.node, ...(runtime?.versions ?? {}) };
  return {
    kdasrVersion: kdasrVersion(),
    gitCommit: gitCommit(),
    backend: extra.backend ?? runtime?.backend ?? 'none',
    threads: extra.threads ?? (extra.backend ? undefined : runtime?.threads),
    patchedKernels: extra.backend ? undefined : runtime?.patchedKernels,
    versions,
    createdAt: new Date().toISOString(),
    hostname: hostname(),
  };
}
