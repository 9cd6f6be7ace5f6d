/**
 * RESULTS.md for the speech recipe: Table 1, Table 5 and the ablations with the paper's figures beside ours,
 * corpus statistics, the command, run time, engine and backend, and SVG plots (each with its Vega-Lite spec) (training curves, accuracy against
 * temperature, the small-data run's curves). Everything is read from the artifacts the stages wrote.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDuration, provenance, writeFileAtomic, writeJsonAtomic } from '@kdasr/core';
import { linePlotSpec, markdownTable, writePlot, type Series } from '@kdasr/mnist';
import type { AsrRecipeConfig } from './config.js';
import { DATA_DIR } from './data.js';
import { fmtPct, memberDir, readRecord, studentDir, studentSpecs, type ModelRecord } from './systems.js';
import { readScore, type SystemScore } from './score.js';
import { DONE_DIR, readDone, type Stage } from '../stages.js';

/** The paper's Table 1 and Table 5 (Hinton, Vinyals & Dean 2015, §4 and §6). */
export const PAPER = {
  table1: {
    baseline: { frameAccuracy: 58.9, wer: 10.9 },
    ensemble: { frameAccuracy: 61.1, wer: 10.7 },
    distilled: { frameAccuracy: 60.8, wer: 10.7 },
  },
  table5: {
    baseline: { train: 63.4, test: 58.9 },
    smallHard: { train: 67.3, test: 44.5 },
    smallSoft: { train: 65.4, test: 57.0 },
  },
};

export interface AsrResults {
  preset: string;
  command: string;
  table1: { system: string; testFrameAccuracy: number; wer?: number; acousticScale?: number; gainKept?: number; paper?: { frameAccuracy: number; wer: number } }[];
  table5: { system: string; trainFrameAccuracy?: number; testFrameAccuracy: number; paper: { train: number; test: number }; bestDevEpoch?: number; testAtBestDev?: number }[];
  ablations: { system: string; label: string; testFrameAccuracy: number; wer?: number; acousticScale?: number; deltaVsReference: number }[];
  memberTestFrameAccuracy: number[];
  stageSeconds: Record<string, number>;
  totalSeconds: number;
  engine: string;
  corpus: unknown;
  labels: unknown;
  /** Decoded systems whose search ended outside a final state on some utterances (a too-narrow beam). */
  searchFailures?: { system: string; utterances: number; of: number }[];
}

const pct = (x: number | undefined, d = 2) => (x === undefined || !Number.isFinite(x) ? '–' : (100 * x).toFixed(d));
const num = (x: number | undefined, d = 2) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));

function must(expDir: string, name: string): SystemScore {
  const s = readScore(expDir, name);
  if (!s) throw new Error(`${expDir}/score/${name}/score.json is missing; run the score stage first`);
  return s;
}

