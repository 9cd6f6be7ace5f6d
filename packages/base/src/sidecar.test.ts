import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeSidecar, readSidecar } from './sidecar-io.js';
import { parseSidecar, SIDECAR_FILE } from './sidecar.js';
import { provenance, registerRuntimeReporter } from './provenance.js';

const dir = mkdtempSync(join(tmpdir(), 'kdasr-sidecar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('sidecar', () => {
  it('round-trips through the file, with the config, seed and provenance', () => {
    const s = makeSidecar('test-kind', { hidden: [8] }, 7, { loss: 0.5 });
    writeFileSync(join(dir, SIDECAR_FILE), JSON.stringify(s));
    const back = readSidecar(dir);
    expect(back.kind).toBe('test-kind');
    expect(back.config).toEqual({ hidden: [8] });
    expect(back.seed).toBe(7);
    expect(back.metrics).toEqual({ loss: 0.5 });
    expect(back.provenance.versions.node).toBe(process.versions.node);
  });

  it('names the file and the field that is wrong', () => {
    expect(() => parseSidecar('{"kind":"x","seed":1}', 'a/kdasr.json')).toThrow(/a\/kdasr\.json: not a kdasr sidecar[\s\S]*provenance/);
    expect(() => parseSidecar('{"kind":', 'b/kdasr.json')).toThrow(/b\/kdasr\.json: not valid JSON/);
    expect(() => readSidecar(join(dir, 'absent'))).toThrow(/kdasr\.json does not exist/);
  });

  it('provenance names the registered runtime, and "none" without one', () => {
    registerRuntimeReporter(() => null);
    expect(provenance().backend).toBe('none');
    registerRuntimeReporter(() => ({ backend: 'wasm', threads: 2, patchedKernels: true, versions: { '@tensorflow/tfjs-core': '4.22.0' } }));
    const p = provenance();
    expect(p).toMatchObject({ backend: 'wasm', threads: 2, patchedKernels: true });
    expect(p.versions['@tensorflow/tfjs-core']).toBe('4.22.0');
    expect(provenance({ backend: 'native' })).toMatchObject({ backend: 'native', threads: undefined, patchedKernels: undefined });
  });
});
