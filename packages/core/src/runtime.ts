// The tensor runtime: which tfjs backend runs, with how many threads, with which kernels.
//
// Apps and tests call initRuntime() once before making tensors; libraries never pick a backend (they may call
// requireRuntime() to fail early with a clear message). Selection, best first:
//   tensorflow  @tensorflow/tfjs-node-gpu, then @tensorflow/tfjs-node (optional dependencies whose install script
//               downloads libtensorflow; where that fails npm drops them and import() throws ERR_MODULE_NOT_FOUND)
//   wasm        @tensorflow/tfjs-backend-wasm 4.22 with the transposed-matMul kernel patch and pthreads
//   cpu         @tensorflow/tfjs-backend-cpu (plain JS, ~20x slower than patched wasm for training)
// A forced backend (option, KDASR_BACKEND, the CLI's --backend) that cannot start is an error, never a fallback.
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { registerRuntimeReporter } from '@kdasr/base';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// tfjs-core's Node bundle registers no gradients (its register_all_gradients is ESM-only, unloadable in Node);
// tfjs-layers' Node bundle registers all of them globally. Without this import tf.grad fails on most ops.
import '@tensorflow/tfjs-layers';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { checkWasmVersion, wasmPackage, wasmUnpatchedByEnv, WASM_UNPATCHED_ENV, type WasmPackage } from './wasm-package.js';
import { patchWasmMatMulKernels, restoreStockWasmMatMulKernels, wasmMatMulKernelsPatched } from './wasm-kernels.js';
import { installPthreadWorkerShim, padLogicalCores } from './wasm-threads.js';

const require = createRequire(import.meta.url);

export const BACKENDS = ['tensorflow', 'wasm', 'cpu'] as const;
export type Backend = (typeof BACKENDS)[number];
export type BackendRequest = Backend | 'auto';

/** Environment variables initRuntime reads when the corresponding option is absent. */
export const BACKEND_ENV = 'KDASR_BACKEND';
export const THREADS_ENV = 'KDASR_THREADS';

/** The most wasm threads: tfjs 4.22 pre-starts 8 pthread workers and caps its thread pool at 8. */
export const MAX_WASM_THREADS = 8;

/** A threaded wasm start-up that has neither finished nor failed by then is abandoned. */
const THREAD_START_TIMEOUT_MS = 30_000;

export interface RuntimeOptions {
  /** Backend to use; default KDASR_BACKEND, else 'auto' (best available). */
  backend?: BackendRequest;
  /** Worker threads for wasm; default KDASR_THREADS, else the machine's logical cores (at most 8). */
  threads?: number;
  /** Replace the wasm matMul kernels (default true unless KDASR_WASM_UNPATCHED=1). Benchmarks turn it off. */
  patchKernels?: boolean;
  /** Environment to read (tests pass their own); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export interface TensorflowPackages {
  /** @tensorflow/tfjs-node is installed (resolvable). */
  tfjsNode: boolean;
  /** @tensorflow/tfjs-node-gpu is installed (resolvable). */
  tfjsNodeGpu: boolean;
  /** Why each one is not usable, where it is not. */
  reasons: { tfjsNode?: string; tfjsNodeGpu?: string };
}

export interface RuntimeInfo {
  backend: Backend;
  /** What was asked for, and where the request came from. */
  requested: { backend: BackendRequest; threads: number | 'auto'; source: 'option' | 'env' | 'default' };
  /** Threads the backend computes with (wasm: XNNPACK thread pool size; cpu: 1; tensorflow: libtensorflow's pool). */
  threads: number;
  /** Why threads is lower than requested (e.g. the pthread workers failed to start), when it is. */
  threadsReason?: string;
  /** Whether the wasm BatchMatMul/_FusedMatMul replacements are registered. */
  patchedKernels: boolean;
  /** Why the kernels are not patched on wasm, when they are not. */
  patchReason?: string;
  /** Which package provides the tensorflow backend, when it runs. */
  tensorflowPackage?: string;
  /** Fallbacks taken in auto mode, in order (e.g. why wasm was not used). */
  notes: string[];
  versions: Record<string, string>;
  tensorflowPackages: TensorflowPackages;
}

let current: { key: string; info: RuntimeInfo } | undefined;
let queue: Promise<unknown> = Promise.resolve();
let wasmPathsSet = false;
/** Threads the live wasm backend instance was created with (it cannot change them afterwards). */
let wasmThreads: number | undefined;
let wasmFactory: { factory: () => tf.KernelBackend | Promise<tf.KernelBackend>; priority: number } | undefined;

