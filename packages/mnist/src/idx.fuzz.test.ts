// Fuzz the IDX reader (MNIST files, raw or .gz, are outside bytes): truncation, bit flips, random bytes,
// adversarial headers (huge or zero dims, wrong types) and gzip bombs. Every outcome is the exact images and
// labels that were encoded or an Error naming the file, never a RangeError, a hang or an unbounded allocation.
// Seed-pinned; KDASR_FUZZ_RUNS / KDASR_FUZZ_SEED make a longer run (tools/fuzz-long.sh).
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeIdx, maybeGunzip, parseIdx, parseImagesAndLabels } from './idx.js';

const runs = (n: number) => Number(process.env.KDASR_FUZZ_RUNS ?? n);
const seed = Number(process.env.KDASR_FUZZ_SEED ?? 20261207);

const pixels = Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => (i * 37) % 256);
const labels = Uint8Array.from([3, 1, 4]);
const images = encodeIdx([3, 4, 5], pixels);
const labelFile = encodeIdx([3], labels);

function parse(img: Uint8Array, lab: Uint8Array): 'ok' | 'error' {
  const t0 = performance.now();
  try {
    const r = parseImagesAndLabels(img, lab, { images: 'imgs.idx3', labels: 'labs.idx1' });
    // Anything that parses has the encoded shape; labels are compared only where the caller left them intact.
    expect([r.count, r.rows, r.cols]).toEqual([3, 4, 5]);
    if (lab === labelFile) expect(r.labels).toEqual(labels);
    return 'ok';
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== Error) throw e;
    expect(e.message, e.message).toMatch(/^(imgs\.idx3|labs\.idx1)[: ]/);
    return 'error';
  } finally {
    expect(performance.now() - t0).toBeLessThan(2000);
  }
}

const flips = (buf: Uint8Array, maxAt = buf.length) =>
  fc.array(fc.tuple(fc.nat({ max: maxAt - 1 }), fc.nat({ max: 7 })), { minLength: 1, maxLength: 3 }).map((fs) => {
    const b = Uint8Array.from(buf);
    for (const [at, bit] of fs) b[at] ^= 1 << bit;
    return b;
  });

describe('IDX reader fuzz', () => {
  it('parses the encoded pair, raw and gzipped', () => {
    expect(parse(images, labelFile)).toBe('ok');
    expect(parse(gzipSync(images), gzipSync(labelFile))).toBe('ok');
  });

  it('every truncation is an error, raw and gzipped', () => {
    fc.assert(
      fc.property(fc.nat({ max: images.length - 1 }), fc.boolean(), (cut, gz) => {
        const z = gzipSync(images);
        expect(parse(gz ? z.subarray(0, cut % z.length) : images.subarray(0, cut), labelFile)).toBe('error');
      }),
      { seed, numRuns: runs(60) },
    );
  });

  it('bit flips in the headers are reported; flips anywhere never crash', () => {
    fc.assert(fc.property(flips(images, 16), (b) => void expect(parse(b, labelFile)).toBe('error')), { seed, numRuns: runs(60) });
    fc.assert(fc.property(flips(labelFile, 8), (b) => void expect(parse(images, b)).toBe('error')), { seed, numRuns: runs(60) });
    // A flip in the data is undetectable (IDX has no checksum) but must leave the shape intact.
    fc.assert(fc.property(flips(images).filter((b) => b.subarray(0, 16).every((x, i) => x === images[i])), (b) => void expect(parse(b, labelFile)).toBe('ok')), { seed, numRuns: runs(30) });
    fc.assert(fc.property(flips(gzipSync(images)), (b) => void parse(b, labelFile)), { seed, numRuns: runs(60) });
  });

  it('adversarial headers: huge, zero and mismatched dims, other element types', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(0, 1, 2 ** 31, 2 ** 32 - 1), fc.nat()), { minLength: 3, maxLength: 3 }), fc.nat({ max: 255 }), (dims, type) => {
        const b = Uint8Array.from(images);
        const v = new DataView(b.buffer);
        if (type !== 8) b[2] = type;
        dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
        const out = parse(b, labelFile);
        if (out === 'ok') expect(dims).toEqual([3, 4, 5]);
      }),
      { seed, numRuns: runs(100) },
    );
    expect(() => parseIdx(encodeIdx([2 ** 31, 2 ** 31, 2 ** 31], new Uint8Array(4)), 3, 'big.idx3')).toThrow(/^big\.idx3: truncated: header says/);
  });

  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 40 }), (a, b) => void parse(a, b)), { seed, numRuns: runs(100) });
  });

  it('a gzip bomb stops at the inflate limit with a message', () => {
    const bomb = gzipSync(new Uint8Array(1 << 20));
    expect(bomb.length).toBeLessThan(2000);
    expect(() => maybeGunzip(bomb, 'bomb.gz', 1 << 16)).toThrow(/^bomb\.gz: gzip data inflates past 65536 bytes/);
    expect(maybeGunzip(bomb, 'bomb.gz', 1 << 21).length).toBe(1 << 20);
  });
});
