import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { RuntimeInfo } from '@kdasr/core';
import { formatRuntimeInfo, type NativeEngineStatus } from './env.js';

const bin = fileURLToPath(new URL('../../bin/kdasr.mjs', import.meta.url));

/** Runs the real CLI (bin → tsx → main.ts) from a foreign cwd; resolves with its exit code and output. */
function kdasr(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: '/', env: { ...process.env, KDASR_BACKEND: '', KDASR_THREADS: '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

describe('kdasr env', () => {
  it('--json reports patched wasm with one thread per core (up to 8), and why tensorflow is absent', async () => {
    const r = await kdasr(['env', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as RuntimeInfo;
    expect(info.backend).toBe('wasm');
    expect(info.threads).toBe(Math.min(availableParallelism(), 8));
    expect(info.patchedKernels).toBe(true);
    expect(info.versions['@tensorflow/tfjs-backend-wasm']).toBe('4.22.0');
    expect(info.tensorflowPackages.tfjsNode).toBe(false);
    expect(info.tensorflowPackages.reasons.tfjsNode).toMatch(/not installed.*npm install @tensorflow\/tfjs-node@4\.22\.0/);
    const native = (info as unknown as { nativeEngine: NativeEngineStatus }).nativeEngine;
    // CI builds the native engine and sets KDASR_REQUIRE_NATIVE; elsewhere it may be absent, but then it says why.
    if (process.env.KDASR_REQUIRE_NATIVE === '1') expect(native.available, native.reason).toBe(true);
    if (native.available) expect(native.blasThreads).toBeGreaterThanOrEqual(1);
    else expect(native.reason).toMatch(/\w/);
  });

  it('the table says the native engine is unavailable and why', () => {
    const info = {
      backend: 'wasm',
      requested: { backend: 'auto', threads: 'auto', source: 'default' },
      threads: 2,
      patchedKernels: true,
      notes: [],
      versions: {},
      tensorflowPackages: { tfjsNode: false, tfjsNodeGpu: false, reasons: {} },
    } as unknown as RuntimeInfo;
    const text = formatRuntimeInfo(info, { available: false, reason: 'libopenblas-dev is not installed' });
    expect(text).toMatch(/native engine\s+unavailable: libopenblas-dev is not installed/);
  });

  it('KDASR_BACKEND=tensorflow exits non-zero saying the package is missing and how to get it', async () => {
    const r = await kdasr(['env'], { KDASR_BACKEND: 'tensorflow' });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/backend 'tensorflow' requested \(by KDASR_BACKEND\) but @tensorflow\/tfjs-node is not installed/);
    expect(r.stderr).toMatch(/npm install @tensorflow\/tfjs-node@4\.22\.0.*--backend wasm/);
  });

  it('--backend with an unknown name is a usage error (exit 2) naming the value', async () => {
    const r = await kdasr(['env', '--backend', 'gpu']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--backend is "gpu"; expected one of auto, tensorflow, wasm, cpu/);
  });

  it('the table shows backend, threads with the reason, kernels, package status and reasons', () => {
    const info: RuntimeInfo = {
      backend: 'wasm',
      requested: { backend: 'wasm', threads: 'auto', source: 'option' },
      threads: 1,
      threadsReason: 'the wasm pthread workers did not start (boom); running 1 thread',
      patchedKernels: true,
      notes: ['tensorflow backend unavailable: x'],
      versions: { node: '20.0.0', '@tensorflow/tfjs-core': '4.22.0' },
      tensorflowPackages: { tfjsNode: false, tfjsNodeGpu: true, reasons: { tfjsNode: 'tfjs-node is not installed', tfjsNodeGpu: 'gpu failed to load' } },
    };
    const text = formatRuntimeInfo(info);
    expect(text).toMatch(/^backend\s+wasm$/m);
    expect(text).toMatch(/^threads\s+1 \(the wasm pthread workers did not start \(boom\); running 1 thread\)$/m);
    expect(text).toMatch(/^patched kernels\s+yes/m);
    expect(text).toMatch(/^tfjs-node\s+not installed/m);
    expect(text).toMatch(/^tfjs-node-gpu\s+installed, not usable/m);
    expect(text).toMatch(/^\s+- gpu failed to load$/m);
    expect(text).toMatch(/^@tensorflow\/tfjs-core\s+4\.22\.0$/m);
    expect(text).not.toMatch(/tensorflow backend unavailable/);
  });
});
