// Where the installed @tensorflow/tfjs-backend-wasm lives and whether it is the version kdasr's patches were written
// against. The kernel patch and the thread shim depend on 4.22.0 behaviour (its naive transposed matMul, its
// Emscripten glue and pthread worker protocol), so a different version is refused rather than half-patched.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** The tfjs-backend-wasm version the kernel patch and thread shim were written for and tested with. */
export const PATCHED_WASM_VERSION = '4.22.0';

/** Set to 1 to run the stock wasm backend (no kernel patch, one thread) with any tfjs-backend-wasm version. */
export const WASM_UNPATCHED_ENV = 'KDASR_WASM_UNPATCHED';

export interface WasmPackage {
  /** Absolute path of the package directory (…/node_modules/@tensorflow/tfjs-backend-wasm). */
  dir: string;
  version: string;
  /** Directory holding the .wasm binaries, with a trailing slash (the form setWasmPaths wants). */
  wasmDir: string;
  /** The unbundled Emscripten glue of the threaded build: what a pthread worker evaluates. */
  threadedGlue: string;
  /** CommonJS module exporting `wasmWorkerContents`, the pthread worker's script. */
  threadedWorker: string;
}

let cached: WasmPackage | undefined;

/** Locates the installed package from this file, so it works from any working directory. */
export function wasmPackage(): WasmPackage {
  if (cached) return cached;
  let pkgJson: string;
  try {
    pkgJson = require.resolve('@tensorflow/tfjs-backend-wasm/package.json');
  } catch (e) {
    throw new Error(
      `@tensorflow/tfjs-backend-wasm cannot be resolved from ${dirname(fileURLToPath(import.meta.url))} ` +
        `(${(e as Error).message}); run \`npm ci\` at the workspace root`,
    );
  }
  const dir = dirname(pkgJson);
  const version = (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version;
  cached = {
    dir,
    version,
    wasmDir: join(dir, 'dist') + '/',
    threadedGlue: join(dir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.js'),
    threadedWorker: join(dir, 'wasm-out', 'tfjs-backend-wasm-threaded-simd.worker.js'),
  };
  return cached;
}

/** True when the user opted out of the 4.22-specific patches with KDASR_WASM_UNPATCHED=1. */
export function wasmUnpatchedByEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env[WASM_UNPATCHED_ENV];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * Throws unless the installed tfjs-backend-wasm is exactly the version the patches target (or the opt-out is set).
 * Returns the package description when the patches may be applied, null when the user opted out.
 */
export function checkWasmVersion(env: NodeJS.ProcessEnv = process.env, pkg: WasmPackage = wasmPackage()): WasmPackage | null {
  if (wasmUnpatchedByEnv(env)) return null;
  if (pkg.version !== PATCHED_WASM_VERSION)
    throw new Error(
      `@tensorflow/tfjs-backend-wasm is ${pkg.version} (at ${pkg.dir}) but kdasr's wasm kernel patch and thread shim ` +
        `depend on ${PATCHED_WASM_VERSION} internals; install exactly ${PATCHED_WASM_VERSION} ` +
        `(\`npm install @tensorflow/tfjs-backend-wasm@${PATCHED_WASM_VERSION}\`, with the same tfjs-core version), ` +
        `or set ${WASM_UNPATCHED_ENV}=1 to run the stock wasm backend (one thread, transposed matMuls ~10x slower)`,
    );
  for (const f of [pkg.threadedGlue, pkg.threadedWorker])
    if (!existsSync(f))
      throw new Error(
        `${f} is missing from @tensorflow/tfjs-backend-wasm ${pkg.version}; the package is incomplete: reinstall it ` +
          `(\`rm -rf node_modules && npm ci\`) or set ${WASM_UNPATCHED_ENV}=1`,
      );
  return pkg;
}
