import type * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import { defaultAddonPath, loadAddon, type NativeAddon, type NativeInfo } from './loader.js';
import { NativeMlp, type NativeMlpConfig } from './mlp.js';
import { buildSequential, readSequential } from './layers.js';

/** The native compute engine: creates models, sets threads, exposes raw sgemm (benchmarks, tests). */
export class NativeEngine {
  constructor(
    readonly addon: NativeAddon,
    /** Path of the loaded addon. */
    readonly path: string,
  ) {}

  info(): NativeInfo {
    return this.addon.info();
  }

  /**
   * Threads for sgemm (OpenBLAS pool) and for the fused elementwise passes (OpenMP). Both default to the
   * number of cores (OpenBLAS honours OPENBLAS_NUM_THREADS at load).
   */
  setThreads(threads: { blas?: number; elementwise?: number }): void {
    for (const [k, v] of Object.entries(threads))
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new Error(`NativeEngine.setThreads: ${k} must be a positive integer, got ${v}`);
    this.addon.setThreads(threads.blas ?? 0, threads.elementwise ?? 0);
  }

  createMlp(config: NativeMlpConfig, init?: { weights: Float32Array[]; biases: Float32Array[] }): NativeMlp {
    return new NativeMlp(this.addon, config, init);
  }

  /** A NativeMlp with the weights of a tfjs-layers Sequential (e.g. MlpClassifier.toLayersModel()). */
  fromLayersModel(model: tfl.LayersModel, options: { seed?: number } = {}): NativeMlp {
    const { config, weights, biases } = readSequential(model);
    return new NativeMlp(this.addon, { ...config, seed: options.seed ?? 0 }, { weights, biases });
  }

  /** C = alpha·op(A)·op(B) + beta·C, row-major (OpenBLAS cblas_sgemm). */
  sgemm(
    a: Float32Array, b: Float32Array, c: Float32Array,
    m: number, n: number, k: number,
    options: { transA?: boolean; transB?: boolean; alpha?: number; beta?: number } = {},
  ): void {
    const ta = options.transA ?? false;
    const tb = options.transB ?? false;
    this.addon.sgemm(ta, tb, m, n, k, options.alpha ?? 1, a, ta ? m : k, b, tb ? k : n, options.beta ?? 0, c, n);
  }

  /** The dropout keep-mask (1 = kept) the engine uses for (seed, step, layer); layer 0 is the input. */
  dropoutMask(seed: number, step: number, layer: number, rows: number, cols: number, rate: number): Uint8Array {
    return this.addon.dropoutMask(seed >>> 0, step >>> 0, layer, rows, cols, rate);
  }
}

/** A trained NativeMlp as a tfjs-layers Sequential (MlpClassifier's layer sequence); needs a tfjs backend. */
export function toLayersModel(mlp: NativeMlp): tfl.Sequential {
  return buildSequential(mlp.config, mlp.weights, mlp.biases);
}

export type NativeEngineLoad = { available: true; engine: NativeEngine } | { available: false; reason: string };

const engines = new Map<string, NativeEngine>();

/** Loads the native engine; never throws. `reason` says why it is unavailable (build status, CPU, platform). */
export function loadNativeEngine(options: { addonPath?: string } = {}): NativeEngineLoad {
  const path = options.addonPath ?? defaultAddonPath;
  const cached = engines.get(path);
  if (cached) return { available: true, engine: cached };
  const r = loadAddon(path);
  if (!r.available) return r;
  const engine = new NativeEngine(r.addon, r.path);
  engines.set(path, engine);
  return { available: true, engine };
}

export const engineKindSchema = z.enum(['native', 'tfjs', 'auto']);
export type EngineKind = z.infer<typeof engineKindSchema>;

export type ResolvedEngine = { kind: 'native'; engine: NativeEngine } | { kind: 'tfjs'; reason: string };

/**
 * Picks the training engine for `--engine native|tfjs|auto`. 'native' that cannot load is an error naming the
 * reason (never a silent fallback); 'auto' takes native when it loads, else tfjs with the reason recorded.
 */
export function resolveEngine(requested: string = 'auto', options: { addonPath?: string } = {}): ResolvedEngine {
  const parsed = engineKindSchema.safeParse(requested);
  if (!parsed.success) throw new Error(`--engine must be native, tfjs or auto, got ${JSON.stringify(requested)}`);
  if (parsed.data === 'tfjs') return { kind: 'tfjs', reason: 'requested' };
  const load = loadNativeEngine(options);
  if (load.available) return { kind: 'native', engine: load.engine };
  if (parsed.data === 'native')
    throw new Error(
      `--engine native was requested but the native engine is unavailable: ${load.reason}. ` +
        'It needs g++/make/python3 and libopenblas-dev (apt-get install libopenblas-dev), then `npm run build:native -w @kdasr/native`; or use --engine tfjs.',
    );
  return { kind: 'tfjs', reason: `native engine unavailable: ${load.reason}` };
}
