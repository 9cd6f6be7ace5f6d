import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { initRuntime, MAX_WASM_THREADS, requireRuntime, runtimeInfo } from './runtime.js';

const expectedThreads = Math.min(availableParallelism(), MAX_WASM_THREADS);

/** A 2x3 · 3x2 product any backend must get right. */
function checkMatMul(): void {
  const r = tf.tidy(() => tf.matMul(tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]), tf.tensor2d([1, 0, 0, 1, 1, 1], [3, 2])));
  expect(Array.from(r.dataSync())).toEqual([4, 5, 10, 11]);
  r.dispose();
}

// Runs a module script in a fresh node (with tsx, so it can import this package's .ts files); returns its result.
const requireHere = createRequire(import.meta.url);
const tsx = requireHere.resolve('tsx');
const tfCoreUrl = pathToFileURL(requireHere.resolve('@tensorflow/tfjs-core')).href;
const runtimeUrl = new URL('./runtime.ts', import.meta.url).href;
const threadsUrl = new URL('./wasm-threads.ts', import.meta.url).href;
const packageUrl = new URL('./wasm-package.ts', import.meta.url).href;
function runScript(code: string, env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, ['--conditions=@kdasr/source', '--import', tsx, '--input-type=module', '-e', code], {
    cwd: fileURLToPath(new URL('/', import.meta.url)), // any cwd: the root
    env: { ...process.env, KDASR_BACKEND: '', KDASR_THREADS: '', ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('initRuntime', () => {
  it('before any init, runtimeInfo() is null and requireRuntime names the caller and the fix', () => {
    expect(runtimeInfo()).toBeNull();
    expect(() => requireRuntime('trainClassifier')).toThrow(/trainClassifier needs a tensor backend.*await initRuntime\(\)/);
  });

  it('a forced tensorflow backend that is not installed is an error saying why and how to fix, never a fallback', async () => {
    await expect(initRuntime({ backend: 'tensorflow' })).rejects.toThrow(
      /backend 'tensorflow' requested \(by the backend option\) but @tensorflow\/tfjs-node is not installed \(its install script downloads libtensorflow.*npm install @tensorflow\/tfjs-node@4\.22\.0.*--backend wasm/s,
    );
    await expect(initRuntime({ env: { KDASR_BACKEND: 'tensorflow' } })).rejects.toThrow(/by KDASR_BACKEND/);
    expect(runtimeInfo()).toBeNull();
  });

  it('rejects unknown backends and bad thread counts, naming the value', async () => {
    await expect(initRuntime({ backend: 'gpu' as never })).rejects.toThrow(/'gpu'; expected one of auto, tensorflow, wasm, cpu/);
    await expect(initRuntime({ env: { KDASR_BACKEND: 'webgl' } })).rejects.toThrow(/KDASR_BACKEND is 'webgl'/);
    await expect(initRuntime({ threads: 0 })).rejects.toThrow(/threads.*0.*integer from 1 to 8/);
    await expect(initRuntime({ env: { KDASR_THREADS: 'two' } })).rejects.toThrow(/KDASR_THREADS is "two"/);
    await expect(initRuntime({ threads: 9 })).rejects.toThrow(/9/);
  });

  it('auto picks patched wasm with all cores here, and reports why tensorflow is absent', async () => {
    const info = await initRuntime({ env: {} });
    expect(info.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(info.threads).toBe(expectedThreads);
    expect(getThreadsCount()).toBe(expectedThreads);
    expect(info.threadsReason).toBeUndefined();
    expect(info.patchedKernels).toBe(true);
    expect(info.requested).toEqual({ backend: 'auto', threads: 'auto', source: 'default' });
    expect(info.versions['@tensorflow/tfjs-backend-wasm']).toBe('4.22.0');
    expect(info.versions['@tensorflow/tfjs-core']).toBe('4.22.0');
    // This machine class cannot install libtensorflow; where it can, these two lines are what changes.
    expect(info.tensorflowPackages.tfjsNode).toBe(false);
    expect(info.tensorflowPackages.reasons.tfjsNode).toMatch(/not installed/);
    expect(info.tensorflowPackages.reasons.tfjsNodeGpu).toMatch(/tfjs-node-gpu is not installed/);
    expect(info.notes.join('\n')).toMatch(/tensorflow backend unavailable/);
    expect(runtimeInfo()).toEqual(info);
    checkMatMul();
  });

  it('is idempotent: the same request again is cheap and concurrent calls agree', async () => {
    const first = await initRuntime({ env: {} });
    const t0 = performance.now();
    const [a, b] = await Promise.all([initRuntime({ env: {} }), initRuntime({ env: {} })]);
    expect(performance.now() - t0).toBeLessThan(50);
    expect(a).toEqual(first);
    expect(b).toEqual(first);
    // Callers cannot corrupt the stored state through the returned object.
    a.notes.push('mutated');
    expect(runtimeInfo()!.notes).not.toContain('mutated');
  });

  it('switches backends and thread counts on request', async () => {
    const cpu = await initRuntime({ backend: 'cpu' });
    expect(cpu.backend).toBe('cpu');
    expect(cpu.threads).toBe(1);
    expect(cpu.patchedKernels).toBe(false);
    expect(tf.getBackend()).toBe('cpu');
    checkMatMul();
    await expect(initRuntime({ backend: 'cpu', threads: 2 })).rejects.toThrow(/cpu backend is single-threaded/);

    const one = await initRuntime({ backend: 'wasm', threads: 1 });
    expect(one).toMatchObject({ backend: 'wasm', threads: 1, patchedKernels: true });
    expect(getThreadsCount()).toBe(1);
    checkMatMul();

    const stock = await initRuntime({ backend: 'wasm', threads: 1, patchKernels: false });
    expect(stock.patchedKernels).toBe(false);
    expect(stock.patchReason).toMatch(/stock kernels requested/);

    const again = await initRuntime({ backend: 'wasm', env: {} });
    expect(again).toMatchObject({ backend: 'wasm', threads: expectedThreads, patchedKernels: true });
    expect(getThreadsCount()).toBe(expectedThreads);
    checkMatMul();
  });

  it('a script that starts 2 wasm threads exits by itself (no worker keeps node alive)', () => {
    if (availableParallelism() < 2) return; // nothing to start on a 1-core machine
    const t0 = Date.now();
    const r = runScript(`
      const { initRuntime } = await import(${JSON.stringify(runtimeUrl)});
      const tf = await import(${JSON.stringify(tfCoreUrl)});
      const info = await initRuntime();
      const x = tf.randomNormal([300, 400]);
      tf.matMul(x, x, false, true).dataSync();
      console.log(JSON.stringify({ backend: info.backend, threads: info.threads }));
    `);
    expect(r.error, String(r.error)).toBeUndefined(); // a spawnSync timeout shows up here
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ backend: 'wasm', threads: 2 });
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('when the pthread workers cannot start: auto threads fall back to 1 with the reason, explicit threads fail', () => {
    // Point the workers at a missing glue file: every worker fails to load, as it would if the bundle changed.
    const r = runScript(`
      const { initRuntime } = await import(${JSON.stringify(runtimeUrl)});
      const { installPthreadWorkerShim } = await import(${JSON.stringify(threadsUrl)});
      const { wasmPackage } = await import(${JSON.stringify(packageUrl)});
      const os = await import('node:os');
      const cpusBefore = os.cpus().length;
      installPthreadWorkerShim({ ...wasmPackage(), threadedGlue: '/nonexistent/glue.js' });
      let explicit;
      try { await initRuntime({ backend: 'wasm', threads: 2 }); explicit = 'started'; }
      catch (e) { explicit = e.message; }
      const info = await initRuntime({ backend: 'wasm' });
      const tf = await import(${JSON.stringify(tfCoreUrl)});
      const y = tf.matMul(tf.ones([2, 3]), tf.ones([3, 2])).dataSync();
      console.log(JSON.stringify({ explicit, threads: info.threads, reason: info.threadsReason, y: Array.from(y), cpusRestored: os.cpus().length === cpusBefore }));
    `);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(out.explicit).toMatch(/2 wasm threads requested but the wasm pthread workers did not start.*nonexistent/s);
    expect(out.threads).toBe(1);
    expect(out.reason).toMatch(/pthread workers did not start.*nonexistent.*running 1 thread/s);
    expect(out.y).toEqual([3, 3, 3, 3]);
    expect(out.cpusRestored).toBe(true); // the hung start-up must not leave os.cpus() padded
  });
});