/** Build the results from the artifacts (pure apart from reading files). */
export function collectResults(c: AsrRecipeConfig, expDir: string, command: string): AsrResults {
  const base = must(expDir, 'baseline');
  const ens = must(expDir, 'ensemble');
  const gain = (a: number) => (ens.testFrameAccuracy > base.testFrameAccuracy ? (a - base.testFrameAccuracy) / (ens.testFrameAccuracy - base.testFrameAccuracy) : undefined);
  const specs = studentSpecs(c);
  const table1: AsrResults['table1'] = [
    { system: 'baseline (member 0)', testFrameAccuracy: base.testFrameAccuracy, wer: base.wer?.wer, acousticScale: base.acousticScale, paper: PAPER.table1.baseline },
    { system: `${c.ensemble.members}-member ensemble (arithmetic)`, testFrameAccuracy: ens.testFrameAccuracy, wer: ens.wer?.wer, acousticScale: ens.acousticScale, gainKept: 1, paper: PAPER.table1.ensemble },
    ...specs
      .filter((s) => s.group === 'temperature')
      .map((s) => {
        const r = must(expDir, s.name);
        return { system: s.label, testFrameAccuracy: r.testFrameAccuracy, wer: r.wer?.wer, acousticScale: r.acousticScale, gainKept: gain(r.testFrameAccuracy), paper: PAPER.table1.distilled };
      }),
  ];
  const table5: AsrResults['table5'] = [{ system: 'baseline, 100% of frames (member 0)', trainFrameAccuracy: base.trainFrameAccuracy, testFrameAccuracy: base.testFrameAccuracy, paper: PAPER.table5.baseline }];
  for (const s of specs.filter((x) => x.group === 'small-data')) {
    const r = must(expDir, s.name);
    const rec = readRecord(studentDir(expDir, s.name));
    const cv = rec?.curves;
    let bestDevEpoch: number | undefined;
    let testAtBestDev: number | undefined;
    if (cv && cv.devAccuracy.length) {
      const i = cv.devAccuracy.indexOf(Math.max(...cv.devAccuracy));
      bestDevEpoch = i + 1;
      testAtBestDev = cv.testAccuracy[i];
    }
    table5.push({ system: s.label, trainFrameAccuracy: r.trainFrameAccuracy, testFrameAccuracy: r.testFrameAccuracy, paper: s.teacher ? PAPER.table5.smallSoft : PAPER.table5.smallHard, bestDevEpoch, testAtBestDev });
  }
  const refName = `distilled-T${c.ablations.temperature}`;
  const ref = readScore(expDir, refName);
  const ablations: AsrResults['ablations'] = specs
    .filter((s) => s.group === 'ablation' || (c.ablations.enabled && s.name === refName))
    .map((s) => {
      const r = must(expDir, s.name);
      return { system: s.name, label: s.name === refName ? `reference: ${s.label} (arithmetic mean, T\u00b2 on, hard weight ${c.distillation.hardWeight}, dense logits)` : s.label, testFrameAccuracy: r.testFrameAccuracy, wer: r.wer?.wer, acousticScale: r.acousticScale, deltaVsReference: ref ? r.testFrameAccuracy - ref.testFrameAccuracy : NaN };
    });
  const memberTestFrameAccuracy = Array.from({ length: c.ensemble.members }, (_, i) => must(expDir, i === 0 ? 'baseline' : `member-${i}`).testFrameAccuracy);
  const stageSeconds: Record<string, number> = {};
  for (const st of ['corpus', 'features', 'labels', 'ensemble', 'teacher-logits', 'students', 'score']) {
    const d = readDone(expDir, st);
    if (d) stageSeconds[st] = d.seconds;
  }
  const rec0 = readRecord(memberDir(expDir, 0));
  const searchFailures = ['baseline', 'ensemble', ...specs.map((x) => x.name)]
    .map((name) => ({ name, s: readScore(expDir, name) }))
    .filter(({ s }) => (s?.notReachedFinal ?? 0) > 0)
    .map(({ name, s }) => ({ system: name, utterances: s!.notReachedFinal!, of: s!.utterancesDecoded ?? 0 }));
  return {
    searchFailures,
    preset: c.name,
    command,
    table1,
    table5,
    ablations,
    memberTestFrameAccuracy,
    stageSeconds,
    totalSeconds: Object.values(stageSeconds).reduce((a, b) => a + b, 0),
    engine: rec0?.engine ?? 'unknown',
    corpus: readDone(expDir, 'corpus')?.summary,
    labels: readDone(expDir, 'labels')?.summary,
  };
}

function curve(rec: ModelRecord | undefined, key: 'validation' | 'loss'): [number, number][] {
  return (rec?.history ?? []).map((h) => [h.epoch, key === 'validation' ? 100 * (h.validation ?? NaN) : h.loss]);
}

