/**
 * The deployment table: for each model (a distilled student, its teacher ensemble, ...), export float32, float16,
 * uint8 (TF.js) and ONNX, then measure each variant the way a recogniser uses it: parameters and bytes on disk,
 * frame accuracy against aligned labels, WER through kdasr's word decoder, and forward-pass frames/s in Node
 * (tfjs for the TF.js variants, onnxruntime-node for ONNX), one utterance per call. With a browser measure (the
 * CLI's --browser: @kdasr/web's page in Chromium), each single-model TF.js variant and each ONNX variant
 * (onnxruntime-web) is also run where it deploys:
 * the page recognises the split's WAV files, and the row gets its frames/s, real-time factor and how many of its
 * hypotheses equal Node's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FeatureArchive } from '@kdasr/audio-features';
import { runtimeInfo, writeFileAtomic, writeJsonAtomic, provenance } from '@kdasr/core';
import { MANIFEST_FILES, readCorpusSplit, type CorpusSplit, type Supervision } from '@kdasr/corpus';
import { Frontend, StateInventory, logSoftmaxRows, readTree, type AcousticModelMeta } from '@kdasr/acoustic-models';
import { computeWer, parseKaldiText, posteriorsToLoglikes } from '@kdasr/decoding';
import { WORD_DECODE_DEFAULTS, WordDecoder, type Lang, type WordDecodeSettings } from '@kdasr/experiments';
import { markdownTable } from 'markdown-table';
import { ONNX_FILE, exportModel, loadSourceClassifier, resolveModelSource, type ExportRecord } from './export.js';
import { classifierRunner, onnxRunner, type LogitsRunner } from './runners.js';

export const REPORT_VARIANTS = ['float32', 'float16', 'uint8', 'onnx'] as const;
export type ReportVariant = (typeof REPORT_VARIANTS)[number];

export interface DeploymentReportOptions {
  /** Models to report, each a kdasr train output (single or ensemble); `name` labels its rows. */
  models: { name: string; dir: string }[];
  /** The split to score: corpus dir (supervisions.jsonl) and its features archive. */
  corpus: string;
  /** A split of `corpus` (a subdirectory or a splits.json key, as --corpus DIR --split NAME); default: all of it. */
  split?: string;
  feats: string;
  /** lang.json, lm-text.txt and tree.json, where the model directories lack them (a recipe's data/ directory). */
  lang?: string;
  /** kdasr align output on that split, for frame accuracy (omitted: not measured). */
  ali?: string;
  /** Where the exports, report.json and report.md go. */
  out: string;
  settings?: Partial<WordDecodeSettings>;
  combine?: 'arithmetic' | 'geometric';
  variants?: readonly ReportVariant[];
  /** Logged once per variant (progress on stderr from the CLI). */
  log?: (line: string) => void;
  /** Also run each single-model TF.js variant and each ONNX variant in a browser (see BrowserMeasure). */
  browser?: BrowserMeasure;
}

/** What a browser run of one exported variant gives back. */
export interface BrowserResult {
  /** e.g. "Chromium 156, tfjs wasm (SIMD, threaded build, 2 threads)". */
  runtime: string;
  /** Features + forward pass + decode, over the whole split, in frames per second of compute. */
  framesPerSecond: number;
  /** The forward pass alone. */
  forwardFramesPerSecond: number;
  /** Seconds of compute (features + forward + decode) per second of audio. */
  realTimeFactor: number;
  /** The page's words for each utterance, in the order given. */
  words: string[][];
}

/**
 * Recognise `wavs` (whole files, in order) with the exported TF.js model in `dir`, using the decode `settings` and
 * the feature pipeline of the archive `feats`. The report passes only single-model TF.js variants.
 */
export type BrowserMeasure = (run: { dir: string; variant: ReportVariant; wavs: string[]; feats: string; settings: WordDecodeSettings }) => Promise<BrowserResult>;

export interface BrowserRow {
  runtime: string;
  framesPerSecond: number;
  forwardFramesPerSecond: number;
  realTimeFactor: number;
  /** Utterances whose browser hypothesis equals Node's, of `utterances`. */
  matchesNode: number;
  utterances: number;
}

