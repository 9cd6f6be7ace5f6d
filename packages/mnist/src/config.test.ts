import { describe, expect, it } from 'vitest';
import { getPreset, PRESET_NAMES } from './config.js';
import { trainValidationSplit, takeSubset } from './data.js';

describe('presets', () => {
  it('all validate, and the paper preset has the paper architectures', () => {
    for (const n of PRESET_NAMES) expect(getPreset(n).name).toBe(n);
    const p = getPreset('paper');
    expect(p.teacher.net).toMatchObject({ hidden: [1200, 1200], inputDropout: 0.2, hiddenDropout: 0.5 });
    expect(p.teacher.jitter).toBe(2);
    expect(p.small.net.hidden).toEqual([800, 800]);
    expect(p.distilled.temperature).toBe(20);
    expect(p.sweep.map((g) => g.hidden)).toEqual(expect.arrayContaining([800, 30]));
  });

  it('rejects unknown presets and invalid overrides with the field named', () => {
    expect(() => getPreset('huge')).toThrow(/unknown preset "huge"; choose one of smoke, quick, paper/);
    expect(() => getPreset('smoke', { seed: -1 })).toThrow(/seed/);
    expect(() => getPreset('smoke', { teacher: { net: { hidden: [] }, jitter: 2, train: { epochs: 1, batchSize: 1, learningRate: 1 } } })).toThrow(
      /teacher\.net\.hidden/,
    );
  });
});

describe('validation split', () => {
  it('is seeded, disjoint, complete and sorted', () => {
    const a = trainValidationSplit(1000, 100, 5);
    const b = trainValidationSplit(1000, 100, 5);
    const c = trainValidationSplit(1000, 100, 6);
    expect(Array.from(a.validation)).toEqual(Array.from(b.validation));
    expect(Array.from(a.validation)).not.toEqual(Array.from(c.validation));
    expect(a.train.length + a.validation.length).toBe(1000);
    const all = new Set([...a.train, ...a.validation]);
    expect(all.size).toBe(1000);
    expect(Array.from(a.validation)).toEqual(Array.from(a.validation).sort((x, y) => x - y));
    // Random, not the last 100.
    expect(a.validation[0]).toBeLessThan(900);
    expect(() => trainValidationSplit(10, 10, 1)).toThrow(/validation size/);
    const s = takeSubset(a.train, 50, 1);
    expect(s.length).toBe(50);
    expect(s.every((i) => a.train.includes(i))).toBe(true);
    expect(takeSubset(a.train, undefined, 1)).toBe(a.train);
  });
});
