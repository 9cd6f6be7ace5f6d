import { existsSync, mkdtempSync, readdirSync, readFileSync, appendFileSync, writeFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Rng, numFrames } from '@kdasr/core';
import {
  addDeltas,
  applyCmvn,
  CmvnStats,
  CmvnStatsByKey,
  cmvnUtterance,
  Fbank,
  FeatureArchive,
  FeatureArchiveWriter,
  FeatureExtractor,
  Mfcc,
  PAPER_CONTEXT,
  parseFbankConfig,
  readNpy,
  splice,
  type FeatureMatrix,
} from './index.js';

const fixtures = fileURLToPath(new URL('./__fixtures__/', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'kdasr-feat-'));

function ramp(T: number, D: number): FeatureMatrix {
  return { data: Float32Array.from({ length: T * D }, (_, i) => Math.floor(i / D) * 10 + (i % D)), numFrames: T, numCols: D };
}
function noise(n: number, seed: number): Float32Array {
  const r = new Rng(seed);
  return Float32Array.from({ length: n }, () => r.normal(0, 1000));
}

describe('fbank config and framing', () => {
  it('defaults are Kaldi-like (except dither 0, 40 bins)', () => {
    const c = parseFbankConfig();
    expect(c).toMatchObject({ frameLengthMs: 25, frameShiftMs: 10, dither: 0, preemphasisCoefficient: 0.97, windowType: 'povey', numMelBins: 40, snipEdges: true });
  });
  it('accepts torchaudio and Kaldi names, rejects unknown ones', () => {
    expect(parseFbankConfig({ num_mel_bins: 80, 'frame-shift': 5 })).toMatchObject({ numMelBins: 80, frameShiftMs: 5 });
    expect(() => parseFbankConfig({ numMelBinz: 80 })).toThrow(/numMelBinz/);
    expect(() => parseFbankConfig({ windowType: 'kaiser' })).toThrow(/windowType/);
  });
  it('frame count comes from core numFrames', () => {
    for (const snipEdges of [true, false]) {
      const fb = new Fbank({ snipEdges, sampleRateHz: 16000 });
      for (const n of [0, 399, 400, 16_000, 16_079, 16_080]) {
        const m = fb.compute(noise(n, n));
        expect(m.numFrames).toBe(numFrames(n, { frameLengthMs: 25, frameShiftMs: 10, sampleRateHz: 16000, snipEdges }));
        expect(m.data.length).toBe(m.numFrames * 40);
      }
    }
  });
  it('checks the sample rate and mel range', () => {
    expect(() => new Fbank({ sampleRateHz: 16000 }).compute(new Float32Array(1000), { sampleRateHz: 8000 })).toThrow(/8000 Hz/);
    expect(() => new Fbank({ sampleRateHz: 8000, highFreqHz: 5000 })).toThrow(/mel range/);
    expect(() => new Fbank({ sampleRateHz: 8000, numMelBins: 200 })).toThrow(/empty/);
  });
  it('dither is seeded: same Rng seed, same features; different seed, different', () => {
    const x = noise(8000, 1);
    const fb = new Fbank({ sampleRateHz: 8000, dither: 1 });
    const a = fb.compute(x, { rng: new Rng(5) }).data;
    const b = fb.compute(x, { rng: new Rng(5) }).data;
    const c = fb.compute(x, { rng: new Rng(6) }).data;
    const d0 = new Fbank({ sampleRateHz: 8000 }).compute(x).data;
    expect(Array.from(a)).toEqual(Array.from(b));
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i] - c[i]));
    expect(diff).toBeGreaterThan(1e-4);
    let diff0 = 0;
    for (let i = 0; i < a.length; i++) diff0 = Math.max(diff0, Math.abs(a[i] - d0[i]));
    expect(diff0).toBeLessThan(0.5); // dither of 1 on signal of std 1000 barely moves log-mel
  });
  it('a pure tone peaks in the mel bin around its frequency', () => {
    const fb = new Fbank({ sampleRateHz: 16000, numMelBins: 40 });
    const x = Float32Array.from({ length: 16000 }, (_, i) => 10000 * Math.sin((2 * Math.PI * 1000 * i) / 16000));
    const m = fb.compute(x);
    const row = m.data.subarray(50 * 40, 51 * 40);
    const peak = row.indexOf(Math.max(...row));
    const centers = fb.melBank.centerHz;
    const nearest = centers.reduce((best, c, i) => (Math.abs(c - 1000) < Math.abs(centers[best] - 1000) ? i : best), 0);
    expect(Math.abs(peak - nearest)).toBeLessThanOrEqual(1);
  });
  it('MFCC rejects numCeps > numMelBins', () => {
    expect(() => new Mfcc({ numCeps: 30, numMelBins: 23 })).toThrow(/numCeps/);
  });
});

