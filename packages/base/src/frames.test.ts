import { describe, expect, it } from 'vitest';
import { frameCenterSec, frameStartSample, numFrames, samplesToSeconds, secondsToSamples, timeToFrame, windowLengthSamples, windowShiftSamples } from './frames.js';

const k16 = { frameLengthMs: 25, frameShiftMs: 10, sampleRateHz: 16000, snipEdges: true };
const k16n = { ...k16, snipEdges: false };

describe('frames (Kaldi NumFrames / FirstSampleOfFrame)', () => {
  it('window sizes truncate like Kaldi', () => {
    expect(windowLengthSamples(k16)).toBe(400);
    expect(windowShiftSamples(k16)).toBe(160);
    expect(windowLengthSamples({ frameLengthMs: 25, sampleRateHz: 8000 })).toBe(200);
    // 22050 * 0.001 * 25 = 551.25 -> 551
    expect(windowLengthSamples({ frameLengthMs: 25, sampleRateHz: 22050 })).toBe(551);
  });

  it('snipEdges=true: 1 + (n - len) / shift, 0 when shorter than a window', () => {
    expect(numFrames(0, k16)).toBe(0);
    expect(numFrames(399, k16)).toBe(0);
    expect(numFrames(400, k16)).toBe(1);
    expect(numFrames(559, k16)).toBe(1);
    expect(numFrames(560, k16)).toBe(2);
    expect(numFrames(16000, k16)).toBe(98);
  });

  it('snipEdges=false: (n + shift/2) / shift', () => {
    expect(numFrames(0, k16n)).toBe(0);
    expect(numFrames(79, k16n)).toBe(0);
    expect(numFrames(80, k16n)).toBe(1);
    expect(numFrames(16000, k16n)).toBe(100);
    expect(numFrames(16079, k16n)).toBe(100);
    expect(numFrames(16080, k16n)).toBe(101);
  });

  it('frame start samples', () => {
    expect(frameStartSample(0, k16)).toBe(0);
    expect(frameStartSample(3, k16)).toBe(480);
    // snipEdges=false: centre at t*160 + 80, start = centre - 200
    expect(frameStartSample(0, k16n)).toBe(-120);
    expect(frameStartSample(5, k16n)).toBe(5 * 160 + 80 - 200);
  });

  it('frame centre and time -> frame are inverse', () => {
    expect(frameCenterSec(0, k16)).toBeCloseTo(0.0125, 9);
    expect(frameCenterSec(0, k16n)).toBeCloseTo(0.005, 9);
    for (const o of [k16, k16n]) {
      for (const t of [0, 1, 7, 98, 1234]) expect(timeToFrame(frameCenterSec(t, o), o)).toBe(t);
      // a time just past the midpoint between two centres rounds to the later frame
      expect(timeToFrame(frameCenterSec(10, o) + 0.0051, o)).toBe(11);
    }
    expect(timeToFrame(-1, k16)).toBe(0);
  });

  it('samples <-> seconds', () => {
    expect(secondsToSamples(1.5, 16000)).toBe(24000);
    expect(samplesToSeconds(8000, 16000)).toBeCloseTo(0.5, 12);
  });

  it('rejects nonsense', () => {
    expect(() => numFrames(-1, k16)).toThrow(/non-negative/);
    expect(() => numFrames(10, { ...k16, sampleRateHz: 0 })).toThrow(/sampleRateHz/);
    expect(() => numFrames(10, { ...k16, frameShiftMs: 0.01 })).toThrow(/under one sample/);
  });
});
