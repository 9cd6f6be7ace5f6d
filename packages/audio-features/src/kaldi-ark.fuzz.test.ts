// Fuzz the Kaldi binary ark/scp reader (feats.ark/feats.scp, cmvn.ark/cmvn.scp are outside bytes): truncated,
// bit-flipped and adversarial archives (huge, negative and mismatched rows/cols in 'BFM '/'BDM '/'CM' headers,
// unknown type tokens, big-endian size bytes, NaN/Inf values, garbage keys) and adversarial scp lines (huge,
// non-numeric and past-the-end offsets, missing files, directories, pipes, ranges, unsafe keys). Every outcome is
// either the matrices that were written or a KaldiArkError naming the file and the byte or line, never another
// exception, a hang, or a header whose declared size is larger than its file. Seed-pinned; KDASR_FUZZ_RUNS /
// KDASR_FUZZ_SEED make a longer run (npm run fuzz -w @kdasr/base).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { FeatureMatrix } from './fbank.js';
import { KaldiArkError, KaldiMatrixReader, writeKaldiFeatureDir } from './kaldi-ark.js';

const runs = (n: number) => Number(process.env.KDASR_FUZZ_RUNS ?? n);
const seed = Number(process.env.KDASR_FUZZ_SEED ?? 20261207);
const root = mkdtempSync(join(tmpdir(), 'kdasr-kaldi-ark-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// Real Kaldi output (FM, DM, an empty matrix, CM, CM2, CM3) and our own feats + per-speaker cmvn (DM) archives.
const fixtureArk = readFileSync(fileURLToPath(new URL('./__fixtures__/kaldi/feats.ark', import.meta.url)));
const ours = join(root, 'ours');
writeKaldiFeatureDir(
  ours,
  [
    { id: 'u1', features: { data: Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)), numFrames: 3, numCols: 4 } },
    { id: 'u2', features: { data: Float32Array.from({ length: 8 }, (_, i) => i / 7), numFrames: 2, numCols: 4 } },
  ],
  { utt2spk: new Map([['u1', 's1'], ['u2', 's1']]) },
);
const goods = { fixture: fixtureArk, feats: readFileSync(join(ours, 'feats.ark')), cmvn: readFileSync(join(ours, 'cmvn.ark')) };

function readAllFrom(r: KaldiMatrixReader): Map<string, FeatureMatrix> {
  const out = new Map<string, FeatureMatrix>();
  try {
    for (const k of r.keys()) out.set(k, r.get(k));
  } finally {
    r.close();
  }
  return out;
}
type Name = keyof typeof goods;
const names = Object.keys(goods) as Name[];
const want = {} as Record<Name, Map<string, FeatureMatrix>>;
/** Where each entry's object starts ('\0B') and where it ends, from the reader on the good ark. */
const layout = {} as Record<Name, { offsets: number[]; ends: number[] }>;
for (const name of names) {
  const f = join(root, `${name}.ark`);
  writeFileSync(f, goods[name]);
  const r = KaldiMatrixReader.fromArk(f);
  const hs = [...r.headers.values()];
  layout[name] = { offsets: hs.map((h) => h.offset), ends: hs.map((h) => h.offset + h.byteLength) };
  want[name] = readAllFrom(r);
}

let n = 0;
const caseFile = (bytes: Uint8Array | string, ext = 'ark') => {
  const f = join(root, `case-${n++}.${ext}`);
  writeFileSync(f, bytes);
  return f;
};

/**
 * Open (from an ark or an scp) and read everything. A success must be sound: every header fits in its file and
 * every matrix is finite with the declared shape; with `exact`, the matrices are the originals. A failure must be
 * a KaldiArkError whose message starts with one of `files`.
 */
