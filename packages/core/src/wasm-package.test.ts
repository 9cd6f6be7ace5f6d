import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { checkWasmVersion, PATCHED_WASM_VERSION, WASM_UNPATCHED_ENV, wasmPackage, wasmUnpatchedByEnv } from './wasm-package.js';

describe('wasmPackage / checkWasmVersion', () => {
  it('finds the installed package by absolute path, independent of cwd', () => {
    const pkg = wasmPackage();
    expect(isAbsolute(pkg.dir)).toBe(true);
    expect(pkg.wasmDir.endsWith('/')).toBe(true);
    expect(existsSync(pkg.wasmDir + 'tfjs-backend-wasm-threaded-simd.wasm')).toBe(true);
    expect(existsSync(pkg.threadedGlue)).toBe(true);
    expect(existsSync(pkg.threadedWorker)).toBe(true);
  });

  it('accepts the pinned version', () => {
    expect(wasmPackage().version).toBe(PATCHED_WASM_VERSION);
    expect(checkWasmVersion({})).toEqual(wasmPackage());
  });

  it('refuses another version with the found version, the wanted one, and both fixes in the message', () => {
    const other = { ...wasmPackage(), version: '4.21.0' };
    expect(() => checkWasmVersion({}, other)).toThrow(/4\.21\.0.*4\.22\.0.*npm install @tensorflow\/tfjs-backend-wasm@4\.22\.0.*KDASR_WASM_UNPATCHED=1/s);
  });

  it('refuses an incomplete package (threaded glue missing)', () => {
    const broken = { ...wasmPackage(), threadedGlue: '/nonexistent/tfjs-backend-wasm-threaded-simd.js' };
    expect(() => checkWasmVersion({}, broken)).toThrow(/nonexistent.*missing/);
  });

  it('lets the opt-out variable skip the check (returns null: run unpatched)', () => {
    const other = { ...wasmPackage(), version: '5.0.0' };
    expect(checkWasmVersion({ [WASM_UNPATCHED_ENV]: '1' }, other)).toBeNull();
    expect(wasmUnpatchedByEnv({ [WASM_UNPATCHED_ENV]: '0' })).toBe(false);
    expect(wasmUnpatchedByEnv({ [WASM_UNPATCHED_ENV]: 'false' })).toBe(false);
    expect(wasmUnpatchedByEnv({})).toBe(false);
  });
});