export interface DeploymentRow {
  model: string;
  variant: ReportVariant;
  members: number;
  parameters: number;
  bytesOnDisk: number;
  frameAccuracy: number | null;
  /** Percent. */
  wer: number;
  werDetail: { errors: number; words: number; ins: number; del: number; sub: number };
  notReachedFinal: number;
  framesPerSecond: number;
  runtime: string;
  /** The browser run, or why there is none (an ensemble or ONNX variant; no --browser). */
  browser: BrowserRow | { skipped: string };
}

export interface DeploymentReport {
  rows: DeploymentRow[];
  utterances: number;
  frames: number;
  settings: WordDecodeSettings;
  markdown: string;
}

function readLang(dir: string): Lang {
  const f = join(dir, 'lang.json');
  if (!existsSync(f)) throw new Error(`deploymentReport: ${f} does not exist; pass a kdasr train output (it writes lang.json and lm-text.txt), or --lang DIR holding them`);
  return JSON.parse(readFileSync(f, 'utf8')) as Lang;
}

/** One model variant over the split: WER and forward-pass speed (features computed outside the timed part). `dir` is the source EXPDIR (lang, LM, priors). */
async function scoreVariant(runner: LogitsRunner, dir: string, expDir: string, sups: Supervision[], archive: FeatureArchive, settings: WordDecodeSettings): Promise<Pick<DeploymentRow, 'wer' | 'werDetail' | 'notReachedFinal' | 'framesPerSecond'> & { frames: number; words: string[][] }> {
  const meta = (JSON.parse(readFileSync(join(resolveModelSource(dir).members[0].dir, 'kdasr.json'), 'utf8')) as { config: AcousticModelMeta }).config;
  if (!meta.logPriors) throw new Error(`deploymentReport: ${dir} has no priors in its sidecar; retrain it with kdasr train`);
  const tree = readTree(expDir);
  const inv = StateInventory.fromJSON(meta.inventory);
  const lmText = readFileSync(join(expDir, 'lm-text.txt'), 'utf8').split('\n').filter((l) => l.trim());
  const words = new WordDecoder(readLang(expDir), inv, tree, lmText, settings);
  const fe = new Frontend(meta.frontend.config, meta.frontend.globalStats);
  fe.fit(sups.map((u) => ({ id: u.id, features: archive.get(u.id), speaker: u.speaker })));
  const hyp: string[] = [];
  const ref: string[] = [];
  let notFinal = 0;
  let frames = 0;
  let ms = 0;
  // One untimed call first: kernel setup and allocation belong to loading, not to per-frame cost.
  const first = fe.transform({ id: sups[0].id, features: archive.get(sups[0].id), speaker: sups[0].speaker });
  await runner.logits(first.data, first.numFrames);
  for (const u of sups) {
    const x = fe.transform({ id: u.id, features: archive.get(u.id), speaker: u.speaker });
    const t0 = performance.now();
    const z = await runner.logits(x.data, x.numFrames);
    ms += performance.now() - t0;
    frames += x.numFrames;
    // A copy: the runner may hand back a buffer it reuses.
    const lp = logSoftmaxRows(Float32Array.from(z), x.numFrames, runner.numClasses);
    const r = words.decodeUtterance(u.id, u.text, posteriorsToLoglikes({ numFrames: x.numFrames, numPdfs: runner.numClasses, data: lp }, meta.logPriors, settings.priorScale));
    hyp.push(r.hyp);
    ref.push(r.ref);
    if (!r.reachedFinal) notFinal++;
  }
  const hyps = parseKaldiText(hyp.join('\n'), 'hyp');
  const w = computeWer(parseKaldiText(ref.join('\n'), 'ref'), hyps).total;
  const wordsOf = new Map(hyps.map((h) => [h.id, h.words]));
  return {
    words: sups.map((u) => wordsOf.get(u.id) ?? []),
    wer: w.wer ?? Number.NaN,
    werDetail: { errors: w.errors, words: w.refWords, ins: w.insertions, del: w.deletions, sub: w.substitutions },
    notReachedFinal: notFinal,
    framesPerSecond: frames / (ms / 1000),
    frames,
  };
}

