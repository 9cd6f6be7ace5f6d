/**
 * RESULTS.md, results.json and SVG plots of the specialists recipe: Tables 2-4 beside the paper's (JFT) numbers,
 * the beyond-the-paper comparisons, run time and provenance.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Provenance } from '@kdasr/core';
import { linePlotSpec, writePlot, type Series, type VegaLiteSpec } from '@kdasr/mnist';
import type { CoverageRow, SpecialistMetrics } from '@kdasr/specialists';
import type { SpecialistsRecipeConfig } from './config.js';
import type {
  ClustersResult,
  CombineResult,
  DataResult,
  GeneralistResult,
  SingleModelResult,
  SoftResult,
  SpecialistsResult,
} from './results.js';

export interface TaskResults {
  task: string;
  preset: string;
  /** The command line of the invocation that wrote this report, where known. */
  command?: string;
  /** The command lines that ran the stages shown (several when a run was resumed or partly redone). */
  commands?: { command: string; stages: string[] }[];
  config: SpecialistsRecipeConfig;
  data: DataResult;
  generalist: GeneralistResult;
  clusters: ClustersResult;
  specialists: SpecialistsResult;
  combine: CombineResult;
  baseline?: SingleModelResult | { enabled: false };
  distilBack?: SingleModelResult | { enabled: false };
  soft?: SoftResult;
  stages: { name: string; seconds: number; finishedAt?: string }[];
  totalSeconds: number;
  engine?: { kind: 'native' | 'tfjs'; reason?: string; blasThreads?: number };
  runtime: { backend: string; threads: number; patchedKernels: boolean };
  provenance: Provenance;
}

// ---------------------------------------------------------------------------------------------------------------
// The paper's numbers (Hinton, Vinyals & Dean 2015, §5, JFT: 100 M images, 15,000 classes).

/** Table 2: example classes from three covariance clusters. */
export const SPECIALISTS_PAPER_TABLE2 = [
  'Tea party; Easter; Bridal shower; Baby shower; Easter Bunny; ...',
  'Bridge; Cable-stayed bridge; Suspension bridge; Viaduct; Chimney; ...',
  'Toyota Corolla E100; Opel Signum; Opel Astra; Mazda Familia; Toyota Corolla Verso; Toyota Corolla; Citroën Xsara Picasso; ...',
];

/** Table 3: the baseline and the baseline + 61 specialists. */
export const SPECIALISTS_PAPER_TABLE3 = {
  baseline: { conditionalAccuracy: 0.431, accuracy: 0.25 },
  specialists: { count: 61, conditionalAccuracy: 0.459, accuracy: 0.261 },
};

/** Table 4: test examples grouped by the number of specialists covering the correct class. */
export const SPECIALISTS_PAPER_TABLE4: { specialists: string; examples: number; deltaCorrect: number; relativeChange: number }[] = [
  { specialists: '0', examples: 350037, deltaCorrect: 0, relativeChange: 0 },
  { specialists: '1', examples: 141993, deltaCorrect: 1421, relativeChange: 0.034 },
  { specialists: '2', examples: 67161, deltaCorrect: 1572, relativeChange: 0.074 },
  { specialists: '3', examples: 38801, deltaCorrect: 1124, relativeChange: 0.088 },
  { specialists: '4', examples: 26298, deltaCorrect: 835, relativeChange: 0.105 },
  { specialists: '5', examples: 16474, deltaCorrect: 561, relativeChange: 0.111 },
  { specialists: '6', examples: 10682, deltaCorrect: 362, relativeChange: 0.113 },
  { specialists: '7', examples: 7376, deltaCorrect: 232, relativeChange: 0.128 },
  { specialists: '8', examples: 4703, deltaCorrect: 182, relativeChange: 0.136 },
  { specialists: '9', examples: 4706, deltaCorrect: 208, relativeChange: 0.166 },
  { specialists: '10 or more', examples: 9082, deltaCorrect: 324, relativeChange: 0.141 },
];

// ---------------------------------------------------------------------------------------------------------------
// Formatting helpers.

export function pct(x: number | undefined, digits = 2): string {
  return x === undefined || !Number.isFinite(x) ? 'n/a' : `${(100 * x).toFixed(digits)}%`;
}

function points(delta: number): string {
  return Number.isFinite(delta) ? `${delta >= 0 ? '+' : ''}${(100 * delta).toFixed(2)}` : 'n/a';
}