describe('deltas, CMVN, splicing', () => {
  it('deltas of a linear ramp: slope in the middle, zero second derivative', () => {
    const d = addDeltas(ramp(10, 2));
    expect(d.numCols).toBe(6);
    // middle frame: delta = 10 (frame step), delta-delta 0
    expect(d.data[5 * 6 + 2]).toBeCloseTo(10, 5);
    expect(d.data[5 * 6 + 4]).toBeCloseTo(0, 5);
    // edges are clamped, so the slope shrinks there
    expect(d.data[0 * 6 + 2]).toBeLessThan(10);
  });
  it('per-utterance CMVN gives zero mean, unit variance', () => {
    const m = { data: noise(300, 9).map((v, i) => v / 100 + (i % 3) * 7), numFrames: 100, numCols: 3 };
    const n = cmvnUtterance(m, { normVars: true });
    for (let d = 0; d < 3; d++) {
      let s = 0;
      let s2 = 0;
      for (let t = 0; t < 100; t++) {
        s += n.data[t * 3 + d];
        s2 += n.data[t * 3 + d] ** 2;
      }
      expect(s / 100).toBeCloseTo(0, 4);
      expect(s2 / 100).toBeCloseTo(1, 3);
    }
  });
  it('per-speaker stats serialise and apply in a second pass', () => {
    const by = new CmvnStatsByKey(2);
    by.accumulate('spk1', ramp(4, 2));
    by.accumulate('spk1', ramp(6, 2));
    by.accumulate('spk2', ramp(3, 2));
    const back = CmvnStatsByKey.fromJSON(JSON.parse(JSON.stringify(by.toJSON())));
    expect(back.get('spk1').count).toBe(10);
    const global = new CmvnStats(2).merge(back.get('spk1')).merge(back.get('spk2'));
    expect(global.count).toBe(13);
    const out = applyCmvn(ramp(4, 2), back.get('spk1'));
    expect(out.data[0]).toBeCloseTo(0 - back.get('spk1').mean()[0], 5);
    expect(() => back.get('nobody')).toThrow(/nobody/);
  });
  it('splicing repeats edge frames (paper context: 20 left, 5 right)', () => {
    const m = ramp(30, 2);
    const s = splice(m, PAPER_CONTEXT);
    expect(s.numCols).toBe(2 * 26);
    // frame 0's context starts with 20 copies of frame 0
    for (let j = 0; j < 21; j++) expect(s.data[j * 2]).toBe(0);
    expect(s.data[21 * 2]).toBe(10);
    // frame 29: the right context is 5 copies of frame 29 (value 290)
    const row = s.data.subarray(29 * 52, 30 * 52);
    expect(row[20 * 2]).toBe(290);
    expect(row[25 * 2]).toBe(290);
    expect(row[0]).toBe(90);
  });
});

