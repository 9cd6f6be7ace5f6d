import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeIdx, isGzip, parseIdx, parseImagesAndLabels, readIdxPair } from './idx.js';

function images(n: number, rows = 3, cols = 2): Uint8Array {
  return encodeIdx([n, rows, cols], Uint8Array.from({ length: n * rows * cols }, (_, i) => i % 256));
}
function labels(values: number[]): Uint8Array {
  return encodeIdx([values.length], Uint8Array.from(values));
}

describe('parseIdx', () => {
  it('reads dims and data of raw and gzipped files alike', () => {
    const raw = images(4);
    const a = parseIdx(raw, 3, 'a');
    expect(a.dims).toEqual([4, 3, 2]);
    expect(Array.from(a.data.subarray(0, 7))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    const gz = gzipSync(raw);
    expect(isGzip(gz)).toBe(true);
    expect(isGzip(raw)).toBe(false);
    const b = parseIdx(gz, 3, 'b.gz');
    expect(b.dims).toEqual([4, 3, 2]);
    expect(Buffer.from(b.data).equals(Buffer.from(a.data))).toBe(true);
  });

  it('rejects a wrong magic number, naming the file', () => {
    expect(() => parseIdx(labels([1, 2]), 3, 'imgs.idx')).toThrow(/imgs\.idx: magic number 0x00000801.*swapped/);
    const junk = Uint8Array.from([0x50, 0x4b, 3, 4, 0, 0, 0, 0]);
    expect(() => parseIdx(junk, 1, 'zip.bin')).toThrow(/zip\.bin: .*not an IDX file/);
    const floats = encodeIdx([2], new Uint8Array(2));
    floats[2] = 0x0d; // float32 element type
    expect(() => parseIdx(floats, 1, 'f.idx')).toThrow(/only uint8/);
  });

  it('rejects truncated data, truncated headers and trailing bytes', () => {
    const raw = images(4);
    expect(() => parseIdx(raw.subarray(0, raw.length - 1), 3, 'cut')).toThrow(/cut: truncated: header says 4x3x2 = 24 bytes.*only 23/);
    expect(() => parseIdx(raw.subarray(0, 9), 3, 'hdr')).toThrow(/hdr: truncated header/);
    expect(() => parseIdx(raw.subarray(0, 2), 3, 'tiny')).toThrow(/tiny: only 2 bytes/);
    const longer = new Uint8Array(raw.length + 3);
    longer.set(raw);
    expect(() => parseIdx(longer, 3, 'long')).toThrow(/long: 3 unexpected bytes/);
  });

  it('rejects a truncated gzip stream with a clear message', () => {
    const gz = gzipSync(images(50));
    expect(() => parseIdx(gz.subarray(0, gz.length - 20), 3, 'x.gz')).toThrow(/x\.gz: gzip data is corrupt or truncated/);
  });

  it('checks images against labels', () => {
    const ok = parseImagesAndLabels(images(3), labels([0, 9, 4]), { images: 'i', labels: 'l' });
    expect(ok.count).toBe(3);
    expect(ok.rows * ok.cols).toBe(6);
    expect(Array.from(ok.labels)).toEqual([0, 9, 4]);
    expect(() => parseImagesAndLabels(images(3), labels([0, 1]), { images: 'train-i', labels: 'test-l' })).toThrow(
      /train-i has 3 images but test-l has 2 labels/,
    );
    expect(() => parseImagesAndLabels(images(2), labels([0, 10]), { images: 'i', labels: 'l' })).toThrow(/l: label 10 at example 1/);
  });

  it('reads files from disk', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idx-'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'i.gz'), gzipSync(images(2)));
    writeFileSync(join(dir, 'l'), labels([3, 1]));
    const r = readIdxPair(join(dir, 'i.gz'), join(dir, 'l'));
    expect(r.count).toBe(2);
    expect(Array.from(r.labels)).toEqual([3, 1]);
  });
});