function readAll(open: () => KaldiMatrixReader, files: string[], exact?: Map<string, FeatureMatrix>, scp?: string): 'ok' | 'error' {
  const t0 = performance.now();
  try {
    const r = open();
    for (const h of r.headers.values()) expect(h.offset + h.byteLength).toBeLessThanOrEqual(statSync(h.file).size);
    const got = readAllFrom(r);
    for (const [k, m] of got) {
      expect(m.data.length).toBe(m.numFrames * m.numCols);
      expect(m.data.every(Number.isFinite)).toBe(true);
      if (exact) {
        const w = exact.get(k);
        expect(w, `unknown key ${k}`).toBeDefined();
        expect(Array.from(m.data)).toEqual(Array.from(w!.data));
      }
    }
    return 'ok';
  } catch (e) {
    if (!(e instanceof KaldiArkError)) throw e;
    // An error in a file an scp points to names that file and the scp line.
    expect(files.some((f) => e.message.startsWith(f)) || (scp !== undefined && e.message.includes(`listed by ${scp}:`)), e.message).toBe(true);
    return 'error';
  } finally {
    expect(performance.now() - t0).toBeLessThan(2000);
  }
}

const flips = (buf: Uint8Array) =>
  fc.array(fc.record({ at: fc.nat({ max: buf.length - 1 }), bit: fc.nat({ max: 7 }) }), { minLength: 1, maxLength: 4 }).map((fs) => {
    const b = Uint8Array.from(buf);
    for (const f of fs) b[f.at] ^= 1 << f.bit;
    return b;
  });