/**
 * The WAV file of each supervision, when each one is a whole recording on disk (the page recognises whole files);
 * otherwise why the browser column is skipped.
 */
function wholeFileWavs(split: CorpusSplit, sups: Supervision[]): { paths: string[] } | { skipped: string } {
  const recs = new Map(split.recordings.map((r) => [r.id, r]));
  const paths: string[] = [];
  for (const u of sups) {
    const r = recs.get(u.recordingId);
    if (!r) return { skipped: `${join(split.dir, MANIFEST_FILES.recordings)} has no recording ${u.recordingId} (supervision ${u.id})` };
    if (!r.path) return { skipped: `recording ${r.id} is a command, not a WAV file the page can read` };
    // Within a 10 ms frame of the whole file: the page recognises files, not segments of them.
    if (u.startSec > 0.01 || Math.abs(r.numSamples / r.sampleRateHz - u.startSec - u.durationSec) > 0.01) return { skipped: `supervision ${u.id} is a segment of recording ${r.id}; the page recognises whole files` };
    paths.push(resolve(split.dir, r.path));
  }
  return { paths };
}

/** Export every variant of every model and measure it; writes OUT/report.json and OUT/report.md. */
export async function deploymentReport(o: DeploymentReportOptions): Promise<DeploymentReport> {
  const settings: WordDecodeSettings = { ...WORD_DECODE_DEFAULTS, ...(o.settings ?? {}) };
  const variants = o.variants ?? REPORT_VARIANTS;
  const archive = FeatureArchive.open(o.feats);
  const rows: DeploymentRow[] = [];
  let utterances = 0;
  let frames = 0;
  try {
    const split = readCorpusSplit({ corpus: o.corpus, split: o.split });
    const sups = split.supervisions.filter((s) => archive.has(s.id));
    if (sups.length === 0) throw new Error(`deploymentReport: no supervision of ${split.source} has features in ${o.feats}; pass one split's corpus and features`);
    utterances = sups.length;
    const wavs = o.browser ? wholeFileWavs(split, sups) : { skipped: 'not asked (--browser)' };
    for (const m of o.models) {
      for (const v of variants) {
        const dir = join(resolve(o.out), m.name, v);
        const rec: ExportRecord = await exportModel({
          model: m.dir,
          out: dir,
          format: v === 'onnx' ? 'onnx' : 'tfjs',
          dtype: v === 'onnx' ? 'float32' : v,
          combine: o.combine ?? 'arithmetic',
          priorScale: settings.priorScale,
          ...(o.lang ? { lang: o.lang } : {}),
          ...(o.ali ? { dev: { feats: o.feats, ali: o.ali, corpus: o.corpus, ...(o.split ? { split: o.split } : {}) } } : {}),
        });
        let runner: LogitsRunner;
        let dispose: () => Promise<void> | void;
        if (v === 'onnx') {
          // Single-threaded like the tfjs cpu backend, so frames/s compare kernels, not core counts.
          runner = await onnxRunner(join(dir, ONNX_FILE), { threads: 1 });
          dispose = () => runner.dispose();
        } else {
          const c = await loadSourceClassifier(resolveModelSource(dir), o.combine ?? 'arithmetic');
          runner = classifierRunner(c.model);
          dispose = () => c.model.dispose();
        }
        try {
          // The export holds lang.json, lm-text.txt and tree.json (copied from the model or from --lang).
          const s = await scoreVariant(runner, m.dir, dir, sups, archive, settings);
          frames = s.frames;
          let browser: DeploymentRow['browser'];
          if (!o.browser || 'skipped' in wavs) browser = { skipped: 'skipped' in wavs ? wavs.skipped : 'not asked' };
          // An ONNX export is one graph even for an ensemble (members combined inside it): the page runs it in onnxruntime-web.
          else if (v !== 'onnx' && rec.source.members > 1) browser = { skipped: 'the page runs one TF.js model, not an ensemble (its ONNX export runs)' };
          else {
            const b = await o.browser({ dir, variant: v, wavs: wavs.paths, feats: o.feats, settings });
            const matchesNode = b.words.filter((w, i) => w.join(' ') === s.words[i].join(' ')).length;
            browser = { runtime: b.runtime, framesPerSecond: b.framesPerSecond, forwardFramesPerSecond: b.forwardFramesPerSecond, realTimeFactor: b.realTimeFactor, matchesNode, utterances: sups.length };
            o.log?.(`${m.name} ${v} in the browser: RTF ${b.realTimeFactor.toFixed(4)}, ${Math.round(b.framesPerSecond)} frames/s, ${matchesNode}/${sups.length} hypotheses equal Node's`);
          }
          rows.push({
            model: m.name,
            variant: v,
            members: rec.source.members,
            parameters: rec.parameters,
            bytesOnDisk: rec.bytesOnDisk,
            frameAccuracy: rec.accuracy.measured ? rec.accuracy.exportedFrameAccuracy : null,
            wer: s.wer,
            werDetail: s.werDetail,
            notReachedFinal: s.notReachedFinal,
            framesPerSecond: s.framesPerSecond,
            runtime: v === 'onnx' ? 'onnxruntime-node (cpu, 1 thread)' : `tfjs ${runtimeInfo()?.backend ?? '?'}`,
            browser,
          });
          o.log?.(`${m.name} ${v}: WER ${s.wer.toFixed(2)}%, ${Math.round(s.framesPerSecond)} frames/s, ${rec.bytesOnDisk} bytes`);
        } finally {
          await dispose();
        }
      }
    }
  } finally {
    archive.close();
  }
  const browserRuntimes = [...new Set(rows.flatMap((r) => ('skipped' in r.browser ? [] : [r.browser.runtime])))];
  const markdown = formatDeploymentTable(rows) + (browserRuntimes.length ? `\n\nBrowser: ${browserRuntimes.join('; ')}; frames/s (browser) is the forward pass alone, as in Node; the RTF counts features + forward pass + decode from WAV bytes.` : '');
  const report: DeploymentReport = { rows, utterances, frames, settings, markdown };
  writeJsonAtomic(join(o.out, 'report.json'), { ...report, options: { ...o, log: undefined }, provenance: provenance() });
  writeFileAtomic(join(o.out, 'report.md'), markdown + '\n');
  return report;
}