function signed(n: number): string {
  return `${n >= 0 ? '+' : ''}${n}`;
}

function relative(x: number): string {
  return Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%` : 'n/a';
}

function duration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  if (sec < 60) return `${sec.toFixed(1)} s`;
  const m = Math.floor(sec / 60);
  const s = Math.round(sec % 60);
  return m >= 60 ? `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min` : `${m} min ${String(s).padStart(2, '0')} s`;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

function int(n: number): string {
  return n.toLocaleString('en-US');
}

/** Our Table-4 rows folded like the paper's (counts of 10 or more in one row). */
export function foldCoverage(rows: readonly CoverageRow[], foldAt = 10): { specialists: string; examples: number; deltaCorrect: number; relativeChange: number }[] {
  const out: { specialists: string; examples: number; deltaCorrect: number; relativeChange: number; g: number }[] = [];
  let tail: { examples: number; g: number; k: number } | undefined;
  for (const r of rows) {
    if (r.specialists >= foldAt) {
      tail ??= { examples: 0, g: 0, k: 0 };
      tail.examples += r.examples;
      tail.g += r.generalistCorrect;
      tail.k += r.combinedCorrect;
    } else
      out.push({ specialists: String(r.specialists), examples: r.examples, deltaCorrect: r.deltaCorrect, relativeChange: r.relativeChange, g: r.generalistCorrect });
  }
  if (tail) out.push({ specialists: `${foldAt} or more`, examples: tail.examples, deltaCorrect: tail.k - tail.g, relativeChange: tail.g > 0 ? (tail.k - tail.g) / tail.g : NaN, g: tail.g });
  return out.map(({ g: _g, ...r }) => r);
}

function enabled(r: SingleModelResult | { enabled: false } | undefined): SingleModelResult | undefined {
  return r && r.enabled ? (r as SingleModelResult) : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Tables.

export function table2(r: TaskResults): string {
  const rows = [...r.clusters.chosen].sort((a, b) => b.score - a.score).slice(0, r.config.table2Rows);
  const lines = [
    '**Paper (JFT, covariance clustering of 15,000 classes):**',
    '',
    ...SPECIALISTS_PAPER_TABLE2.map((t) => `- ${t}`),
    '',
    `**Ours (${r.task}, ${r.data.numClasses} classes): the ${rows.length} most confusable of the ${r.clusters.chosen.length} subsets that got a specialist** (method, size, share of training examples, classes):`,
    '',
  ];
  for (const ch of rows) {
    const names = ch.names.slice(0, 12).join('; ') + (ch.names.length > 12 ? `; ... (${ch.names.length - 12} more)` : '');
    lines.push(`- ${ch.method}, ${ch.subset.length} classes, ${pct(ch.trainShare, 1)} of training examples: ${names}`);
  }
  return lines.join('\n');
}

export function table3(r: TaskResults): string {
  const c = r.combine.methods;
  const e = c.eq5!;
  const m = r.specialists.specialists.length;
  const lines = [
    '| System | Conditional test accuracy | Test accuracy |',
    '| --- | --- | --- |',
    `| Paper: baseline (JFT) | ${pct(SPECIALISTS_PAPER_TABLE3.baseline.conditionalAccuracy, 1)} | ${pct(SPECIALISTS_PAPER_TABLE3.baseline.accuracy, 1)} |`,
    `| Paper: + ${SPECIALISTS_PAPER_TABLE3.specialists.count} specialist models | ${pct(SPECIALISTS_PAPER_TABLE3.specialists.conditionalAccuracy, 1)} | ${pct(SPECIALISTS_PAPER_TABLE3.specialists.accuracy, 1)} |`,
    `| Ours: generalist | ${pct(e.conditional.generalistAccuracy)} | ${pct(e.generalistAccuracy)} |`,
    `| Ours: + ${m} specialist models (Eq. 5) | ${pct(e.conditional.combinedAccuracy)} | ${pct(e.combinedAccuracy)} |`,
  ];
  for (const k of ['arithmetic', 'geometric'] as const) {
    const x = c[k];
    if (x) lines.push(`| Ours: + ${m} specialists, ${k} mean instead of Eq. 5 | ${pct(x.conditional.combinedAccuracy)} | ${pct(x.combinedAccuracy)} |`);
  }
  lines.push(
    '',
    `Conditional accuracy counts the ${int(e.conditional.examples)} of ${int(e.examples)} test examples whose correct class is in at least one specialist's subset (${r.clusters.coveredClasses} of ${r.data.numClasses} classes are covered).`,
  );
  return lines.join('\n');
}