function versionOf(pkg: string): string | undefined {
  try {
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function collectVersions(): Record<string, string> {
  const versions: Record<string, string> = { node: process.versions.node };
  for (const p of [
    '@tensorflow/tfjs-core',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-backend-cpu',
    '@tensorflow/tfjs-layers',
    '@tensorflow/tfjs-node',
    '@tensorflow/tfjs-node-gpu',
  ]) {
    const v = versionOf(p);
    if (v) versions[p] = v;
  }
  return versions;
}

const TF_PACKAGES = [
  { name: '@tensorflow/tfjs-node-gpu', key: 'tfjsNodeGpu' },
  { name: '@tensorflow/tfjs-node', key: 'tfjsNode' },
] as const;

function notInstalledReason(pkg: string): string {
  const gpu = pkg.endsWith('-gpu') ? ' (it also needs an NVIDIA GPU with CUDA and cuDNN)' : '';
  return (
    `${pkg} is not installed (its install script downloads libtensorflow, which failed or was skipped, so npm ` +
    `dropped this optional dependency); install it with \`npm install ${pkg}@4.22.0\` on a machine that can ` +
    `reach its CDN${gpu}`
  );
}

function probeTensorflowPackages(): TensorflowPackages {
  const out: TensorflowPackages = { tfjsNode: false, tfjsNodeGpu: false, reasons: {} };
  for (const { name, key } of TF_PACKAGES) {
    try {
      require.resolve(`${name}/package.json`);
      out[key] = true;
    } catch {
      out.reasons[key] = notInstalledReason(name);
    }
  }
  return out;
}

/** Tries tfjs-node-gpu then tfjs-node; returns the package that now runs the 'tensorflow' backend, or null. */
async function startTensorflow(pkgs: TensorflowPackages): Promise<string | null> {
  for (const { name, key } of TF_PACKAGES) {
    if (!pkgs[key]) continue;
    try {
      // A non-literal specifier: neither package is installable everywhere, so TypeScript must not resolve it.
      const spec: string = name;
      await import(spec);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      pkgs.reasons[key] =
        err.code === 'ERR_MODULE_NOT_FOUND'
          ? notInstalledReason(name)
          : `${name} is installed but failed to load (${err.message}); reinstall it (\`npm install ${name}@4.22.0\`)`;
      pkgs[key] = err.code !== 'ERR_MODULE_NOT_FOUND';
      continue;
    }
    if (!tf.findBackendFactory('tensorflow')) {
      pkgs.reasons[key] =
        `${name} loaded but registered no 'tensorflow' backend with this @tensorflow/tfjs-core ` +
        `(${versionOf('@tensorflow/tfjs-core')}); two tfjs-core copies are installed: align their versions at 4.22.0`;
      continue;
    }
    if (await tf.setBackend('tensorflow')) return name;
    pkgs.reasons[key] = `${name} loaded but tf.setBackend('tensorflow') failed; see the warning above`;
  }
  return null;
}

function parseBackend(value: string, source: string): BackendRequest {
  if (value === 'auto' || (BACKENDS as readonly string[]).includes(value)) return value as BackendRequest;
  throw new Error(`${source} is '${value}'; expected one of auto, ${BACKENDS.join(', ')}`);
}

function parseThreads(value: unknown, source: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_WASM_THREADS)
    throw new Error(`${source} is ${JSON.stringify(value)}; expected an integer from 1 to ${MAX_WASM_THREADS}`);
  return n;
}

interface Request {
  backend: BackendRequest;
  threads: number | 'auto';
  explicitThreads: boolean;
  patchKernels: boolean;
  source: RuntimeInfo['requested']['source'];
  backendSource: string;
  env: NodeJS.ProcessEnv;
}

function resolveRequest(options: RuntimeOptions): Request {
  const env = options.env ?? process.env;
  let backend: BackendRequest = 'auto';
  let source: Request['source'] = 'default';
  let backendSource = 'the default';
  if (options.backend !== undefined) {
    backend = parseBackend(options.backend, 'initRuntime({ backend })');
    source = 'option';
    backendSource = 'the backend option';
  } else if (env[BACKEND_ENV]) {
    backend = parseBackend(env[BACKEND_ENV]!, `${BACKEND_ENV}`);
    source = 'env';
    backendSource = BACKEND_ENV;
  }
  let threads: number | 'auto' = 'auto';
  if (options.threads !== undefined) threads = parseThreads(options.threads, 'initRuntime({ threads })');
  else if (env[THREADS_ENV]) threads = parseThreads(env[THREADS_ENV], THREADS_ENV);
  const patchKernels = options.patchKernels ?? !wasmUnpatchedByEnv(env);
  return { backend, threads, explicitThreads: threads !== 'auto', patchKernels, source, backendSource, env };
}

function autoThreads(): number {
  return Math.max(1, Math.min(availableParallelism(), MAX_WASM_THREADS));
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        // Not unref'd: while a start-up hangs, this timer may be all that keeps the event loop (and the await) alive.
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Forgets the live wasm backend so the next setBackend('wasm') creates a fresh module (new thread count). */
function resetWasmBackend(): void {
  if (!wasmFactory) {
    const entry = tf.engine().registryFactory['wasm'];
    if (!entry) throw new Error(`the wasm backend is not registered; '@tensorflow/tfjs-backend-wasm' was not loaded`);
    wasmFactory = { factory: entry.factory, priority: entry.priority };
  }
  if (tf.engine().registryFactory['wasm']) tf.removeBackend('wasm');
  tf.registerBackend('wasm', wasmFactory.factory, wasmFactory.priority);
  wasmThreads = undefined;
}

async function setBackendOrThrow(name: Backend, why: string): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok) throw new Error(`tf.setBackend('${name}') failed ${why}; tfjs printed the cause as a warning above`);
}

