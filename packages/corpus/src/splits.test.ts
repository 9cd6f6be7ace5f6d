import { describe, expect, it } from 'vitest';
import { selectSplit, splitBySpeaker } from './splits.js';

const speakers = Array.from({ length: 40 }, (_, i) => `spk${String(i).padStart(3, '0')}`);

describe('speaker splits', () => {
  it('are disjoint, cover every speaker, and have the requested sizes', () => {
    const s = splitBySpeaker(speakers, { seed: 7, dev: 4, test: 0.1 });
    expect(s.dev).toHaveLength(4);
    expect(s.test).toHaveLength(4);
    expect(s.train).toHaveLength(32);
    const all = [...s.train, ...s.dev, ...s.test];
    expect(new Set(all).size).toBe(40);
    expect(all.sort()).toEqual(speakers);
  });

  it('are reproducible from the seed, whatever order the speakers come in, and change with the seed', () => {
    const a = splitBySpeaker(speakers, { seed: 7, dev: 4, test: 4 });
    const b = splitBySpeaker([...speakers].reverse().concat(speakers), { seed: 7, dev: 4, test: 4 });
    expect(b).toEqual(a);
    const c = splitBySpeaker(speakers, { seed: 8, dev: 4, test: 4 });
    expect(c.test).not.toEqual(a.test);
  });

  it('select supervisions by speaker and refuse impossible sizes', () => {
    const s = splitBySpeaker(speakers, { seed: 1, dev: 2, test: 2 });
    const sups = speakers.map((speaker, i) => ({ id: `u${i}`, speaker }));
    const test = selectSplit(sups, s, 'test');
    expect(test.map((x) => x.speaker).sort()).toEqual(s.test);
    expect(() => splitBySpeaker(['a', 'b'], { seed: 1, dev: 1, test: 1 })).toThrow(/2 speakers cannot give 1 dev \+ 1 test/);
  });
});
