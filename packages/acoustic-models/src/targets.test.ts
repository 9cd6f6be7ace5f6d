import { describe, expect, it } from 'vitest';
import { frameCenterSec, numFrames, type FrameOptions } from '@kdasr/core';
import { Fbank } from '@kdasr/audio-features';
import { StateInventory, labelsFromPhoneSegments, uniformLabels, wordsToPhones } from './index.js';

const inv = new StateInventory({ phones: ['sil', 'a', 'b'], statesPerPhone: 3, statesPerSilence: 5 });

describe('StateInventory', () => {
  it('numbers classes phone by phone, state by state (decoding monophonePdfs order)', () => {
    expect(inv.numClasses).toBe(11);
    expect(inv.classId('sil', 4)).toBe(4);
    expect(inv.classId('a', 0)).toBe(5);
    expect(inv.classId('b', 2)).toBe(10);
    expect(inv.className(6)).toBe('a_1');
    expect(inv.pdfMapper().pdfOf('b', 'a', null, 1)).toBe(9);
    const back = StateInventory.fromJSON(JSON.parse(JSON.stringify(inv.toJSON())));
    expect(back.numStates).toEqual(inv.numStates);
    expect(back.isSilence('sil')).toBe(true);
  });
  it('rejects bad input with the field named', () => {
    expect(() => new StateInventory({ phones: ['a', 'a'] })).toThrow(/listed twice/);
    expect(() => inv.classId('a', 3)).toThrow(/states 0..2/);
    expect(() => inv.classId('zz', 0)).toThrow(/unknown phone "zz"/);
  });
});

describe('labelsFromPhoneSegments', () => {
  const segs = [
    { phone: 'sil', startSec: 0, endSec: 0.113 },
    { phone: 'a', startSec: 0.113, endSec: 0.4 },
    { phone: 'b', startSec: 0.4, endSec: 0.62 },
    { phone: 'sil', startSec: 0.62, endSec: 0.8 },
  ];
  for (const snipEdges of [true, false]) {
    it(`labels every frame with the phone whose interval holds the frame centre (snipEdges ${snipEdges}) and the fbank row count`, () => {
      const frame: FrameOptions = { sampleRateHz: 16000, frameLengthMs: 25, frameShiftMs: 10, snipEdges };
      const samples = 0.8 * 16000;
      const T = numFrames(samples, frame);
      // The label count must equal the filterbank's row count for the same audio and options.
      const rows = new Fbank({ sampleRateHz: 16000, snipEdges }).compute(new Float32Array(samples).fill(0.1)).numFrames;
      expect(rows).toBe(T);
      const labels = labelsFromPhoneSegments(segs, T, frame, inv);
      for (let t = 0; t < T; t++) {
        const c = frameCenterSec(t, frame);
        const seg = segs.find((s) => c >= s.startSec - 0.005 && c < s.endSec + 0.005)!;
        const near = segs.some((s) => Math.abs(c - s.startSec) <= 0.005);
        if (!near) expect(inv.phoneOfClass(labels[t]), `frame ${t} centre ${c}`).toBe(seg.phone);
        expect(labels[t]).toBeGreaterThanOrEqual(0);
      }
      // States within a segment run left to right, each getting a near-equal share.
      const aFrames = [...labels].filter((l) => inv.phoneOfClass(l) === 'a').map((l) => inv.stateOfClass(l));
      expect(aFrames).toEqual([...aFrames].sort((x, y) => x - y));
      const counts = [0, 1, 2].map((s) => aFrames.filter((x) => x === s).length);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    });
  }
  it('leaves uncovered frames unlabelled unless a fill phone is given, and rejects overlaps', () => {
    const frame: FrameOptions = { sampleRateHz: 8000, frameLengthMs: 25, frameShiftMs: 10, snipEdges: true };
    const l = labelsFromPhoneSegments([{ phone: 'a', startSec: 0.1, endSec: 0.2 }], 30, frame, inv);
    expect(l[0]).toBe(-1);
    expect(l[29]).toBe(-1);
    const f = labelsFromPhoneSegments([{ phone: 'a', startSec: 0.1, endSec: 0.2 }], 30, frame, inv, { fillPhone: 'sil' });
    expect(f[0]).toBe(inv.classId('sil', 2));
    expect(() =>
      labelsFromPhoneSegments([{ phone: 'a', startSec: 0, endSec: 0.2 }, { phone: 'b', startSec: 0.1, endSec: 0.3 }], 30, frame, inv, { where: 'utt7' }),
    ).toThrow(/utt7: phones\[1\].*before the previous phone ends/);
  });
});

describe('uniformLabels (flat start)', () => {
  it('spreads the state sequence evenly, in order, with edge silence', () => {
    const l = uniformLabels(['a', 'b'], 100, inv, { edgeSilence: 'sil' });
    const runs: number[][] = [];
    for (let t = 0; t < l.length; t++) if (t === 0 || l[t] !== l[t - 1]) runs.push([l[t], 1]);
    else runs[runs.length - 1][1]++;
    expect(runs.map((r) => inv.className(r[0]))).toEqual(['sil_0', 'sil_1', 'sil_2', 'sil_3', 'sil_4', 'a_0', 'a_1', 'a_2', 'b_0', 'b_1', 'b_2', 'sil_0', 'sil_1', 'sil_2', 'sil_3', 'sil_4']);
    const lens = runs.map((r) => r[1]);
    expect(Math.max(...lens) - Math.min(...lens)).toBeLessThanOrEqual(1);
  });
  it('refuses utterances too short for their states, and unknown words', () => {
    expect(() => uniformLabels(['a', 'b'], 5, inv, { where: 'u1' })).toThrow(/u1: 5 frames cannot hold 6 HMM states/);
    expect(wordsToPhones(['x', 'y'], new Map([['x', ['a']], ['y', ['b', 'a']]]))).toEqual(['a', 'b', 'a']);
    expect(() => wordsToPhones(['z'], new Map(), 'utt3')).toThrow(/utt3: word "z" has no pronunciation/);
  });
});