export async function writePlots(c: AsrRecipeConfig, expDir: string, r: AsrResults): Promise<string[]> {
  const dir = join(expDir, 'plots');
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const put = async (name: string, spec: Parameters<typeof writePlot>[2]) => files.push(`plots/${await writePlot(dir, name, spec)}`);
  const specs = studentSpecs(c);
  const series: Series[] = [];
  for (let i = 0; i < c.ensemble.members; i++) series.push({ name: i === 0 ? 'members (baseline = member 0)' : '', points: curve(readRecord(memberDir(expDir, i)), 'validation'), color: '#9aa5b1' });
  for (const s of specs.filter((x) => x.group !== 'small-data')) series.push({ name: s.name, points: curve(readRecord(studentDir(expDir, s.name)), 'validation') });
  await put('training-curves', linePlotSpec(series.filter((s) => s.points.length), { title: 'Dev frame accuracy per epoch: ensemble members and students', xLabel: 'epoch', yLabel: 'dev frame accuracy (%)', width: 560, height: 320 }));
  const temps = specs.filter((s) => s.group === 'temperature').map((s) => s.distillation!.temperature!);
  const distilled = r.table1.slice(2);
  const xs: [number, number] = [Math.min(...temps), Math.max(...temps)];
  await put(
    'accuracy-vs-temperature',
    linePlotSpec(
      [
        { name: 'distilled (test)', points: temps.map((t, i) => [t, 100 * distilled[i].testFrameAccuracy]) },
        { name: 'ensemble', points: xs.map((x) => [x, 100 * r.table1[1].testFrameAccuracy]), color: '#2ca02c' },
        { name: 'baseline', points: xs.map((x) => [x, 100 * r.table1[0].testFrameAccuracy]), color: '#7f7f7f' },
      ],
      { title: 'Test frame accuracy against distillation temperature', xLabel: 'temperature T', yLabel: 'test frame accuracy (%)' },
    ),
  );
  const small: Series[] = [];
  for (const s of specs.filter((x) => x.group === 'small-data')) {
    const cv = readRecord(studentDir(expDir, s.name))?.curves;
    if (!cv) continue;
    const tag = s.teacher ? 'soft' : 'hard';
    small.push(
      { name: `${tag}: train (its ${fmtPct(s.fraction!)})`, points: cv.trainAccuracy.map((v, i) => [i + 1, 100 * v]) },
      { name: `${tag}: dev`, points: cv.devAccuracy.map((v, i) => [i + 1, 100 * v]) },
    );
  }
  if (small.length) await put('small-data-curves', linePlotSpec(small, { title: `Table 5: ${fmtPct(c.smallData.fraction)} of the training frames, hard vs soft targets`, xLabel: 'epoch', yLabel: 'frame accuracy (%)', width: 560, height: 320 }));
  return files;
}

