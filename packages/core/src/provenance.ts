import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { runtimeInfo } from './runtime.js';

const require = createRequire(import.meta.url);

export interface Provenance {
  /** kdasr's version (root package.json). */
  kdasrVersion: string;
  /** `git rev-parse HEAD` of the checkout that ran, with `-dirty` when it had uncommitted changes. */
  gitCommit: string;
  /** The tensor backend that ran (`wasm`, `cpu`, `tensorflow`, or `native` for the native engine). */
  backend: string;
  /** Worker threads the backend used, where known. */
  threads?: number;
  /** Whether kdasr's replacement wasm matMul kernels ran (see runtime.ts). */
  patchedKernels?: boolean;
  versions: Record<string, string>;
  createdAt: string;
  hostname: string;
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

function versionOf(pkg: string): string | undefined {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function kdasrVersion(): string {
  try {
    const url = new URL('../../../package.json', import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** Backend-name override for engines outside tfjs (the native engine reports itself). */
export function provenance(extra: { backend?: string; threads?: number } = {}): Provenance {
  const versions: Record<string, string> = { node: process.versions.node };
  for (const p of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-wasm']) {
    const v = versionOf(p);
    if (v) versions[p] = v;
  }
  const runtime = runtimeInfo();
  let backend = extra.backend ?? runtime?.backend;
  const threads = extra.threads ?? (extra.backend ? undefined : runtime?.threads);
  if (!backend) {
    try {
      backend = tf.getBackend() ?? 'none';
    } catch {
      backend = 'none';
    }
  }
  return {
    kdasrVersion: kdasrVersion(),
    gitCommit: gitCommit(),
    backend,
    threads,
    patchedKernels: extra.backend ? undefined : runtime?.patchedKernels,
    versions,
    createdAt: new Date().toISOString(),
    hostname: hostname(),
  };
}