interface WasmStart {
  threads: number;
  threadsReason?: string;
  patched: boolean;
  patchReason?: string;
}

/** Starts (or reuses) the wasm backend with `threads` threads, the kernel patch on or off. */
async function startWasm(req: Request, threads: number, pkg: WasmPackage | null): Promise<WasmStart> {
  let patchReason: string | undefined;
  let threadsReason: string | undefined;
  if (!pkg) {
    // The user opted out (or asked for stock kernels and one thread): stock backend, no 4.22 internals touched.
    if (req.patchKernels) patchReason = `${WASM_UNPATCHED_ENV}=1 is set`;
    if (threads > 1) {
      if (req.explicitThreads)
        throw new Error(
          `${threads} wasm threads requested but ${WASM_UNPATCHED_ENV}=1 disables the thread shim; unset it or request 1 thread`,
        );
      threadsReason = `${WASM_UNPATCHED_ENV}=1 disables the thread shim`;
      threads = 1;
    }
  }
  if (!req.patchKernels) patchReason = 'stock kernels requested (patchKernels: false)';

  if (!wasmPathsSet) {
    // Absolute, from this file's resolution of the package: works from any cwd and under bundlers that move the glue.
    setWasmPaths(wasmPackage().wasmDir);
    wasmPathsSet = true;
  }
  if (wasmThreads !== undefined && wasmThreads !== threads) resetWasmBackend();

  if (wasmThreads === undefined) {
    if (threads > 1) {
      try {
        await startThreadedWasm(pkg!, threads);
      } catch (e) {
        const reason = `the wasm pthread workers did not start (${(e as Error).message})`;
        // Drop the half-started backend: its init never settles, and tfjs refuses every op while one is pending.
        resetWasmBackend();
        if (req.explicitThreads)
          throw new Error(
            `${threads} wasm threads requested but ${reason}; request --threads 1 (KDASR_THREADS=1), or report ` +
              `this with \`kdasr env --json\` output`,
          );
        threadsReason = `${reason}; running 1 thread`;
        threads = 1;
      }
    }
    if (threads === 1) {
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
      setThreadsCount(1);
      await setBackendOrThrow('wasm', 'for the single-threaded wasm backend');
      wasmThreads = 1;
    }
  } else {
    await setBackendOrThrow('wasm', '(switching back to the live wasm backend)');
  }

  if (pkg && req.patchKernels) patchWasmMatMulKernels();
  else restoreStockWasmMatMulKernels();
  return { threads: getThreadsCount(), threadsReason, patched: wasmMatMulKernelsPatched(), patchReason };
}

async function startThreadedWasm(pkg: WasmPackage, threads: number): Promise<void> {
  const shim = installPthreadWorkerShim(pkg);
  shim.resetFailures();
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);
  // The C++ side caps its pool at logical cores / 2, so report twice the wanted threads while it initialises.
  const restoreCpus = padLogicalCores(2 * threads);
  try {
    const ok = await withTimeout(Promise.race([tf.setBackend('wasm'), shim.failed()]), THREAD_START_TIMEOUT_MS, 'threaded wasm start-up');
    restoreCpus();
    if (!ok) throw new Error(`tf.setBackend('wasm') returned false; tfjs printed the cause as a warning above`);
    const got = getThreadsCount();
    if (got !== threads) throw new Error(`tfjs started ${got} threads instead of ${threads}`);
    const running = (tf.backend() as unknown as { wasm?: { PThread?: { runningWorkers: unknown[] } } }).wasm?.PThread
      ?.runningWorkers.length;
    if (running !== undefined && running < threads - 1)
      throw new Error(`only ${running} of ${threads - 1} pthread workers are running`);
    shim.markStarted();
    wasmThreads = threads;
  } catch (e) {
    restoreCpus();
    shim.terminateAll();
    throw e;
  }
}

function requestKey(req: Request): string {
  return JSON.stringify([req.backend, req.threads, req.patchKernels]);
}