describe('feature archive', () => {
  const cfg = { kind: 'fbank', options: {} };
  it('appends, reopens, random access, batches, checksums', () => {
    const dir = join(tmp, 'a1');
    const w = FeatureArchiveWriter.open(dir, { config: cfg });
    w.append('u1', ramp(3, 4));
    w.append('u2', ramp(5, 4), { durationSec: 0.05 });
    w.close();
    const w2 = FeatureArchiveWriter.open(dir, { config: cfg });
    expect(w2.has('u1')).toBe(true);
    w2.append('u3', ramp(2, 4));
    expect(() => w2.append('u3', ramp(2, 4))).toThrow(/already present/);
    w2.close();
    const a = FeatureArchive.open(dir);
    expect(a.ids()).toEqual(['u1', 'u2', 'u3']);
    expect(Array.from(a.get('u2').data)).toEqual(Array.from(ramp(5, 4).data));
    expect(a.index.provenance.kdasrVersion).toBeTruthy();
    expect(a.index.entries.u2.meta).toEqual({ durationSec: 0.05 });
    const sizes = [...a.batches(2)].map((b) => b.map((x) => x.id));
    expect(sizes).toEqual([['u1', 'u2'], ['u3']]);
    a.close();
  });
  it('refuses a different config', () => {
    const dir = join(tmp, 'a2');
    FeatureArchiveWriter.open(dir, { config: cfg }).close();
    expect(() => FeatureArchiveWriter.open(dir, { config: { kind: 'mfcc' } })).toThrow(/different config/);
  });
  it('an uncommitted append (data past the index) is ignored and then overwritten', () => {
    const dir = join(tmp, 'a3');
    const w = FeatureArchiveWriter.open(dir, { config: cfg });
    w.append('u1', ramp(3, 4));
    w.close();
    // Simulate a crash after writing data but before the index commit.
    appendFileSync(join(dir, 'feats.bin'), Buffer.alloc(1000, 7));
    const a = FeatureArchive.open(dir);
    expect(a.ids()).toEqual(['u1']);
    expect(a.get('u1').numFrames).toBe(3);
    a.close();
    const w2 = FeatureArchiveWriter.open(dir, { config: cfg });
    w2.append('u2', ramp(2, 4));
    w2.close();
    const b = FeatureArchive.open(dir);
    expect(Array.from(b.get('u2').data)).toEqual(Array.from(ramp(2, 4).data));
    expect(statSync(join(dir, 'feats.bin')).size).toBe(b.index.dataBytes);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    b.close();
  });
  it('detects corrupted data by checksum', () => {
    const dir = join(tmp, 'a4');
    const w = FeatureArchiveWriter.open(dir, { config: cfg });
    w.append('u1', ramp(3, 4));
    w.close();
    const bytes = readFileSync(join(dir, 'feats.bin'));
    bytes[5] ^= 0xff;
    writeFileSync(join(dir, 'feats.bin'), bytes);
    const a = FeatureArchive.open(dir);
    expect(() => a.get('u1')).toThrow(/checksum mismatch for "u1"/);
    a.close();
  });
  it('exports .npy (one utterance, and the whole archive stacked) that numpy-format readers accept', () => {
    const dir = join(tmp, 'a5');
    const w = FeatureArchiveWriter.open(dir, { config: cfg });
    w.append('u1', ramp(3, 4));
    w.append('u2', ramp(2, 4));
    w.close();
    const a = FeatureArchive.open(dir);
    a.exportNpy('u2', join(tmp, 'u2.npy'));
    a.exportAllNpy(join(tmp, 'all.npy'));
    a.close();
    const u2 = readNpy(join(tmp, 'u2.npy'));
    expect([u2.numFrames, u2.numCols]).toEqual([2, 4]);
    expect(Array.from(u2.data)).toEqual(Array.from(ramp(2, 4).data));
    const raw = readFileSync(join(tmp, 'u2.npy'));
    expect((10 + raw.readUInt16LE(8)) % 64).toBe(0);
    expect(raw.toString('latin1', 10, 70)).toContain("'descr': '<f4'");
    const all = readNpy(join(tmp, 'all.npy'));
    expect(all.numFrames).toBe(5);
    expect(JSON.parse(readFileSync(join(tmp, 'all.npy.json'), 'utf8')).utterances).toEqual({ u1: [0, 3], u2: [3, 2] });
    // When Debian's numpy is present, check numpy itself reads it.
    if (existsSync('/usr/bin/python3')) {
      const r = spawnSync('/usr/bin/python3', ['-c', `import numpy as n; a=n.load(${JSON.stringify(join(tmp, 'u2.npy'))}); print(a.dtype, a.shape, float(a[1,3]))`], { encoding: 'utf8' });
      if (r.status === 0) expect(r.stdout.trim()).toBe('float32 (2, 4) 13.0');
    }
  });
});

describe('pipeline', () => {
  it('file -> fbank with deltas at the file rate; resampling on request', () => {
    const ex = new FeatureExtractor({ kind: 'fbank', options: { num_mel_bins: 23 }, deltas: { order: 2, window: 2 } });
    const r = ex.fromFile(join(fixtures, 'fsdd_0_george_0.wav'));
    expect(r.sampleRateHz).toBe(8000);
    expect(r.features.numCols).toBe(69);
    const up = new FeatureExtractor({ targetSampleRateHz: 16000 }).fromFile(join(fixtures, 'fsdd_0_george_0.wav'));
    expect(up.sampleRateHz).toBe(16000);
    expect(up.features.numFrames).toBe(r.features.numFrames);
  });
  it('bare option objects are fbank options; sampleRateHz is refused', () => {
    expect(new FeatureExtractor({ num_mel_bins: 80 }).config.options).toEqual({ num_mel_bins: 80 });
    expect(() => new FeatureExtractor({ options: { sampleRateHz: 8000 } })).toThrow(/targetSampleRateHz/);
  });
});

// The real Free Spoken Digit Dataset, when the shared data directory is there (from /work/main: ../shared/data/fsdd).
const fsdd = fileURLToPath(new URL('../../../../shared/data/fsdd/recordings/', import.meta.url));
describe.skipIf(!existsSync(fsdd))('real FSDD recordings', () => {
  it('every 50th recording decodes and gives finite 40-bin fbank', () => {
    const files = readdirSync(fsdd).filter((f) => f.endsWith('.wav')).sort();
    expect(files.length).toBeGreaterThan(1000);
    const ex = new FeatureExtractor();
    for (const f of files.filter((_, i) => i % 50 === 0)) {
      const r = ex.fromFile(join(fsdd, f));
      expect(r.sampleRateHz).toBe(8000);
      expect(r.features.numCols).toBe(40);
      for (const v of r.features.data) if (!Number.isFinite(v)) throw new Error(`${f}: non-finite feature`);
    }
  });
});
if (!existsSync(fsdd)) console.warn(`skipping real-FSDD test: ${fsdd} not found (expected the shared data checkout next to the repo)`);
