import { describe, expect, it } from 'vitest';
import { ASR_PRESET_NAMES, asrPreset, parseAsrConfig } from './config.js';
import { smallDataIndices, studentSpecs } from './systems.js';

describe('asr recipe config', () => {
  it('every preset parses; medium has 10 members and the paper\u2019s temperatures', () => {
    for (const p of ASR_PRESET_NAMES) expect(asrPreset(p).name).toBe(p);
    const m = asrPreset('medium');
    expect(m.ensemble.members).toBe(10);
    expect(m.distillation.temperatures).toEqual([1, 2, 5, 10]);
    expect(m.distillation.hardWeight).toBe(0.5);
    const paper = asrPreset('paper');
    expect([paper.model.hiddenLayers, paper.model.hiddenUnits, paper.model.contextLeft + 1 + paper.model.contextRight, paper.labels.treeLeaves]).toEqual([8, 2560, 26, 14000]);
  });

  it('names the field and the fix on a bad config', () => {
    expect(() => asrPreset('quick', { model: { hiddenUnits: -3 } })).toThrow(/model\.hiddenUnits: .*see ASR_PRESETS/);
    expect(() => parseAsrConfig({ ...asrPreset('quick'), extra: 1 })).toThrow(/Unrecognized key/);
    expect(() => asrPreset('huge')).toThrow(/unknown asr preset "huge"; choose one of smoke, quick, medium, paper, fsdd/);
    expect(() => asrPreset('fsdd', { corpus: { kind: 'fsdd', devFraction: 1.5 } })).toThrow(/corpus/);
  });

  it('fsdd: whole-word models on the recorded digits; another corpus kind replaces the preset’s corpus', () => {
    const f = asrPreset('fsdd');
    expect(f.corpus).toEqual({ kind: 'fsdd', devFraction: 0.1, digitsPerUtterance: [3, 7] });
    expect([f.labels.statesPerPhone, f.labels.treeLeaves, f.labels.realign]).toEqual([8, null, { passes: 2, epochs: 5, acousticScale: 1 }]);
    expect(() => asrPreset('medium', { labels: { realign: { passes: 1, epochs: 2 } } })).toThrow(/labels\.realign works on monophone .*set labels\.treeLeaves to null/);
    const s = asrPreset('smoke', { corpus: { kind: 'fsdd', dir: '/x' } });
    expect(s.corpus).toEqual({ kind: 'fsdd', dir: '/x', devFraction: 0.1, digitsPerUtterance: [3, 7] });
    // Same kind: merged field by field, as for every other section.
    expect(asrPreset('smoke', { corpus: { speakers: 9 } }).corpus).toMatchObject({ speakers: 9, utterancesPerSpeaker: 3 });
  });

  it('lists the students Table 1, the ablations and Table 5 need', () => {
    const names = studentSpecs(asrPreset('quick')).map((s) => s.name);
    expect(names).toEqual(['distilled-T1', 'distilled-T2', 'distilled-T5', 'distilled-T10', 'ablation-no-T2', 'ablation-geometric', 'ablation-soft-only', 'ablation-logit-matching', 'ablation-top10', 'small-hard', 'small-soft']);
    const off = studentSpecs(asrPreset('quick', { ablations: { enabled: false }, smallData: { enabled: false } }));
    expect(off.every((s) => s.group === 'temperature')).toBe(true);
    // An ablation temperature outside the sweep adds its own reference student.
    expect(studentSpecs(asrPreset('quick', { ablations: { temperature: 3 } })).some((s) => s.name === 'distilled-T3')).toBe(true);
  });

  it('draws the small-data frames deterministically, sorted, without repeats', () => {
    const a = smallDataIndices(10000, 0.03, 1);
    expect(a.length).toBe(300);
    expect(Array.from(a)).toEqual(Array.from(smallDataIndices(10000, 0.03, 1)));
    expect(new Set(a).size).toBe(300);
    expect(Array.from(a).every((v, i) => i === 0 || v > a[i - 1])).toBe(true);
    expect(Array.from(smallDataIndices(10000, 0.03, 2))).not.toEqual(Array.from(a));
  });
});
