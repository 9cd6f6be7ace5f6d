// Fuzz the NPY reader (a features file numpy or another tool may have written): truncated, bit-flipped and
// random files, adversarial headers (other dtypes, Fortran order, 1-D/3-D and huge shapes, oversized header
// lengths, unknown versions) and NaN/Inf values. Every outcome is the matrix that was written or an Error naming
// the file, never a RangeError, a huge allocation or wrong numbers. Seed-pinned; KDASR_FUZZ_RUNS /
// KDASR_FUZZ_SEED make a longer run (npm run fuzz -w @kdasr/base).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { npyHeader, readNpy, writeNpy } from './npy.js';

const runs = (n: number) => Number(process.env.KDASR_FUZZ_RUNS ?? n);
const seed = Number(process.env.KDASR_FUZZ_SEED ?? 20261207);
const root = mkdtempSync(join(tmpdir(), 'kdasr-npy-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const m = { data: Float32Array.from({ length: 15 }, (_, i) => Math.cos(i) * 3), numFrames: 5, numCols: 3 };
writeNpy(join(root, 'good.npy'), m);
const good = readFileSync(join(root, 'good.npy'));

let n = 0;
function check(bytes: Uint8Array): 'ok' | 'error' {
  const f = join(root, `case-${n++}.npy`);
  writeFileSync(f, bytes);
  const t0 = performance.now();
  try {
    const r = readNpy(f);
    expect(r.data.length).toBe(r.numFrames * r.numCols);
    expect(r.data.length * 4).toBeLessThanOrEqual(bytes.length);
    expect(r.data.every(Number.isFinite)).toBe(true);
    return 'ok';
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== Error) throw e;
    expect(e.message.startsWith(`${f}: `), e.message).toBe(true);
    return 'error';
  } finally {
    expect(performance.now() - t0).toBeLessThan(2000);
  }
}

/** An NPY file with this header dict text (padded as numpy pads it) and these data bytes. */
function withHeader(dict: string, data: Uint8Array, version = 1): Uint8Array {
  const pre = version === 1 ? 10 : 12;
  const text = dict + ' '.repeat(Math.max(0, 63 - ((pre + dict.length) % 64))) + '\n';
  const out = new Uint8Array(pre + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const v = new DataView(out.buffer);
  if (version === 1) v.setUint16(8, text.length, true);
  else v.setUint32(8, text.length, true);
  for (let i = 0; i < text.length; i++) out[pre + i] = text.charCodeAt(i);
  out.set(data, pre + text.length);
  return out;
}

describe('NPY reader fuzz', () => {
  it('reads what writeNpy wrote, and the same array in format versions 2 and 3', () => {
    const r = readNpy(join(root, 'good.npy'));
    expect(Array.from(r.data)).toEqual(Array.from(m.data));
    const body = good.subarray(npyHeader([5, 3]).length);
    for (const v of [2, 3]) expect(check(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (5, 3), }", body, v))).toBe('ok');
  });

  it('truncation, bit flips and random bytes', () => {
    fc.assert(fc.property(fc.nat({ max: good.length - 1 }), (cut) => {
      expect(check(good.subarray(0, cut))).toBe('error');
    }), { seed, numRuns: runs(40) });
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.nat({ max: good.length - 1 }), bit: fc.nat({ max: 7 }) }), { minLength: 1, maxLength: 4 }), (fs) => {
        const b = Uint8Array.from(good);
        for (const f of fs) b[f.at] ^= 1 << f.bit;
        void check(b);
      }),
      { seed, numRuns: runs(80) },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (b) => void check(b)), { seed, numRuns: runs(40) });
  });

  it('adversarial headers and values', () => {
    const descr = fc.constantFrom("'<f4'", "'>f4'", "'<f8'", "'|u1'", "'<i4'", '');
    const order = fc.constantFrom('False', 'True', '');
    const shape = fc.oneof(
      fc.constantFrom('(5, 3)', '(15,)', '(5, 3, 1)', '()', '(0, 3)', '(3, 5)', '(99999999999, 99999999999)', '(4294967296, 1)', '(1e3, 3)', '(-5, 3)'),
      fc.tuple(fc.nat({ max: 20 }), fc.nat({ max: 20 })).map(([a, b]) => `(${a}, ${b})`),
    );
    const values = fc.array(fc.oneof(fc.float(), fc.constantFrom(NaN, Infinity, -Infinity)), { maxLength: 20 });
    fc.assert(
      fc.property(descr, order, shape, values, fc.constantFrom(1, 2, 3, 0, 4, 255), (d, o, s, vs, version) => {
        void check(withHeader(`{'descr': ${d}, 'fortran_order': ${o}, 'shape': ${s}, }`, new Uint8Array(Float32Array.from(vs).buffer), version));
      }),
      { seed, numRuns: runs(200) },
    );
    // A header length past the end of the file, a NaN, a shape bigger than the data.
    const long = Uint8Array.from(good);
    new DataView(long.buffer).setUint16(8, 60_000, true);
    expect(() => readNpy(writeCase(long))).toThrow(/the header declares 60000 bytes/);
    expect(() => readNpy(writeCase(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", new Uint8Array(Float32Array.from([1, NaN]).buffer))))).toThrow(/row 0, column 1 is NaN/);
    expect(() => readNpy(writeCase(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999), }", new Uint8Array(8))))).toThrow(/needs .* data bytes, the file has 8/);
  });
});

function writeCase(b: Uint8Array): string {
  const f = join(root, `case-${n++}.npy`);
  writeFileSync(f, b);
  return f;
}