export function renderMarkdown(c: AsrRecipeConfig, r: AsrResults, plots: string[]): string {
  const L: string[] = [];
  const corpus = r.corpus as { utterances?: number; hours?: number; speakers?: number; vocabulary?: number; phones?: number } | undefined;
  const labels = r.labels as { utterances?: Record<string, number>; frames?: Record<string, number>; numClasses?: number; monophoneStates?: number } | undefined;
  L.push(`# Speech experiments (Hinton, Vinyals & Dean 2015, §4 and §6): preset \`${c.name}\``, '');
  L.push(`Command: \`${r.command}\`  `);
  L.push(`Run time (sum of stages, all invocations): ${formatDuration(r.totalSeconds)} (${Object.entries(r.stageSeconds).map(([k, v]) => `${k} ${formatDuration(v)}`).join(', ')}).  `);
  const p = provenance();
  L.push(`Training engine: ${r.engine}; tensor backend: ${p.backend}${p.threads ? ` (${p.threads} threads)` : ''}; code ${p.gitCommit}; kdasr ${p.kdasrVersion}; node ${p.versions.node}.`, '');
  L.push('## Setup', '');
  if (c.corpus.kind === 'fsdd')
    L.push(`- Corpus: FSDD (recorded speech, 8 kHz), ${corpus?.utterances ?? '?'} connected-digit utterances of ${c.corpus.digitsPerUtterance.join('–')} takes of one speaker, ${num(corpus?.hours)} h, ${corpus?.speakers ?? '?'} speakers, ${corpus?.vocabulary ?? '?'} words. Test: FSDD's official test takes (0–4); dev: ${Math.round(100 * c.corpus.devFraction)}% of the training utterances. Speakers are shared between splits (FSDD has six).`);
  else
    L.push(`- Corpus: synthetic espeak-ng speech, ${corpus?.utterances ?? '?'} utterances, ${num(corpus?.hours)} h, ${corpus?.speakers ?? '?'} voices, ${corpus?.vocabulary ?? '?'} words, ${corpus?.phones ?? '?'} phones; ${Math.round(100 * c.corpus.cleanFraction)}% clean, the rest with white/pink/babble noise at 0–20 dB SNR, 35% reverberated. Speaker-disjoint splits.`);
  L.push(`- Utterances train/dev/test: ${labels?.utterances?.train ?? '?'}/${labels?.utterances?.dev ?? '?'}/${labels?.utterances?.test ?? '?'}; frames ${labels?.frames?.train ?? '?'}/${labels?.frames?.dev ?? '?'}/${labels?.frames?.test ?? '?'}.`);
  const kind = c.labels.treeLeaves !== null ? `tied context-dependent states (phonetic decision tree, ${c.labels.treeLeaves} leaves asked) over ${labels?.monophoneStates ?? '?'} monophone states` : c.corpus.kind === 'fsdd' ? `whole-word HMM states (${c.labels.statesPerPhone} per digit, ${c.labels.statesPerSilence} for silence)` : 'monophone HMM states';
  const from0 = c.corpus.kind === 'fsdd' ? "the exact word boundaries of the joined takes, each word's states spread evenly over it" : "the synthesiser's own phone alignments";
  const ra = c.labels.realign;
  const from = ra ? `${from0}, then ${ra.passes} pass${ra.passes > 1 ? 'es' : ''} of train (${ra.epochs} epochs) → forced realignment` : from0;
  L.push(`- Targets: ${labels?.numClasses ?? '?'} ${kind}, from ${from} (the paper: forced alignments from a GMM system).`);
  L.push(`- Features: ${c.features.numMelBins}-bin log-mel fbank, 25 ms / 10 ms, per-utterance mean normalisation, ${c.model.contextLeft}+1+${c.model.contextRight} frames of context.`);
  L.push(`- Models: ${c.model.hiddenLayers}×${c.model.hiddenUnits} ReLU, dropout ${c.model.dropout}, Adam ${c.model.learningRate}, batch ${c.model.batchSize}, up to ${c.model.epochs} epochs with newbob and early stopping on dev frame accuracy (patience ${c.model.patience}). The paper: 8×2560, 26-frame windows, ~14,000 tied states, ~2000 h.`);
  const scale = c.decode.tune
    ? `acoustic scale chosen per system by dev WER over {${c.decode.tune.acousticScales.join(', ')}} (${c.decode.tune.maxUtterances ? `first ${c.decode.tune.maxUtterances}` : 'all'} dev utterances)`
    : `acoustic scale ${c.decode.acousticScale}`;
  L.push(`- Decoding: bigram LM from the training transcripts, ${c.decode.maxUtterances ? `first ${c.decode.maxUtterances} ` : ''}test utterances, beam ${c.decode.beam}, ${scale}, LM weight ${c.decode.lmWeight}, priors from the training label counts (nothing tuned on test).`, '');
  L.push('## Table 1: frame accuracy and WER', '');
  L.push(
    markdownTable([
      ['system', 'test frame accuracy', 'WER', 'acoustic scale', 'share of the ensemble\u2019s gain kept', 'paper: frame acc.', 'paper: WER'],
      ...r.table1.map((row) => [row.system, `${pct(row.testFrameAccuracy)}%`, `${num(row.wer)}%`, String(row.acousticScale ?? '–'), row.gainKept === undefined ? '–' : `${(100 * row.gainKept).toFixed(0)}%`, row.paper ? `${row.paper.frameAccuracy}%` : '–', row.paper ? `${row.paper.wer}%` : '–']),
    ]),
  );
  L.push('');
  if (r.searchFailures?.length)
    L.push(`Search failures (utterances whose best path ended outside a final state; widen \`decode.beam\`): ${r.searchFailures.map((f) => `${f.system} ${f.utterances}/${f.of}`).join(', ')}.`, '');
  L.push(`Members' test frame accuracy: ${r.memberTestFrameAccuracy.map((a) => pct(a)).join(', ')} (mean ${pct(r.memberTestFrameAccuracy.reduce((a, b) => a + b, 0) / r.memberTestFrameAccuracy.length)}%). The paper's distilled row is its single distilled model (best of T ∈ {1, 2, 5, 10}; "more than 80% of the improvement ... is transferred").`, '');
  L.push('## Table 5: soft targets as a regulariser', '');
  L.push(
    markdownTable([
      ['system', 'train frame accuracy', 'test frame accuracy (final)', 'test at the best dev epoch', 'paper: train', 'paper: test'],
      ...r.table5.map((row) => [row.system, `${pct(row.trainFrameAccuracy)}%`, `${pct(row.testFrameAccuracy)}%`, row.testAtBestDev === undefined ? '–' : `${pct(row.testAtBestDev)}% (epoch ${row.bestDevEpoch})`, `${row.paper.train}%`, `${row.paper.test}%`]),
    ]),
  );
  L.push('', `Train accuracy is on the frames each system trained on. The small-data runs train ${c.smallData.epochs} epochs without early stopping; "test at the best dev epoch" is what early stopping on dev would have kept (the paper's 44.5% for hard targets is with early stopping).`, '');
  if (r.ablations.length) {
    L.push(`## Ablations (T = ${c.ablations.temperature})`, '');
    L.push(
      markdownTable([
        ['variant', 'test frame accuracy', 'Δ vs reference (points)', 'WER', 'acoustic scale'],
        ...r.ablations.map((a) => [a.label, `${pct(a.testFrameAccuracy)}%`, Number.isFinite(a.deltaVsReference) ? (100 * a.deltaVsReference).toFixed(2) : '–', `${num(a.wer)}%`, String(a.acousticScale ?? '–')]),
      ]),
    );
    L.push('');
  }
  L.push('## Plots', '');
  for (const f of plots) L.push(`![${f}](${f})`, '');
  L.push(`Artifacts: \`models/member-<i>/\` (TF.js + kdasr.json with config, seed, engine, priors), \`logits/\` (stored teacher logits, dense and top-k), \`students/<name>/\`, \`score/<system>/\` (hyp.txt, ref.txt, score.json), \`${DATA_DIR}/\` (lang, tree, labels), \`${DONE_DIR}/\` (per-stage config hash, time, provenance), \`config.json\`, \`results.json\`.`);
  return L.join('\n') + '\n';
}

