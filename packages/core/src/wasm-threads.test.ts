import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { wasmPackage } from './wasm-package.js';
import { padLogicalCores } from './wasm-threads.js';

/** The wasm import names (asmLibraryArg keys) and export names (Module["asm"][…]) a glue script uses. */
function wasmInterface(js: string): { imports: string[]; exports: string[] } {
  const table = js.match(/asmLibraryArg\s*=\s*\{([^}]*)\}/);
  expect(table, 'asmLibraryArg table').not.toBeNull();
  const imports = [...table![1].matchAll(/"([^"]+)"\s*:/g)].map((m) => m[1]).sort();
  const exports = [...new Set([...js.matchAll(/Module\["asm"\]\["([^"]+)"\]/g)].map((m) => m[1]))].sort();
  return { imports, exports };
}

describe('wasm thread shim', () => {
  it('padLogicalCores pads os.cpus() until restored, and leaves a big enough machine alone', () => {
    const real = os.cpus().length;
    const restore = padLogicalCores(real + 3);
    expect(os.cpus().length).toBe(real + 3);
    restore();
    expect(os.cpus().length).toBe(real);
    const noop = padLogicalCores(1);
    expect(os.cpus().length).toBe(real);
    noop();
    expect(os.cpus().length).toBe(real);
  });

  it("the unbundled threaded glue the workers load is the same Emscripten build as tfjs's bundled one", () => {
    // Workers run wasm-out/…threaded-simd.js against the module compiled from the bundle's glue; the two must
    // agree on the wasm import and export tables or instantiation in the worker fails.
    const pkg = wasmPackage();
    const bundle = readFileSync(join(pkg.dir, 'dist', 'tf-backend-wasm.node.js'), 'utf8');
    const start = bundle.indexOf('var WasmBackendModuleThreadedSimd = (function');
    const end = bundle.indexOf('var wasmWorkerContents', start);
    expect(start).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start);
    const bundled = wasmInterface(bundle.slice(start, end));
    const unbundled = wasmInterface(readFileSync(pkg.threadedGlue, 'utf8'));
    expect(bundled.imports.length).toBeGreaterThan(10);
    expect(bundled.exports.length).toBeGreaterThan(10);
    expect(unbundled).toEqual(bundled);
  });
});