describe('Kaldi ark/scp reader fuzz', () => {
  it('reads the untouched archives, from the ark and from an scp', () => {
    for (const name of names) {
      const f = caseFile(goods[name]);
      const w = want[name];
      expect(w.size).toBeGreaterThan(0);
      expect(readAll(() => KaldiMatrixReader.fromArk(f), [f], w)).toBe('ok');
      const scp = caseFile([...w.keys()].map((k, i) => `${k} ${f}:${layout[name].offsets[i]}`).join('\n'), 'scp');
      expect(readAll(() => KaldiMatrixReader.fromScp(scp), [scp, f], w)).toBe('ok');
    }
  });

  it('truncated arks: a prefix of whole entries, or an error naming the ark', () => {
    fc.assert(
      fc.property(fc.constantFrom(...names), fc.nat({ max: 10_000 }), (name, at) => {
        const cut = at % goods[name].length;
        const f = caseFile(goods[name].subarray(0, cut));
        const ok = readAll(() => KaldiMatrixReader.fromArk(f), [f], want[name]);
        // A cut that lands exactly between two entries is a valid, shorter ark (Kaldi reads it the same).
        if (cut !== 0 && !layout[name].ends.includes(cut)) expect(ok).toBe('error');
      }),
      { seed, numRuns: runs(60) },
    );
  });

  it('bit flips anywhere in an ark', () => {
    for (const name of names)
      fc.assert(
        fc.property(flips(goods[name]), (b) => {
          const f = caseFile(b);
          void readAll(() => KaldiMatrixReader.fromArk(f), [f]);
        }),
        { seed, numRuns: runs(40) },
      );
  });

  it("adversarial headers: huge, negative and mismatched sizes, unknown tokens, big-endian size bytes, NaN/Inf", () => {
    const int32 = fc.oneof(fc.constantFrom(0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 16, 46341, 3, 4, 1 << 30), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
    const kinds = fc.constantFrom('FM ', 'DM ', 'CM ', 'CM2 ', 'CM3 ', 'FV ', 'XX ', 'FM', '', 'FMFMFMFMFM ');
    fc.assert(
      fc.property(kinds, int32, int32, fc.constantFrom(4, 0xfc, 8, 0), fc.array(fc.double(), { maxLength: 12 }), (kind, rows, cols, sizeByte, values) => {
        const body = new DataView(new ArrayBuffer(values.length * 8));
        values.forEach((v, i) => body.setFloat64(8 * i, v, true));
        const head = Buffer.concat([Buffer.from('k1 \0B'), Buffer.from(kind, 'latin1'), Buffer.from([sizeByte, 0, 0, 0, 0, sizeByte, 0, 0, 0, 0])]);
        const dv = new DataView(head.buffer, head.byteOffset);
        dv.setInt32(head.length - 9, rows, true);
        dv.setInt32(head.length - 4, cols, true);
        const f = caseFile(Buffer.concat([head, new Uint8Array(body.buffer)]));
        void readAll(() => KaldiMatrixReader.fromArk(f), [f]);
        // The same object through an scp (offset of the '\0B').
        const scp = caseFile(`k1 ${f}:3\n`, 'scp');
        void readAll(() => KaldiMatrixReader.fromScp(scp), [scp], undefined, scp);
      }),
      { seed, numRuns: runs(150) },
    );
    const huge = caseFile(Buffer.concat([Buffer.from('k1 \0BDM \x04'), Buffer.from([0xff, 0xff, 0xff, 0x7f, 4, 1, 0, 0, 0])]));
    expect(() => KaldiMatrixReader.fromScp(caseFile(`k1 ${huge}:3\n`, 'scp'))).toThrow(/byte 3: "k1" \(DM 2147483647 x 1, listed by .*\) runs past the end of the file/);
    const nan = caseFile(Buffer.concat([Buffer.from('k1 \0BFM \x04'), Buffer.from([1, 0, 0, 0, 4, 1, 0, 0, 0]), Buffer.from(new Float32Array([NaN]).buffer)]));
    expect(() => KaldiMatrixReader.fromArk(nan).get('k1')).toThrow(/byte 3 \("k1"\): FM value at row 0, column 0 is NaN/);
  });

  it('adversarial scp lines: offsets, paths, pipes, ranges and keys', () => {
    const ark = caseFile(goods.fixture);
    const dir = join(root, 'a-dir');
    mkdirSync(dir);
    const offsets = layout.fixture.offsets;
    const key = fc.constantFrom('utt-a', 'utt-b', 'k', '../../escape', '.hidden', 'a\u0000b', 'ü', 'x'.repeat(300));
    const path = fc.constantFrom(ark, 'missing.ark', dir, '', '/dev/null', `${ark}|`, 'gunzip -c x.gz |', `${ark}[0:1]`);
    const offset = fc.oneof(
      fc.constantFrom(...offsets).map(String),
      fc.constantFrom('0', '-1', '1e3', '99999999999999999999999', String(goods.fixture.length), String(2 ** 53), 'x', ''),
      fc.nat({ max: goods.fixture.length + 10 }).map(String),
    );
    const line = fc.oneof({ weight: 6, arbitrary: fc.tuple(key, path, offset).map(([k, p, o]) => `${k} ${p}${o === '' ? '' : `:${o}`}`) }, { weight: 1, arbitrary: fc.string({ maxLength: 30 }) });
    fc.assert(
      fc.property(fc.array(line, { maxLength: 4 }), fc.constantFrom('\n', '\r\n'), (ls, eol) => {
        const scp = caseFile(ls.join(eol), 'scp');
        void readAll(() => KaldiMatrixReader.fromScp(scp), [scp], undefined, scp);
      }),
      { seed, numRuns: runs(120) },
    );
    expect(() => KaldiMatrixReader.fromScp(caseFile(`../../escape ${ark}:6\n`, 'scp'))).toThrow(/line 1: key "\.\.\/\.\.\/escape" contains "\/"/);
    expect(() => KaldiMatrixReader.fromScp(caseFile(`utt-a ${ark}:99999999999999999999\n`, 'scp'))).toThrow(/line 1: byte offset 99999999999999999999 of "utt-a" is not a usable file position/);
    expect(() => KaldiMatrixReader.fromScp(caseFile(`utt-a ${ark}:${goods.fixture.length}\n`, 'scp'))).toThrow(/line 1: offset \d+ of "utt-a" is at or past the end of/);
    expect(() => KaldiMatrixReader.fromScp(caseFile(`utt-a ${dir}:0\n`, 'scp'))).toThrow(/a-dir: file: is not a regular file/);
  });

  it('random bytes as an ark, and an ark entry mid-file with a garbage key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const f = caseFile(b);
        void readAll(() => KaldiMatrixReader.fromArk(f), [f]);
      }),
      { seed, numRuns: runs(60) },
    );
    const f = caseFile(Buffer.concat([goods.feats, Buffer.from([0xff, 0xfe, 0x20]), goods.feats.subarray(3)]));
    expect(() => KaldiMatrixReader.fromArk(f)).toThrow(/byte \d+: the key is not valid UTF-8/);
  });
});