export function reportStage(command: () => string): Stage<AsrRecipeConfig> {
  return {
    name: 'report',
    outputs: ['RESULTS.md', 'results.json', 'plots'],
    description: 'RESULTS.md, results.json and SVG plots',
    configSlice: () => ({ version: 1 }),
    after: ['score'],
    async run(c, ctx) {
      const r = collectResults(c, ctx.expDir, command());
      const plots = await writePlots(c, ctx.expDir, r);
      writeJsonAtomic(join(ctx.expDir, 'results.json'), { ...r, config: c, provenance: provenance() });
      writeFileAtomic(join(ctx.expDir, 'RESULTS.md'), renderMarkdown(c, r, plots));
      return { table1: r.table1.map((x) => [x.system, x.testFrameAccuracy, x.wer]) };
    },
  };
}

export function readResults(expDir: string): AsrResults | undefined {
  const f = join(expDir, 'results.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as AsrResults) : undefined;
}

/** Plain-text Table 1 / Table 5 for the terminal. */
export function formatTables(r: AsrResults): string {
  const rows = [['system', 'test frame acc', 'WER', 'gain kept', 'paper acc', 'paper WER']];
  for (const x of r.table1) rows.push([x.system, `${pct(x.testFrameAccuracy)}%`, `${num(x.wer)}%`, x.gainKept === undefined ? '–' : `${(100 * x.gainKept).toFixed(0)}%`, x.paper ? `${x.paper.frameAccuracy}%` : '–', x.paper ? `${x.paper.wer}%` : '–']);
  const t5 = [['system', 'train acc', 'test acc', 'test @ best dev', 'paper train', 'paper test']];
  for (const x of r.table5) t5.push([x.system, `${pct(x.trainFrameAccuracy)}%`, `${pct(x.testFrameAccuracy)}%`, x.testAtBestDev === undefined ? '–' : `${pct(x.testAtBestDev)}%`, `${x.paper.train}%`, `${x.paper.test}%`]);
  const fmt = (t: string[][]) => {
    const w = t[0].map((_, j) => Math.max(...t.map((r) => r[j].length)));
    return t.map((r) => r.map((v, j) => (j === 0 ? v.padEnd(w[j]) : v.padStart(w[j]))).join('  ')).join('\n');
  };
  return `Table 1\n${fmt(rows)}\n\nTable 5\n${fmt(t5)}`;
}