/** Markdown table of the rows; Δ columns are against the same model's float32 row. */
export function formatDeploymentTable(rows: readonly DeploymentRow[]): string {
  const base = new Map(rows.filter((r) => r.variant === 'float32').map((r) => [r.model, r]));
  const sign = (x: number, digits: number) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
  // Browser columns only when some row was run in a browser; the runtime it ran on is in report.json and below.
  const browser = rows.some((r) => !('skipped' in r.browser));
  return markdownTable(
    [
      ['model', 'variant', 'members', 'parameters', 'bytes on disk', 'frame acc', 'Δ frame acc', '%WER', 'Δ WER (points)', 'frames/s (Node)', 'runtime', ...(browser ? ['frames/s (browser)', 'RTF (browser, features + forward + decode)', 'browser = Node'] : [])],
      ...rows.map((r) => {
        const b = base.get(r.model);
        return [
          r.model,
          r.variant,
          String(r.members),
          r.parameters.toLocaleString('en-US'),
          r.bytesOnDisk.toLocaleString('en-US'),
          r.frameAccuracy === null ? '–' : r.frameAccuracy.toFixed(4),
          r.frameAccuracy === null || !b || b.frameAccuracy === null ? '–' : sign(r.frameAccuracy - b.frameAccuracy, 4),
          `${r.wer.toFixed(2)} [${r.werDetail.errors}/${r.werDetail.words}]`,
          b ? sign(r.wer - b.wer, 2) : '–',
          Math.round(r.framesPerSecond).toLocaleString('en-US'),
          r.runtime,
          ...(!browser ? [] : 'skipped' in r.browser ? ['–', '–', '–'] : [Math.round(r.browser.forwardFramesPerSecond).toLocaleString('en-US'), r.browser.realTimeFactor.toFixed(4), `${r.browser.matchesNode}/${r.browser.utterances}`]),
        ];
      }),
    ],
    { align: ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'r'] },
  );
}
