import { describe, expect, it } from 'vitest';
import { Rng } from '@kdasr/core';
import { activePower, applyCondition, convolve, mixAtSnr, pinkNoise, power, syntheticRir, whiteNoise } from './conditions.js';

function bursts(n: number): Float32Array {
  // Speech-like: tone bursts separated by silences (so active power differs from mean power).
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = Math.floor(i / 4000) % 2 === 0 ? 0.5 * Math.sin(i * 0.07) : 0;
  return x;
}

describe('acoustic conditions', () => {
  it('mixes noise at the requested SNR (speech-active power over noise power)', () => {
    const s = bursts(32000);
    for (const snr of [0, 7.5, 20]) {
      const noise = whiteNoise(32000, new Rng(1));
      const y = mixAtSnr(s, noise, snr);
      const added = new Float32Array(y.length);
      for (let i = 0; i < y.length; i++) added[i] = y[i] - s[i];
      expect(10 * Math.log10(activePower(s) / power(added))).toBeCloseTo(snr, 2);
    }
  });

  it('synthetic RIRs decay by 60 dB over RT60', () => {
    for (const rt60 of [0.3, 0.6]) {
      const h = syntheticRir(rt60, 16000, new Rng(2));
      expect(h[0]).toBe(1);
      // Energy in 20 ms windows at 0.05 s and at 0.05 s + rt60/2: 30 dB apart.
      const e = (t0: number) => {
        let s = 0;
        for (let i = Math.round(t0 * 16000); i < Math.round((t0 + 0.02) * 16000); i++) s += h[i] * h[i];
        return s;
      };
      expect(10 * Math.log10(e(0.05) / e(0.05 + rt60 / 2))).toBeGreaterThan(25);
      expect(10 * Math.log10(e(0.05) / e(0.05 + rt60 / 2))).toBeLessThan(35);
    }
  });

  it('FFT convolution equals direct convolution', () => {
    const rng = new Rng(3);
    const x = Float32Array.from({ length: 300 }, () => rng.normal());
    const h = Float32Array.from({ length: 37 }, () => rng.normal());
    const y = convolve(x, h);
    for (const n of [0, 5, 36, 150, 299]) {
      let d = 0;
      for (let k = 0; k < h.length && k <= n; k++) d += x[n - k] * h[k];
      expect(y[n]).toBeCloseTo(d, 3);
    }
  });

  it('pink noise has more low-frequency power than white; conditions are reproducible from the seed', () => {
    const p = pinkNoise(1 << 14, new Rng(4));
    // Lag-1 autocorrelation: near 0 for white noise, high for 1/f noise.
    const ac = (x: Float32Array) => {
      let a = 0,
        b = 0;
      for (let i = 1; i < x.length; i++) (a += x[i] * x[i - 1]), (b += x[i] * x[i]);
      return a / b;
    };
    expect(ac(p)).toBeGreaterThan(0.5);
    expect(Math.abs(ac(whiteNoise(1 << 14, new Rng(4))))).toBeLessThan(0.05);
    const s = bursts(16000);
    const c = { noise: 'babble' as const, snrDb: 5, rt60Sec: 0.4 };
    const pool = [bursts(9000), whiteNoise(7000, new Rng(9))];
    const a = applyCondition(s, c, { sampleRateHz: 16000, rng: new Rng(7), babblePool: pool });
    const b = applyCondition(s, c, { sampleRateHz: 16000, rng: new Rng(7), babblePool: pool });
    expect(b).toEqual(a);
    expect(() => applyCondition(s, c, { sampleRateHz: 16000, rng: new Rng(7) })).toThrow(/babble pool is empty/);
  });
});
