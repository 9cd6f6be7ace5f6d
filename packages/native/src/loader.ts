import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Opaque handle to a network's native scratch (activations, gradient buffers). */
export type NativeHandle = { readonly __nativeHandle: unique symbol };

export interface NativeInfo {
  blasThreads: number;
  elementwiseThreads: number;
  maxThreads: number;
  openblasConfig: string;
  openblasCore: string;
  /** Bytes of scratch the addon holds now (leak tests). */
  allocatedBytes: number;
  allocations: number;
  /**
   * Cumulative time of training steps per phase, ms (wall, and CPU of the calling thread): forward gemm,
   * forward elementwise, loss, backward dA gemm, dW gemm, ReLU backward, update (fused momentum SGD).
   */
  phaseWallMs: number[];
  phaseCpuMs: number[];
}

/** The raw addon (csrc/*.c; N-API entry points in csrc/napi.c). Array sizes are checked in C as well. */
export interface NativeAddon {
  create(dims: Int32Array): NativeHandle;
  release(handle: NativeHandle): void;
  forward(handle: NativeHandle, params: Float32Array[], x: Float32Array, rows: number, out: Float32Array): void;
  step(
    handle: NativeHandle,
    params: Float32Array[],
    x: Float32Array,
    rows: number,
    labels: Int32Array | null,
    target: Float32Array | null,
    cfg: Float64Array,
    state: Float32Array[] | null,
    grads: Float32Array[] | null,
    out: Float64Array,
  ): void;
  dropoutMask(seed: number, step: number, layer: number, rows: number, cols: number, rate: number): Uint8Array;
  sgemm(
    transA: boolean, transB: boolean, m: number, n: number, k: number, alpha: number,
    a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number,
  ): void;
  setThreads(blas: number, elementwise: number): void;
  /** Soft targets at T of rows [rowOffset, rowOffset + rows) of each member's logits: mean of softmaxes, or softmax of the mean. */
  softmaxMean(members: readonly Float32Array[], rowOffset: number, rows: number, classes: number, temperature: number, geometric: boolean, out: Float32Array): void;
  info(): NativeInfo;
}

export type AddonLoadResult = { available: true; addon: NativeAddon; path: string } | { available: false; reason: string };

/** Where `npm run build:native` puts the addon: build/ next to src/ and dist/. */
export const defaultAddonPath = fileURLToPath(new URL('../build/Release/kdasr_native.node', import.meta.url));
const statusPath = fileURLToPath(new URL('../build/native-status.json', import.meta.url));

/** The build is -march=x86-64-v3: refuse to load (instead of dying on SIGILL) where the CPU lacks those features. */
export function cpuSupportsNativeBuild(cpuinfo?: string): { ok: boolean; missing: string[] } {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return { ok: false, missing: ['/proc/cpuinfo unreadable'] };
    }
  }
  const flagsLine = text.split('\n').find((l) => l.startsWith('flags'));
  const flags = new Set((flagsLine ?? '').split(':')[1]?.trim().split(/\s+/) ?? []);
  const missing = ['avx', 'avx2', 'fma', 'bmi1', 'bmi2', 'f16c', 'movbe'].filter((f) => !flags.has(f));
  return { ok: missing.length === 0, missing };
}

function buildStatusReason(): string {
  if (!existsSync(statusPath)) return 'the addon was never built (run `npm run build:native -w @kdasr/native`)';
  try {
    const s = JSON.parse(readFileSync(statusPath, 'utf8')) as { ok?: boolean; reason?: string | null; date?: string };
    if (s.ok) return 'the build reported success but build/Release/kdasr_native.node is missing';
    return `the build failed on ${s.date ?? 'an unknown date'}: ${s.reason ?? 'no reason recorded'} (see build/native-status.json; retry with \`npm run build:native -w @kdasr/native\`)`;
  } catch (e) {
    return `build/native-status.json is unreadable: ${(e as Error).message}`;
  }
}

const cache = new Map<string, AddonLoadResult>();

/** Loads the addon once per path; never throws. */
export function loadAddon(path = defaultAddonPath): AddonLoadResult {
  const hit = cache.get(path);
  if (hit) return hit;
  const result = tryLoad(path);
  cache.set(path, result);
  return result;
}

function tryLoad(path: string): AddonLoadResult {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return { available: false, reason: `the native engine is built for linux/x64 only (this is ${process.platform}/${process.arch})` };
  const cpu = cpuSupportsNativeBuild();
  if (!cpu.ok) return { available: false, reason: `the CPU lacks x86-64-v3 features the build needs: ${cpu.missing.join(', ')}` };
  if (!existsSync(path)) return { available: false, reason: path === defaultAddonPath ? buildStatusReason() : `no addon at ${path}` };
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    for (const fn of ['create', 'forward', 'step', 'info'] as const)
      if (typeof addon[fn] !== 'function') return { available: false, reason: `${path} is not the kdasr addon (no ${fn}())` };
    return { available: true, addon, path };
  } catch (e) {
    return { available: false, reason: `loading ${path} failed: ${(e as Error).message.split('\n')[0]}` };
  }
}
