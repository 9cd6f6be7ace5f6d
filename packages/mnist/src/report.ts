import { formatDuration } from '@kdasr/core';
import { linePlotSpec, markdownTable, type Series, type VegaLiteSpec } from './plots.js';

/** One trained (or bias-adjusted) system and how it did on the test set. */
export interface StepResult {
  id: string;
  /** Human-readable description for the table. */
  system: string;
  kind: 'teacher' | 'small' | 'distilled' | 'sweep' | 'omit3' | 'omit3-bias' | 'only78' | 'only78-bias';
  hidden: number[];
  temperature?: number;
  testErrors: number;
  testCount: number;
  validationErrors: number;
  validationCount: number;
  /** The class left out of (or the classes making up) the transfer set, and the test errors on it. */
  omittedClass?: number;
  omittedErrors?: number;
  omittedCount?: number;
  /** Bias change chosen on validation, added to the output biases of biasClasses. */
  biasDelta?: number;
  biasClasses?: number[];
  /** The paper's figure for this row. */
  paper?: string;
  epochs: number;
  /** The epoch whose weights were kept (the best validation epoch under early stopping, else the last). */
  bestEpoch?: number;
  seconds: number;
  /** Per-epoch curves. */
  history: { epoch: number; trainLoss: number; validationError?: number }[];
}

export interface ExperimentSummary {
  preset: string;
  command: string;
  backend: string;
  threads?: number;
  /** Training engine: 'native' (C + OpenBLAS) or 'tfjs'; absent in reports written before engines existed. */
  engine?: string;
  totalSeconds: number;
  /** Wall time of the invocation that wrote the report. */
  wallSeconds?: number;
  dataSource: string;
  /** Which data set the files were recognised as, if any. */
  dataset?: 'mnist' | 'fashion-mnist';
  verification: string;
  sizes: { train: number; validation: number; test: number };
  steps: StepResult[];
}

// One duration format for every report and log line (@kdasr/core's progress module).
export { formatDuration };

function pct(e: number, n: number): string {
  return `${((100 * e) / n).toFixed(2)}%`;
}

/** Rows of the results table: system, test errors, errors on the omitted class, the paper's figure. */
export function tableRows(steps: StepResult[]): string[][] {
  const header = ['system', 'test errors', 'omitted class errors', 'bias change', 'paper'];
  const rows = steps.map((s) => [
    s.system,
    s.kind.startsWith('only78') ? `${s.testErrors} (${pct(s.testErrors, s.testCount)})` : `${s.testErrors} / ${s.testCount}`,
    s.omittedErrors !== undefined ? `${s.omittedErrors} / ${s.omittedCount}` : '',
    s.biasDelta !== undefined ? `${s.biasDelta > 0 ? '+' : ''}${s.biasDelta} on ${s.biasClasses!.join(',')}` : '',
    s.paper ?? '',
  ]);
  return [header, ...rows];
}

export function textTable(rows: string[][]): string {
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  const line = (r: string[]) => r.map((c, j) => (j === 0 ? c.padEnd(w[j]) : c.padStart(w[j]))).join('  ');
  return [line(rows[0]), w.map((n) => '-'.repeat(n)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** Validation-error curves of the main runs, and test errors against temperature for the sweep. */
export function curvesSpecs(steps: StepResult[]): { curves: VegaLiteSpec; sweep?: VegaLiteSpec } {
  const main = steps.filter((s) => ['teacher', 'small', 'distilled', 'omit3', 'only78'].includes(s.kind));
  const series: Series[] = main.map((s) => ({
    name: s.id,
    points: s.history.map((h) => [h.epoch, h.validationError === undefined ? NaN : 100 * h.validationError] as [number, number]),
  }));
  const curves = linePlotSpec(series, { title: 'Validation error during training', xLabel: 'epoch', yLabel: 'validation error (%)' });
  const sweepSteps = steps.filter((s) => s.kind === 'sweep');
  if (!sweepSteps.length) return { curves };
  const widths = [...new Set(sweepSteps.map((s) => s.hidden[0]))];
  const sweep = linePlotSpec(
    widths.map((w) => ({
      name: `${w}-${w} units`,
      points: sweepSteps
        .filter((s) => s.hidden[0] === w)
        .sort((a, b) => a.temperature! - b.temperature!)
        .map((s) => [s.temperature!, (100 * s.testErrors) / s.testCount] as [number, number]),
    })),
    { title: 'Distilled nets: test error against temperature', xLabel: 'temperature T', yLabel: 'test error (%)' },
  );
  return { curves, sweep };
}

export function resultsMarkdown(summary: ExperimentSummary, files: { curves: string; sweep?: string }): string {
  const lines = [
    `# MNIST distillation (Hinton, Vinyals & Dean 2015, §3): preset \`${summary.preset}\``,
    '',
    `- command: \`${summary.command}\``,
    `- run time: ${formatDuration(summary.totalSeconds)} of training and evaluation (sum of step times; steps reused from an earlier run count their original time)${summary.wallSeconds !== undefined ? `; this invocation ${formatDuration(summary.wallSeconds)} wall` : ''}`,
    ...(summary.engine ? [`- training engine: ${summary.engine}`] : []),
    `- backend: ${summary.backend}${summary.threads ? ` (${summary.threads} threads)` : ''}`,
    `- data: ${summary.dataSource}: ${summary.verification}`,
    `- examples: ${summary.sizes.train} train, ${summary.sizes.validation} validation (seeded split of the 60k training set), ${summary.sizes.test} test`,
    '',
    markdownTable(tableRows(summary.steps), ['l', 'r', 'r', 'r', 'r']),
    '',
    'Test errors are counts on the test set; bias changes were chosen on the validation set, never on the test set',
    '(the paper tuned its +3.5 and −7.6 on the test set). "paper" is the published figure for the full-size protocol.',
    ...(summary.dataset === 'mnist'
      ? []
      : ['', `**The data is ${summary.dataset === 'fashion-mnist' ? 'Fashion-MNIST' : 'not verified as MNIST'}: the paper column is for MNIST and only shows the protocol's reference points.**`]),
    '',
    `![validation curves](${files.curves})`,
  ];
  if (files.sweep) lines.push('', `![temperature sweep](${files.sweep})`);
  const timing = summary.steps.map((s) => [s.id, `${s.epochs}${s.bestEpoch !== undefined ? ` (${s.bestEpoch})` : ''}`, s.seconds.toFixed(1)]);
  lines.push('', markdownTable([['step', 'epochs (kept)', 'seconds'], ...timing], ['l', 'r', 'r']));
  return lines.join('\n') + '\n';
}
