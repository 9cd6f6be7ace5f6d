import { describe, expect, it } from 'vitest';
import { formatDuration, resultsMarkdown, tableRows, textTable, type ExperimentSummary, type StepResult } from './report.js';
import { markdownTable } from './plots.js';

const step = (over: Partial<StepResult>): StepResult => ({
  id: 'small',
  system: 'small net',
  kind: 'small',
  hidden: [8, 8],
  testErrors: 146,
  testCount: 10000,
  validationErrors: 10,
  validationCount: 1000,
  paper: '146',
  epochs: 3,
  seconds: 1.5,
  history: [
    { epoch: 1, trainLoss: 1, validationError: 0.1 },
    { epoch: 2, trainLoss: 0.5, validationError: 0.05 },
  ],
  ...over,
});

describe('report', () => {
  const steps = [
    step({}),
    step({ id: 'omit3-bias', kind: 'omit3-bias', system: '  + bias', testErrors: 109, omittedClass: 3, omittedErrors: 14, omittedCount: 1010, biasDelta: 3.5, biasClasses: [3], paper: '109 | x' }),
    step({ id: 'only78', kind: 'only78', system: '7s and 8s', testErrors: 4730, paper: '47.3%' }),
  ];

  it('formats rows with omitted-class errors, bias changes and error rates', () => {
    const rows = tableRows(steps);
    expect(rows[0]).toEqual(['system', 'test errors', 'omitted class errors', 'bias change', 'paper']);
    expect(rows[1]).toEqual(['small net', '146 / 10000', '', '', '146']);
    expect(rows[2]).toEqual(['  + bias', '109 / 10000', '14 / 1010', '+3.5 on 3', '109 | x']);
    expect(rows[3][1]).toBe('4730 (47.30%)');
    const text = textTable(rows).split('\n');
    expect(new Set(text.filter((l) => !l.startsWith('-')).map((l) => l.length)).size).toBe(1);
    expect(markdownTable(rows)).toContain('109 \\| x');
  });

  it('writes results.md with the command, run time, backend and a non-MNIST warning', () => {
    const summary: ExperimentSummary = {
      preset: 'quick',
      command: 'kdasr experiment mnist --preset quick',
      backend: 'wasm',
      threads: 2,
      totalSeconds: 125,
      wallSeconds: 130,
      dataSource: '/d',
      dataset: 'fashion-mnist',
      verification: 'verified',
      sizes: { train: 1, validation: 2, test: 3 },
      steps,
    };
    const md = resultsMarkdown(summary, { curves: 'curves.svg' });
    expect(md).toContain('- command: `kdasr experiment mnist --preset quick`');
    expect(md).toContain('- run time: 2m05s');
    expect(md).toContain('- backend: wasm (2 threads)');
    expect(md).toContain('Fashion-MNIST: the paper column is for MNIST');
    expect(md).toContain('![validation curves](curves.svg)');
    expect(md).not.toContain('sweep.svg');
    expect(resultsMarkdown({ ...summary, dataset: 'mnist' }, { curves: 'c.svg' })).not.toContain('paper column is for MNIST');
  });

  it('formats durations', () => {
    expect(formatDuration(5.4)).toBe('5s');
    expect(formatDuration(942)).toBe('15m42s');
    expect(formatDuration(3 * 3600 + 120)).toBe('3h02m');
  });
});