export function table4(r: TaskResults): string {
  const ours = foldCoverage(r.combine.methods.eq5!.byCoverage);
  const keys = [...new Set([...SPECIALISTS_PAPER_TABLE4.map((p) => p.specialists), ...ours.map((o) => o.specialists)])];
  const order = (k: string) => (k.includes('or more') ? 1e9 : Number(k));
  keys.sort((a, b) => order(a) - order(b));
  const lines = [
    '| # of specialists covering | Paper: # of test examples | Paper: delta in top-1 correct | Paper: relative accuracy change | Ours: # of test examples | Ours: delta in top-1 correct | Ours: relative accuracy change |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const k of keys) {
    const p = SPECIALISTS_PAPER_TABLE4.find((x) => x.specialists === k);
    const o = ours.find((x) => x.specialists === k);
    lines.push(
      `| ${k} | ${p ? int(p.examples) : ''} | ${p ? signed(p.deltaCorrect) : ''} | ${p ? relative(p.relativeChange) : ''} | ${o ? int(o.examples) : '0'} | ${o ? signed(o.deltaCorrect) : ''} | ${o ? relative(o.relativeChange) : ''} |`,
    );
  }
  return lines.join('\n');
}

interface BeyondRow {
  system: string;
  accuracy: number;
  conditional: number;
  delta: number;
  compute: string;
}

/** Eq. 5 cap hits outside the combine stage (distilling back, soft-target specialists), as a sentence or ''. */
export function capHitsElsewhere(r: TaskResults): string {
  const parts: string[] = [];
  const t = enabled(r.distilBack)?.teacher;
  if (t?.notConverged !== undefined && t.method === 'eq5') parts.push(`the distil-back teacher ${int(t.notConverged)} of ${int(t.rowsComputed)} training rows it computed`);
  const s = r.soft?.enabled ? r.soft.eq5NotConverged : undefined;
  if (s) parts.push(`soft-target specialists ${int(s.soft)} and re-calibrated hard specialists ${int(s.hardCalibrated)} test examples`);
  return parts.length ? ` Cap hits elsewhere: ${parts.join('; ')}.` : '';
}

export function beyondRows(r: TaskResults): BeyondRow[] {
  const n = r.data.sizes.train;
  const e = r.combine.methods.eq5!;
  const g = e.generalistAccuracy;
  const genPasses = r.generalist.examplesSeen;
  const passes = (x: number) => `${int(Math.round(x))} (${(x / n).toFixed(1)} epochs)`;
  const rows: BeyondRow[] = [
    { system: 'Generalist', accuracy: g, conditional: e.conditional.generalistAccuracy, delta: 0, compute: passes(genPasses) },
  ];
  const specPasses = r.specialists.totalExamplesSeen;
  rows.push({
    system: `Generalist + ${r.specialists.specialists.length} specialists, Eq. 5 (the paper's system)`,
    accuracy: e.combinedAccuracy,
    conditional: e.conditional.combinedAccuracy,
    delta: e.combinedAccuracy - g,
    compute: `${passes(genPasses + specPasses)}; specialists ${passes(specPasses)}`,
  });
  const b = enabled(r.baseline);
  if (b)
    rows.push({
      system: `Compute-matched generalist: + ${b.epochs} epoch(s) of hard-label training (the specialists' ${b.extraEpochsExact?.toFixed(2)} epochs of examples)`,
      accuracy: b.metrics.combinedAccuracy,
      conditional: b.metrics.conditional.combinedAccuracy,
      delta: b.metrics.combinedAccuracy - g,
      compute: passes(genPasses + b.examplesSeen),
    });
  const d = enabled(r.distilBack);
  if (d) {
    rows.push({
      system: `Distilled back: one generalist-shaped model trained ${d.epochs} epoch(s) on the system's ${d.teacher?.method ?? 'eq5'} distribution at T = ${d.teacher?.temperature}`,
      accuracy: d.metrics.combinedAccuracy,
      conditional: d.metrics.conditional.combinedAccuracy,
      delta: d.metrics.combinedAccuracy - g,
      compute: `${passes(genPasses + specPasses + d.examplesSeen)} (+ teacher passes)`,
    });
    const byEpoch = b?.testAccuracyByEpoch;
    if (byEpoch && d.epochs <= byEpoch.length && d.epochs !== b!.epochs)
      rows.push({
        system: `Compute-matched generalist after ${d.epochs} epoch(s) (the distilled model's extra training)`,
        accuracy: byEpoch[d.epochs - 1],
        conditional: NaN,
        delta: byEpoch[d.epochs - 1] - g,
        compute: passes(genPasses + d.epochs * n),
      });
  }
  const s = r.soft;
  if (s?.enabled && s.hardCalibratedMetrics && s.softMetrics) {
    rows.push({
      system: 'Hard-target specialists, dustbin offset re-fitted on dev, Eq. 5',
      accuracy: s.hardCalibratedMetrics.combinedAccuracy,
      conditional: s.hardCalibratedMetrics.conditional.combinedAccuracy,
      delta: s.hardCalibratedMetrics.combinedAccuracy - g,
      compute: passes(genPasses + specPasses),
    });
    const sc = r.config.softSpecialists;
    rows.push({
      system: `Specialists with the generalist's soft targets (§6.1: T = ${sc.temperature}, soft ${sc.softWeight} + hard ${sc.hardWeight}; dustbin ${sc.correction}), Eq. 5`,
      accuracy: s.softMetrics.combinedAccuracy,
      conditional: s.softMetrics.conditional.combinedAccuracy,
      delta: s.softMetrics.combinedAccuracy - g,
      compute: `${passes(genPasses + (s.soft?.totalExamplesSeen ?? 0))} (+ teacher passes)`,
    });
  }
  return rows;
}

