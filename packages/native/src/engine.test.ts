import { describe, expect, it } from 'vitest';
import { cpuSupportsNativeBuild, loadNativeEngine, resolveEngine } from './index.js';
import { nativeForTests } from '../test-support.js';

const missing = '/nonexistent/kdasr_native.node';

describe('engine selection and the fallback', () => {
  it('an absent addon is reported, never thrown', () => {
    const r = loadNativeEngine({ addonPath: missing });
    expect(r.available).toBe(false);
    if (!r.available) expect(r.reason).toMatch(/no addon at \/nonexistent/);
  });

  it("resolveEngine('native') fails with the reason; 'auto' falls back to tfjs; 'tfjs' is honoured", () => {
    expect(() => resolveEngine('native', { addonPath: missing })).toThrow(/--engine native was requested but the native engine is unavailable: no addon at/);
    const auto = resolveEngine('auto', { addonPath: missing });
    expect(auto.kind).toBe('tfjs');
    if (auto.kind === 'tfjs') expect(auto.reason).toMatch(/unavailable: no addon/);
    expect(resolveEngine('tfjs').kind).toBe('tfjs');
    expect(() => resolveEngine('gpu')).toThrow(/must be native, tfjs or auto/);
  });

  it("resolveEngine('native') gives the engine where it is built", () => {
    const n = nativeForTests();
    if (n.skipReason) return;
    expect(n.failure).toBeNull();
    const r = resolveEngine('native');
    expect(r.kind).toBe('native');
    if (r.kind === 'native') expect(r.engine.info().openblasConfig).toMatch(/OpenBLAS/);
  });

  it('CPU feature check reads /proc/cpuinfo flags', () => {
    expect(cpuSupportsNativeBuild('flags\t: fpu sse2 avx avx2 fma bmi1 bmi2 f16c movbe\n').ok).toBe(true);
    const old = cpuSupportsNativeBuild('flags\t: fpu sse2 avx\n');
    expect(old.ok).toBe(false);
    expect(old.missing).toContain('avx2');
  });
});
