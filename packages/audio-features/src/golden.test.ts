// Golden comparison against torchaudio.compliance.kaldi (fbank, mfcc), torchaudio.functional.resample and
// numpy references (deltas, CMVN). Fixtures: tools/golden/fbank.py (see tools/golden/fbank.md).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Fbank, Mfcc, readWav, resample, addDeltas, CmvnStats, applyCmvn } from './index.js';

const dir = fileURLToPath(new URL('./__fixtures__/', import.meta.url));
interface Case {
  kind: string;
  wav: string;
  options?: Record<string, unknown>;
  fromHz?: number;
  toHz?: number;
  offset: number;
  rows: number;
  cols: number;
  scope?: string;
  normVars?: boolean;
  name?: string;
  [k: string]: unknown;
}
const meta = JSON.parse(readFileSync(dir + 'golden.json', 'utf8')) as { cases: Case[]; waveformScale: number };
const bin = readFileSync(dir + 'golden.bin');
const all = new Float32Array(bin.buffer, bin.byteOffset, bin.length / 4);
const expected = (c: Case) => all.subarray(c.offset, c.offset + c.rows * c.cols);
const wavCache = new Map<string, { samples: Float32Array; sampleRateHz: number }>();
function wav(name: string) {
  let w = wavCache.get(name);
  if (!w) wavCache.set(name, (w = readWav(dir + name)));
  return w;
}
function scaled(name: string): Float32Array {
  const s = wav(name).samples;
  const out = new Float32Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s[i] * meta.waveformScale;
  return out;
}
function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
/** Largest difference relative to the value's magnitude (for linear-domain outputs spanning decades). */
function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}
const figures: Record<string, number> = {};
function record(kind: string, d: number) {
  figures[kind] = Math.max(figures[kind] ?? 0, d);
}

describe('golden: torchaudio.compliance.kaldi.fbank', () => {
  const cases = meta.cases.filter((c) => c.kind === 'fbank');
  it('has a matrix of option cases', () => expect(cases.length).toBeGreaterThan(40));
  for (const c of cases) {
    const { sample_frequency, ...rest } = c.options!;
    it(`${c.wav} ${JSON.stringify(rest)}`, () => {
      const fb = new Fbank(c.options!);
      const got = fb.compute(scaled(c.wav), { sampleRateHz: sample_frequency as number });
      expect([got.numFrames, got.numCols]).toEqual([c.rows, c.cols]);
      if (c.options!.use_log_fbank === false) {
        const d = maxRelDiff(got.data, expected(c));
        record('fbank linear (relative)', d);
        expect(d).toBeLessThan(1e-4);
      } else {
        const d = maxAbsDiff(got.data, expected(c));
        record('fbank log-mel', d);
        expect(d).toBeLessThan(1e-3);
      }
    });
  }
});

describe('golden: torchaudio.compliance.kaldi.mfcc', () => {
  for (const c of meta.cases.filter((c) => c.kind === 'mfcc')) {
    it(`${c.wav} ${JSON.stringify(c.options)}`, () => {
      const m = new Mfcc(c.options!);
      const got = m.compute(scaled(c.wav));
      expect([got.numFrames, got.numCols]).toEqual([c.rows, c.cols]);
      const d = maxAbsDiff(got.data, expected(c));
      record('mfcc', d);
      expect(d).toBeLessThan(1e-3);
    });
  }
});

describe('golden: torchaudio.functional.resample (sinc, Hann window)', () => {
  for (const c of meta.cases.filter((c) => c.kind === 'resample')) {
    it(`${c.wav} ${c.fromHz} -> ${c.toHz}`, () => {
      const w = wav(c.wav);
      expect(w.sampleRateHz).toBe(c.fromHz);
      const got = resample(w.samples, c.fromHz!, c.toHz!);
      const d = maxAbsDiff(got, expected(c));
      record('resample', d);
      expect(d).toBeLessThan(1e-5);
    });
  }
});

describe('golden: numpy add-deltas and CMVN', () => {
  const inputs = new Map(meta.cases.filter((c) => c.kind === 'input').map((c) => [c.wav, c]));
  const input = (w: string) => ({ data: expected(inputs.get(w)!).slice(), numFrames: inputs.get(w)!.rows, numCols: inputs.get(w)!.cols });
  for (const c of meta.cases.filter((c) => c.kind === 'deltas')) {
    it(`deltas ${c.wav}`, () => {
      const got = addDeltas(input(c.wav), { order: 2, window: 2 });
      expect([got.numFrames, got.numCols]).toEqual([c.rows, c.cols]);
      const d = maxAbsDiff(got.data, expected(c));
      record('deltas', d);
      expect(d).toBeLessThan(1e-4);
    });
  }
  const cmvnCases = meta.cases.filter((c) => c.kind === 'cmvn');
  for (const scope of ['utterance', 'speaker']) {
    for (const normVars of [false, true]) {
      const cs = cmvnCases.filter((c) => c.scope === scope && c.normVars === normVars);
      it(`cmvn ${scope} normVars=${normVars}`, () => {
        expect(cs.length).toBeGreaterThan(0);
        const stats = new CmvnStats(inputs.get(cs[0].wav)!.cols);
        for (const c of cs) stats.accumulate(input(c.wav));
        // Round-trip through JSON: stats are accumulated in one pass and applied in another.
        const restored = CmvnStats.fromJSON(JSON.parse(JSON.stringify(stats.toJSON())));
        for (const c of cs) {
          const got = applyCmvn(input(c.wav), restored, { normVars });
          const d = maxAbsDiff(got.data, expected(c));
          record('cmvn', d);
          expect(d).toBeLessThan(1e-4);
        }
      });
    }
  }
});

describe('golden summary', () => {
  it('prints the max-abs-diff figures (README)', () => {
    console.log('golden max diffs:', JSON.stringify(figures));
    expect(Object.keys(figures).length).toBeGreaterThan(3);
  });
});