export function beyondTable(r: TaskResults): string {
  const lines = [
    '| System | Test accuracy | Conditional test accuracy | Change vs generalist (points) | Training compute (example passes) |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const x of beyondRows(r)) lines.push(`| ${cell(x.system)} | ${pct(x.accuracy)} | ${pct(x.conditional)} | ${x.system === 'Generalist' ? '' : points(x.delta)} | ${x.compute} |`);
  return lines.join('\n');
}

function stageTable(r: TaskResults): string {
  const lines = ['| stage | time |', '| --- | --- |'];
  for (const s of r.stages)
    lines.push(`| ${s.name} | ${Number.isFinite(s.seconds) ? duration(s.seconds) : s.name === 'report' ? '(this stage)' : '(not run)'} |`);
  lines.push(`| **total** | **${duration(r.totalSeconds)}** |`);
  return lines.join('\n');
}

function engineLine(r: TaskResults): string {
  const e = r.engine;
  const eng = e ? (e.kind === 'native' ? `native (C + OpenBLAS, ${e.blasThreads} BLAS thread(s))` : `tfjs (${e.reason ?? 'requested'})`) : 'unknown';
  return `training engine ${eng}; tfjs backend ${r.runtime.backend} (${r.runtime.threads} thread(s)${r.runtime.patchedKernels ? ', patched matMul kernels' : ''}); kdasr ${r.provenance.kdasrVersion}, commit ${r.provenance.gitCommit}, node ${r.provenance.versions.node}`;
}

/** One task's section (RESULTS.md of the task, and a section of the top-level file). */
export function renderTaskReport(r: TaskResults, options: { plotPrefix: string; headingLevel?: number }): string {
  const level = options.headingLevel ?? 1;
  const h = '#'.repeat(level);
  const commandLines =
    level !== 1
      ? []
      : r.commands && r.commands.length > 1
        ? ['Commands (each with the stages it last ran):', '', ...r.commands.map((c) => `- \`${c.command}\`: ${c.stages.join(', ')}`), '']
        : r.commands?.length || r.command
          ? [`Command: \`${r.commands?.[0]?.command ?? r.command}\``, '']
          : [];
  const e = r.combine.methods.eq5!;
  const q = r.combine.eq5;
  const c = r.config;
  const lines = [
    `${h} Generalist and specialists (§5), task ${r.task}, preset ${r.preset}`,
    '',
    ...commandLines,
    `Task: ${r.data.description}.`,
    '',
    `Generalist ${r.data.inputDim}-${c.generalist.hiddenSizes.join('-')}-${r.data.numClasses} (dropout ${c.generalist.dropout}), ${c.generalist.epochs} epochs of Adam (lr ${c.generalist.learningRate}); ${r.specialists.specialists.length} specialists of the same shape with |S| + 1 outputs, initialised from it, ${c.specialists.epochs} epochs each on batches half from their subset (dustbin correction ${c.specialists.correction}); combination with the generalist's top-${r.combine.topN} activating specialists.`,
    '',
    `Run time ${duration(r.totalSeconds)}; ${engineLine(r)}.`,
    '',
    `${h}# Table 2: example clusters`,
    '',
    table2(r),
    '',
    `${h}# Table 3: accuracy`,
    '',
    table3(r),
    '',
    `${h}# Table 4: gain by the number of specialists covering the correct class (Eq. 5)`,
    '',
    table4(r),
    '',
    `![Relative accuracy change against the number of specialists covering the correct class](${options.plotPrefix}gain-by-coverage.svg)`,
    '',
    `${h}# Beyond the paper`,
    '',
    beyondTable(r),
    '',
    'The compute-matched generalist starts from the generalist\u2019s weights and trains on all classes with the specialists\u2019 optimiser settings for as many example passes as all specialists together (rounded to whole epochs); if it gains as much as the specialists, their gain is extra training rather than specialisation. Conditional accuracy for single models is over the same covered examples.',
    '',
    `${h}# Eq. 5 solver`,
    '',
    `Convergence criterion: ${q.criterion} (gradTolerance ${q.gradTolerance}, maxIterations ${q.maxIterations}). ${int(q.withActive)} of ${int(e.examples)} test examples had at least one active specialist (mean ${q.meanActive.toFixed(2)} active per example); mean ${q.meanIterations.toFixed(1)} iterations (max ${q.maxIterations_}) per such example; ${q.notConverged} hit maxIterations. Mean test NLL: generalist ${r.combine.generalistNll.toFixed(4)}, Eq. 5 ${(e as SpecialistMetrics & { nll: number }).nll.toFixed(4)}.${capHitsElsewhere(r)}`,
    '',
    `${h}# Clusters`,
    '',
    `![Cluster sizes](${options.plotPrefix}cluster-sizes.svg)`,
    '',
    ...r.clusters.clusterings.map((cl) => `- ${cl.method}: ${cl.k} clusters, sizes ${Math.min(...cl.sizes)}-${Math.max(...cl.sizes)}, ${cl.used} with a specialist`),
    `- classes covered by at least one specialist: ${r.clusters.coveredClasses} of ${r.data.numClasses}; most specialists covering one class: ${r.clusters.maxCoverage}`,
    '',
    `${h}# Time per stage`,
    '',
    stageTable(r),
  ];
  return lines.join('\n') + '\n';
}

/** The top-level RESULTS.md over every task run in an output directory. */
export function renderResults(tasks: TaskResults[]): string {
  const total = tasks.reduce((t, r) => t + r.totalSeconds, 0);
  // The commands whose runs produced the reports shown (tasks may come from separate invocations).
  const commands = [...new Set(tasks.flatMap((t) => (t.commands?.length ? t.commands.map((c) => c.command) : t.command ? [t.command] : [])))];
  const lines = [
    '# Generalist and specialists: §5 of Hinton, Vinyals & Dean (2015) on many-class tasks',
    '',
    ...(commands.length ? [`${commands.length > 1 ? 'Commands' : 'Command'}: ${commands.map((c) => `\`${c}\``).join(', ')}`, ''] : []),
    `Tasks: ${tasks.map((t) => `${t.task} (preset ${t.preset})`).join(', ')}. Run time ${duration(total)} (sum of stage times, resumed stages included).`,
    '',
    '| Task | Classes | Specialists | Generalist | + specialists (Eq. 5) | Conditional: generalist → Eq. 5 | Compute-matched generalist | Distilled back |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of tasks) {
    const e = r.combine.methods.eq5!;
    const b = enabled(r.baseline);
    const d = enabled(r.distilBack);
    lines.push(
      `| ${r.task} | ${r.data.numClasses} | ${r.specialists.specialists.length} | ${pct(e.generalistAccuracy)} | ${pct(e.combinedAccuracy)} | ${pct(e.conditional.generalistAccuracy)} → ${pct(e.conditional.combinedAccuracy)} | ${b ? pct(b.metrics.combinedAccuracy) : 'n/a'} | ${d ? pct(d.metrics.combinedAccuracy) : 'n/a'} |`,
    );
  }
  lines.push(`| Paper (JFT) | 15,000 | 61 | ${pct(0.25, 1)} | ${pct(0.261, 1)} | ${pct(0.431, 1)} → ${pct(0.459, 1)} | | |`, '');
  for (const r of tasks) lines.push(renderTaskReport(r, { plotPrefix: `${r.task}/plots/`, headingLevel: 2 }), '');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------
// Plots.

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

/** Bar chart of cluster sizes, one group per clustering (sorted by size), clusters with a specialist filled. */
export function clusterSizesSpec(clusters: ClustersResult, title: string): VegaLiteSpec {
  const chosen = new Set(clusters.chosen.map((c) => `${c.clustering}:${c.subset.join(',')}`));
  const methods = clusters.clusterings.map((cl) => cl.method);
  const values: { bar: number; method: string; size: number; chosen: boolean }[] = [];
  let bar = 0;
  clusters.clusterings.forEach((cl, i) => {
    const sizes = cl.subsets.map((s) => ({ size: s.length, chosen: chosen.has(`${i}:${s.join(',')}`) })).sort((a, b) => b.size - a.size);
    for (const b of sizes) values.push({ bar: bar++, method: cl.method, ...b });
    bar++; // a gap between clusterings
  });
  const color = { field: 'method', type: 'nominal' as const, scale: { domain: methods, range: methods.map((_, i) => COLORS[i % COLORS.length]) }, legend: { title: null } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: Math.max(420, Math.min(1600, bar * 10)),
    height: 230,
    background: 'white',
    data: { values },
    mark: { type: 'bar', strokeWidth: 1 },
    encoding: {
      x: { field: 'bar', type: 'ordinal', axis: { labels: false, ticks: false }, title: 'clusters, largest first (filled: has a specialist)' },
      y: { field: 'size', type: 'quantitative', title: 'classes in cluster' },
      stroke: color,
      fill: { condition: { test: 'datum.chosen', ...color }, value: 'transparent' },
    },
  };
}

function coverageSeries(name: string, rows: readonly CoverageRow[] | undefined, color?: string): Series | undefined {
  if (!rows) return undefined;
  return { name, color, points: foldCoverage(rows).map((r) => [r.specialists.includes('or more') ? 10 : Number(r.specialists), 100 * r.relativeChange] as [number, number]) };
}

export function gainSpec(r: TaskResults): VegaLiteSpec {
  const c = r.combine.methods;
  const series = [
    { name: 'paper (JFT)', color: '#7f7f7f', points: SPECIALISTS_PAPER_TABLE4.map((p) => [p.specialists.includes('or more') ? 10 : Number(p.specialists), 100 * p.relativeChange] as [number, number]) },
    coverageSeries('ours, Eq. 5', c.eq5?.byCoverage, '#1f77b4'),
    coverageSeries('ours, arithmetic', c.arithmetic?.byCoverage, '#2ca02c'),
    coverageSeries('soft-target specialists', r.soft?.softMetrics?.byCoverage, '#ff7f0e'),
    coverageSeries('compute-matched generalist', enabled(r.baseline)?.metrics.byCoverage, '#d62728'),
    coverageSeries('distilled back', enabled(r.distilBack)?.metrics.byCoverage, '#9467bd'),
  ].filter((s): s is Series => s !== undefined && s.points.length > 0);
  return linePlotSpec(series, {
    title: `${r.task}: gain by specialists covering the correct class`,
    xLabel: '# of specialists covering the correct class (10 = 10 or more)',
    yLabel: 'relative accuracy change vs generalist (%)',
    width: 520,
  });
}

/** plots/cluster-sizes.svg and plots/gain-by-coverage.svg, each with its Vega-Lite spec (.vl.json). */
export async function writePlots(expDir: string, r: TaskResults): Promise<void> {
  const dir = join(expDir, 'plots');
  mkdirSync(dir, { recursive: true });
  await writePlot(dir, 'cluster-sizes', clusterSizesSpec(r.clusters, `${r.task}: cluster sizes (${r.data.numClasses} classes)`));
  await writePlot(dir, 'gain-by-coverage', gainSpec(r));
}
