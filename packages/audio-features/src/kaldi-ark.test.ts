import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FeatureArchive } from './archive.js';
import type { FeatureMatrix } from './fbank.js';
import { KaldiMatrixReader, encodeKaldiFloatMatrix, writeKaldiFeatureDir } from './kaldi-ark.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = resolve(here, '../../..');
const fixture = join(here, '__fixtures__/kaldi');
const python = '/usr/bin/python3';
const numpyOk = existsSync(python) && spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
const tmp = mkdtempSync(join(tmpdir(), 'kdasr-kaldi-ark-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function matrix(rows: number, cols: number, seed: number): FeatureMatrix {
  const data = new Float32Array(rows * cols);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    data[i] = (s / 2 ** 31 - 0.5) * 40;
  }
  return { data, numFrames: rows, numCols: cols };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

type PyOut = Record<string, { type: string; rows: number; cols: number; data: number[] }>;
function pyRead(spec: string): PyOut {
  const r = spawnSync(python, [join(root, 'tools/kaldi/read_ark.py'), spec], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`read_ark.py ${spec}: ${r.stderr}`);
  return JSON.parse(r.stdout) as PyOut;
}

describe('Kaldi ark/scp written by kdasr', () => {
  const mats = new Map([
    ['spkA-u1', matrix(7, 4, 1)],
    ['spkA-u2', matrix(3, 4, 2)],
    ['spkB-u1', matrix(5, 4, 3)],
  ]);
  const utt2spk = new Map([...mats.keys()].map((k) => [k, k.split('-')[0]]));
  const dir = join(tmp, 'written');
  const counts = writeKaldiFeatureDir(dir, [...mats].map(([id, features]) => ({ id, features })), { utt2spk });

  it('is read back by an independent numpy reader (tools/kaldi/read_ark.py), from the scp and the ark', { skip: !numpyOk }, () => {
    expect(counts).toEqual({ utterances: 3, speakers: 2 });
    for (const spec of [`scp:${join(dir, 'feats.scp')}`, `ark:${join(dir, 'feats.ark')}`]) {
      const got = pyRead(spec);
      expect(Object.keys(got)).toEqual([...mats.keys()]);
      for (const [id, m] of mats) {
        expect([got[id].type, got[id].rows, got[id].cols]).toEqual(['FM', m.numFrames, m.numCols]);
        expect(maxAbsDiff(got[id].data, m.data)).toBeLessThanOrEqual(0);
      }
    }
  });

  it("writes per-speaker CMVN stats as compute-cmvn-stats does (2 x (dim+1) doubles: sums and count, sums of squares and 0)", { skip: !numpyOk }, () => {
    const got = pyRead(`scp:${join(dir, 'cmvn.scp')}`);
    expect(Object.keys(got)).toEqual(['spkA', 'spkB']);
    for (const spk of ['spkA', 'spkB']) {
      const expected = new Array<number>(10).fill(0);
      for (const [id, m] of mats)
        if (utt2spk.get(id) === spk) {
          for (let t = 0; t < m.numFrames; t++)
            for (let d = 0; d < 4; d++) {
              expected[d] += m.data[t * 4 + d];
              expected[5 + d] += m.data[t * 4 + d] ** 2;
            }
          expected[4] += m.numFrames;
        }
      expect([got[spk].type, got[spk].rows, got[spk].cols]).toEqual(['DM', 2, 5]);
      expect(maxAbsDiff(got[spk].data, expected)).toBeLessThan(1e-9);
      expect(got[spk].data[9]).toBe(0);
    }
  });

  it('reads back through FeatureArchive.open (scp file, scp:, ark: and a data dir with feats.scp)', () => {
    const dataDir = join(tmp, 'datadir');
    writeKaldiFeatureDir(dataDir, [...mats].map(([id, features]) => ({ id, features })));
    writeFileSync(join(dataDir, 'frame_shift'), '0.02\n');
    for (const p of [join(dir, 'feats.scp'), `scp:${join(dir, 'feats.scp')}`, `ark:${join(dir, 'feats.ark')}`, dataDir]) {
      const a = FeatureArchive.open(p);
      expect(a.isKaldi).toBe(true);
      expect(a.ids()).toEqual([...mats.keys()]);
      for (const [id, m] of mats) expect(maxAbsDiff(a.get(id).data, m.data)).toBeLessThanOrEqual(0);
      expect(a.entry('spkB-u1')).toMatchObject({ rows: 5, cols: 4 });
      a.close();
    }
    const d = FeatureArchive.open(dataDir);
    expect(d.index.config).toEqual({ kind: 'fbank', options: { frameShiftMs: 20 } });
    d.close();
  });
});

describe('a Kaldi ark written to the documented layout (committed fixture from tools/kaldi/make_ark_fixture.py)', () => {
  const expected = JSON.parse(readFileSync(join(fixture, 'expected.json'), 'utf8')) as { entries: Record<string, { rows: number; cols: number; data: number[] }> };

  it('reads float, double and compressed (CM, CM2, CM3) matrices by scp offset and by scanning the ark', () => {
    for (const p of [join(fixture, 'feats.scp'), `ark:${join(fixture, 'feats.ark')}`]) {
      const a = FeatureArchive.open(p);
      expect(a.ids()).toEqual(Object.keys(expected.entries));
      for (const [id, e] of Object.entries(expected.entries)) {
        const m = a.get(id);
        expect([id, m.numFrames, m.numCols]).toEqual([id, e.rows, e.cols]);
        // FM and the compressed decodings follow Kaldi's float arithmetic; DM rounds doubles to float32.
        expect(maxAbsDiff(m.data, e.data)).toBeLessThanOrEqual(1e-6 * Math.max(1, ...e.data.map(Math.abs)));
      }
      expect(a.entry('utt-cm').meta).toMatchObject({ kaldiType: 'CM' });
      a.close();
    }
  });

  it('gives errors naming the file and the fix: text-mode, truncated, bad offset, ranges', () => {
    const text = join(tmp, 'text.ark');
    writeFileSync(text, 'utt1  [\n 1 2 3\n 4 5 6 ]\n');
    expect(() => KaldiMatrixReader.fromArk(text)).toThrow(/text\.ark: byte 5: not a binary Kaldi object .*text-mode archive\. Fix: .*copy-feats ark,t:IN\.ark/);
    const trunc = join(tmp, 'trunc.ark');
    const full = Buffer.concat([Buffer.from('u1 '), Buffer.from(encodeKaldiFloatMatrix(matrix(4, 3, 9)))]);
    writeFileSync(trunc, full.subarray(0, full.length - 5));
    expect(() => KaldiMatrixReader.fromArk(trunc)).toThrow(/trunc\.ark: byte 3: "u1" \(FM 4 x 3\) runs past the end of the file \(truncated archive\)/);
    const badScp = join(tmp, 'bad.scp');
    copyFileSync(join(fixture, 'feats.ark'), join(tmp, 'feats.ark'));
    writeFileSync(badScp, `u1 ${join(tmp, 'feats.ark')}:7\n`);
    expect(() => FeatureArchive.open(badScp)).toThrow(/feats\.ark: byte 7 \(listed by .*bad\.scp:1 \(u1\)\): no "\\0B" binary header .*Fix: regenerate the scp/);
    writeFileSync(badScp, `u1 ${join(tmp, 'feats.ark')}:6[0:2]\n`);
    expect(() => FeatureArchive.open(badScp)).toThrow(/bad\.scp: line 1: scp ranges .* not supported\. Fix: .*copy-feats/);
    writeFileSync(badScp, `u1 ${join(tmp, 'missing.ark')}:6\n`);
    expect(() => FeatureArchive.open(badScp)).toThrow(/missing\.ark: file: cannot open \(listed by .*bad\.scp:1 \(u1\)\)/);
  });

  it('refuses a header declaring an impossible size instead of allocating it', () => {
    const huge = Buffer.from(encodeKaldiFloatMatrix(matrix(1, 1, 1)));
    huge.writeInt32LE(2 ** 30, 6);
    huge.writeInt32LE(2 ** 30, 11);
    const f = join(tmp, 'huge.ark');
    writeFileSync(f, Buffer.concat([Buffer.from('u '), huge]));
    expect(() => KaldiMatrixReader.fromArk(f)).toThrow(/huge\.ark: byte 2 \(FM dimensions\): 1073741824 x 1073741824 is not a valid matrix size/);
  });
});
