import { describe, expect, it } from 'vitest';
import type { CoverageRow } from '@kdasr/specialists';
import { SPECIALISTS_PRESETS, SPECIALISTS_PRESET_NAMES, SPECIALISTS_TASK_NAMES, parseSpecialistsConfig, specialistsPreset } from './config.js';
import { specialistsTaskList } from './recipe.js';
import { foldCoverage } from './report.js';

describe('specialists recipe config', () => {
  it('every preset of every task validates, with the defaults filled in', () => {
    for (const p of SPECIALISTS_PRESET_NAMES)
      for (const t of SPECIALISTS_TASK_NAMES) {
        const c = specialistsPreset(p, t);
        expect(c.task).toBe(t);
        expect(c.data.kind).toBe(t);
        expect(c.name).toBe(p);
        expect(c.combine).toEqual({ topN: 1, gradTolerance: 1e-9, maxIterations: 2000 });
        expect(c.specialists.processes).toBe('in-process');
        expect(c.distilBack.temperature).toBe(2);
        expect(c.softSpecialists.correction).toBe('calibrated');
      }
  });

  it('names what is wrong and where the presets are', () => {
    const base = SPECIALISTS_PRESETS.smoke.synthetic;
    expect(() => specialistsPreset('huge', 'speech')).toThrow(/unknown specialists preset "huge"; choose one of smoke, quick, medium/);
    expect(() => specialistsPreset('quick', 'cifar')).toThrow(/unknown specialists task "cifar"/);
    expect(() => parseSpecialistsConfig({ ...base, task: 'speech' })).toThrow(/task speech with data of kind synthetic/);
    expect(() => parseSpecialistsConfig({ ...base, clusterings: [{ method: 'spectral', maxSpecialists: 2 }] })).toThrow(/clusterings\.0: give exactly one of k and targetSize/);
    expect(() => parseSpecialistsConfig({ ...base, generalist: { ...base.generalist, epochs: 0 } })).toThrow(/generalist\.epochs: .*SPECIALISTS_PRESETS/);
    expect(() => parseSpecialistsConfig({ ...base, bogus: 1 })).toThrow(/Unrecognized key/);
  });

  it("--task all means speech and mnist-pairs; synthetic only by name", () => {
    expect(specialistsTaskList('all')).toEqual(['speech', 'mnist-pairs']);
    expect(specialistsTaskList('synthetic')).toEqual(['synthetic']);
    expect(() => specialistsTaskList('cifar' as never)).toThrow(/--task must be one of speech, mnist-pairs, synthetic, all/);
  });
});

describe('Table 4 folding', () => {
  it('folds coverage counts of 10 or more into one row like the paper, recomputing the relative change', () => {
    const row = (specialists: number, examples: number, g: number, k: number): CoverageRow => ({
      specialists,
      examples,
      generalistCorrect: g,
      combinedCorrect: k,
      deltaCorrect: k - g,
      relativeChange: g ? (k - g) / g : NaN,
    });
    const folded = foldCoverage([row(0, 50, 20, 20), row(3, 10, 4, 5), row(10, 6, 2, 3), row(12, 4, 2, 4)]);
    expect(folded).toEqual([
      { specialists: '0', examples: 50, deltaCorrect: 0, relativeChange: 0 },
      { specialists: '3', examples: 10, deltaCorrect: 1, relativeChange: 0.25 },
      { specialists: '10 or more', examples: 10, deltaCorrect: 3, relativeChange: 0.75 },
    ]);
  });
});