async function start(req: Request): Promise<RuntimeInfo> {
  const pkgs = probeTensorflowPackages();
  const notes: string[] = [];
  const info = (backend: Backend, threads: number, extra: Partial<RuntimeInfo> = {}): RuntimeInfo => ({
    backend,
    requested: { backend: req.backend, threads: req.threads, source: req.source },
    threads,
    patchedKernels: false,
    notes,
    versions: collectVersions(),
    tensorflowPackages: pkgs,
    ...extra,
  });
  const wanted = req.threads === 'auto' ? autoThreads() : req.threads;

  if (req.backend === 'tensorflow' || req.backend === 'auto') {
    const used = await startTensorflow(pkgs);
    if (used) {
      if (req.explicitThreads) notes.push(`threads=${req.threads} ignored: libtensorflow sizes its own thread pool`);
      return info('tensorflow', availableParallelism(), { tensorflowPackage: used });
    }
    if (req.backend === 'tensorflow') {
      const why = pkgs.tfjsNode ? pkgs.reasons.tfjsNode : notInstalledReason('@tensorflow/tfjs-node');
      throw new Error(
        `backend 'tensorflow' requested (by ${req.backendSource}) but ${why}, or use --backend wasm ` +
          `(${BACKEND_ENV}=wasm)` +
          (pkgs.reasons.tfjsNodeGpu && pkgs.tfjsNodeGpu ? `; ${pkgs.reasons.tfjsNodeGpu}` : ''),
      );
    }
    notes.push(`tensorflow backend unavailable: ${pkgs.reasons.tfjsNode ?? 'tfjs-node did not start'}`);
  }

  if (req.backend === 'wasm' || req.backend === 'auto') {
    // A wrong tfjs-backend-wasm version is an error even in auto mode: silently dropping to cpu would cost ~20x.
    const pkg = req.patchKernels || wanted > 1 ? checkWasmVersion(req.env) : null;
    try {
      const w = await startWasm(req, wanted, pkg);
      return info('wasm', w.threads, {
        threadsReason: w.threadsReason,
        patchedKernels: w.patched,
        patchReason: w.patchReason,
      });
    } catch (e) {
      if (req.backend === 'wasm') throw e;
      notes.push(`wasm backend unavailable: ${(e as Error).message}`);
    }
  }

  if (req.explicitThreads && wanted > 1)
    throw new Error(
      `${wanted} threads requested but the cpu backend is single-threaded; use --backend wasm or request 1 thread`,
    );
  await setBackendOrThrow('cpu', 'for the cpu backend');
  // The cpu backend prints a "install tfjs-node" banner on first use; here it was chosen on purpose.
  (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  return info('cpu', 1, { patchReason: 'the kernel patch applies to the wasm backend only' });
}

/**
 * Chooses and starts the tensor backend (see the file comment for the order). Idempotent: the same request again
 * returns the current state without work; a different one switches. Concurrent calls run one after another.
 */
export function initRuntime(options: RuntimeOptions = {}): Promise<RuntimeInfo> {
  let req: Request;
  try {
    req = resolveRequest(options);
  } catch (e) {
    return Promise.reject(e);
  }
  const key = requestKey(req);
  const run = async (): Promise<RuntimeInfo> => {
    if (current && current.key === key && tf.getBackend() === current.info.backend) return snapshot(current.info);
    const info = await start(req);
    current = { key, info };
    return snapshot(info);
  };
  const p = queue.then(run, run);
  queue = p.catch(() => undefined);
  return p;
}

function snapshot(info: RuntimeInfo): RuntimeInfo {
  return structuredClone(info);
}

/** The current runtime, or null before initRuntime() has succeeded. */
export function runtimeInfo(): RuntimeInfo | null {
  return current ? snapshot(current.info) : null;
}

/** For libraries: the current runtime, or a clear error naming the caller when no app/test has started one. */
export function requireRuntime(caller: string): RuntimeInfo {
  const info = runtimeInfo();
  if (!info)
    throw new Error(
      `${caller} needs a tensor backend but none was started: the app or test must \`await initRuntime()\` ` +
        `(from @kdasr/core) before making tensors`,
    );
  return info;
}

// provenance() lives in @kdasr/base, which cannot import tfjs; this module tells it what runs. Registered when
// core loads, so every artifact written by a process that has tfjs names the backend (or tf's default backend
// where a test set one without initRuntime).
registerRuntimeReporter(() => {
  const versions: Record<string, string> = {};
  for (const p of ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-wasm']) {
    const v = versionOf(p);
    if (v) versions[p] = v;
  }
  const info = runtimeInfo();
  if (info) return { backend: info.backend, threads: info.threads, patchedKernels: info.patchedKernels, versions };
  let backend: string;
  try {
    backend = tf.getBackend() ?? 'none';
  } catch {
    backend = 'none';
  }
  return { backend, versions };
});
