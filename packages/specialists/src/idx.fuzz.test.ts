// Fuzz readIdxUbyte (the specialists' own IDX reader): truncated, bit-flipped, random and adversarial files give
// the encoded array or an Error naming the file, never a RangeError from reading past the header.
// Seed-pinned; KDASR_FUZZ_RUNS / KDASR_FUZZ_SEED make a longer run (tools/fuzz-long.sh).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readIdxUbyte } from './idx.js';

const runs = (n: number) => Number(process.env.KDASR_FUZZ_RUNS ?? n);
const seed = Number(process.env.KDASR_FUZZ_SEED ?? 20261207);
const dir = mkdtempSync(join(tmpdir(), 'kdasr-idx-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const data = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 9);
const good = Buffer.concat([Buffer.from([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]), data]);
const file = join(dir, 'x.idx3');

function read(bytes: Uint8Array): 'ok' | 'error' {
  writeFileSync(file, bytes);
  try {
    const r = readIdxUbyte(file);
    expect(r.data.length).toBe(r.shape.reduce((a, b) => a * b, 1));
    expect(r.data.length).toBeLessThanOrEqual(bytes.length);
    return 'ok';
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== Error) throw e;
    expect(e.message).toContain(file);
    return 'error';
  }
}

describe('readIdxUbyte fuzz', () => {
  it('reads the encoded file', () => {
    writeFileSync(file, good);
    expect(readIdxUbyte(file)).toEqual({ shape: [2, 3, 4], data });
  });

  it('every truncation is an error, including inside the header', () => {
    fc.assert(fc.property(fc.nat({ max: good.length - 1 }), (cut) => void expect(read(good.subarray(0, cut))).toBe('error')), { seed, numRuns: runs(40) });
    expect(read(Buffer.from([0, 0, 8, 200, 0, 0]))).toBe('error'); // 200 dims declared, 2 header bytes present
  });

  it('bit flips, adversarial dims and random bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat({ max: good.length - 1 }), fc.nat({ max: 7 })), { minLength: 1, maxLength: 3 }), (fs) => {
        const b = Uint8Array.from(good);
        for (const [at, bit] of fs) b[at] ^= 1 << bit;
        if (read(b) === 'ok' && fs.some(([at]) => at < 16)) expect(readIdxUbyte(file).shape.reduce((x, y) => x * y, 1)).toBe(24);
      }),
      { seed, numRuns: runs(80) },
    );
    fc.assert(fc.property(fc.array(fc.oneof(fc.constantFrom(0, 2 ** 32 - 1, 2 ** 31), fc.nat()), { minLength: 3, maxLength: 3 }), (dims) => {
      const b = Buffer.from(good);
      dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
      void read(b);
    }), { seed, numRuns: runs(60) });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void read(b)), { seed, numRuns: runs(80) });
  });
});
