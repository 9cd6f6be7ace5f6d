// Makes the threaded (pthreads) build of tfjs-backend-wasm 4.22 start in Node.
//
// tfjs turns WASM_HAS_MULTITHREAD_SUPPORT off in Node. Forced on, three things break, and this module fixes each
// without editing node_modules:
//  1. Emscripten creates each pthread worker with `new Worker(<blob: URL>)`; Node's Worker cannot load blob: URLs.
//     We own the global `Worker` the glue uses (it assigns worker_threads.Worker to it during init; the accessor
//     keeps ours) and start the stock worker script from a string (eval mode) instead.
//  2. The worker is told to load the main script from a Blob holding the *bundled* glue, whose CommonJS requires
//     the bundler renamed (require$$0…) and which therefore cannot run in a worker. We rewrite that 'load' message
//     to point at the package's unbundled glue (wasm-out/tfjs-backend-wasm-threaded-simd.js), the same Emscripten
//     build (identical wasm import/export tables, checked by a test).
//  3. The C++ side caps threads at os.cpus().length / 2 (it assumes hyper-threading), so a 2-core machine gets 1.
//     We make os.cpus() report enough entries while the module initialises.
// Emscripten ref()s a worker while a pthread runs on it; pthreadpool threads run forever, so that would keep Node
// alive after main() returns. Our workers never hold a ref: Node exits and terminates them.
import { Worker as NodeWorker, type TransferListItem } from 'node:worker_threads';
import { createRequire } from 'node:module';
import os from 'node:os';
import type { WasmPackage } from './wasm-package.js';

const require = createRequire(import.meta.url);

export interface PthreadShim {
  /** Live pthread workers started through the shim. */
  readonly workers: ReadonlySet<NodeWorker>;
  /** Worker errors seen since the last resetFailures(), as messages. */
  readonly failures: readonly string[];
  /** Rejects with the first worker error after the last resetFailures(). */
  failed(): Promise<never>;
  resetFailures(): void;
  /** Terminates every worker the shim started (after a failed threaded init); does not wait for them. */
  terminateAll(): void;
  /** After a successful init, later worker errors are also printed (they would otherwise go unseen). */
  markStarted(): void;
}

let shim: PthreadShim | undefined;

/** Reads the stock pthread worker script and checks it still speaks the protocol the shim rewrites. */
function workerScript(pkg: WasmPackage): string {
  const contents = (require(pkg.threadedWorker) as { wasmWorkerContents?: unknown }).wasmWorkerContents;
  if (typeof contents !== 'string')
    throw new Error(`${pkg.threadedWorker} does not export wasmWorkerContents; not the 4.22 pthread worker`);
  for (const marker of ['importScripts', 'e.data.urlOrBlob', 'WasmBackendModuleThreadedSimd(Module)'])
    if (!contents.includes(marker))
      throw new Error(`${pkg.threadedWorker} lacks "${marker}"; the pthread worker protocol changed (not tfjs 4.22?)`);
  // The script embeds "\n" inside string literals as real newlines (it was a template literal); tfjs escapes them
  // the same way before making its Blob.
  return contents.replace(/\n/g, '\\n');
}

/**
 * Installs the global Worker the threaded glue will use. Idempotent; the shim stays installed (a later threaded
 * init, or a pthread the pool adds later, needs it too).
 */
export function installPthreadWorkerShim(pkg: WasmPackage): PthreadShim {
  if (shim) return shim;
  const script = workerScript(pkg);
  const workers = new Set<NodeWorker>();
  let failures: string[] = [];
  let rejectFailed: ((e: Error) => void) | undefined;
  let failedPromise: Promise<never> | undefined;
  let initDone = false;

  const fail = (msg: string) => {
    failures.push(msg);
    if (initDone) console.error(`kdasr: a wasm pthread worker failed after start-up: ${msg}`);
    rejectFailed?.(new Error(msg));
  };

  class PthreadWorker extends NodeWorker {
    // The URL (a blob: URL tfjs made from the same script) is ignored: the script is passed as a string.
    // execArgv [] keeps the parent's --import tsx / --conditions out of these plain-JS workers.
    constructor(_url: unknown, _options?: unknown) {
      super(script, { eval: true, execArgv: [] });
      workers.add(this);
      super.on('exit', () => workers.delete(this));
    }

    override postMessage(value: unknown, transferList?: readonly TransferListItem[]): void {
      const msg = value as { cmd?: string; urlOrBlob?: unknown } | null;
      if (msg && msg.cmd === 'load' && typeof msg.urlOrBlob !== 'string')
        value = { ...msg, urlOrBlob: pkg.threadedGlue };
      super.postMessage(value, transferList);
    }

    override ref(): void {
      super.unref();
    }

    // Emscripten's 'error' handler rethrows, which would crash the process from an event callback; record the
    // error instead so initRuntime can fall back to one thread (or fail with the reason).
    override emit(event: string | symbol, ...args: unknown[]): boolean {
      if (event === 'error') {
        const e = args[0] as Error | undefined;
        fail(e?.message ?? String(e));
        return true;
      }
      return super.emit(event, ...args);
    }
  }

  Object.defineProperty(globalThis, 'Worker', {
    configurable: true,
    enumerable: false,
    get: () => PthreadWorker,
    set: () => {
      // The glue assigns worker_threads.Worker here during init; keep the shim.
    },
  });

  shim = {
    workers,
    get failures() {
      return failures;
    },
    failed() {
      if (!failedPromise) {
        failedPromise = new Promise<never>((_, reject) => {
          rejectFailed = reject;
          if (failures.length) reject(new Error(failures[0]));
        });
        failedPromise.catch(() => {}); // observed by the caller's race; never an unhandled rejection
      }
      return failedPromise;
    },
    resetFailures() {
      failures = [];
      failedPromise = undefined;
      rejectFailed = undefined;
      initDone = false;
    },
    terminateAll() {
      // Not awaited: terminate()'s promise can stay pending forever for a worker that is already exiting after
      // an error (observed on Node 20), and nothing else would keep the event loop alive.
      for (const w of workers) void w.terminate().catch(() => undefined);
      workers.clear();
    },
    markStarted() {
      initDone = true;
    },
  };
  return shim;
}

/**
 * Makes os.cpus() report at least `n` entries (padding with copies of the first) until the returned function is
 * called. Only pads: on a machine with ≥ n logical cores nothing changes. A restore function rather than a
 * callback: a start-up that hangs must not leave os.cpus() patched.
 */
export function padLogicalCores(n: number): () => void {
  const real = os.cpus;
  if (real.call(os).length >= n) return () => {};
  os.cpus = function cpus() {
    const list = real.call(os);
    const pad = list[0] ?? { model: 'unknown', speed: 0, times: { user: 0, nice: 0, sys: 0, idle: 0, irq: 0 } };
    while (list.length < n) list.push(pad);
    return list;
  };
  return () => {
    os.cpus = real;
  };
}
