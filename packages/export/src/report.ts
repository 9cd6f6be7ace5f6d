/**
 * The deployment table: for each model (a distilled student, its teacher ensemble, ...), export float32, float16,
 * uint8 (TF.js) and ONNX, then measure each variant the way a recogniser uses it: parameters and bytes on disk,
 * frame accuracy against aligned labels, WER through kdasr's word decoder, and forward-pass frames/s in Node
 * (tfjs for the TF.js variants, onnxruntime-node for ONNX), one utterance per call.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FeatureArchive } from '@kdasr/audio-features';
import { runtimeInfo, writeFileAtomic, writeJsonAtomic, provenance } from '@kdasr/core';
import { MANIFEST_FILES, SupervisionSchema, readJsonl, type Supervision } from '@kdasr/corpus';
import { Frontend, StateInventory, readTree, type AcousticModelMeta } from '@kdasr/acoustic-models';
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
  feats: string;
  /** kdasr align output on that split, for frame accuracy (omitted: not measured). */
  ali?: string;
  /** Where the exports, report.json and report.md go. */
  out: string;
  settings?: Partial<WordDecodeSettings>;
  combine?: 'arithmetic' | 'geometric';
  variants?: readonly ReportVariant[];
  /** Logged once per variant (progress on stderr from the CLI). */
  log?: (line: string) => void;
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
}

export interface DeploymentReport {
  rows: DeploymentRow[];
  utterances: number;
  frames: number;
  settings: WordDecodeSettings;
  markdown: string;
}

/** Row-wise log-softmax in float64 (what logPosteriors applies to a host model's logits). */
function logSoftmax(z: Float32Array, rows: number, C: number): Float32Array {
  const out = new Float32Array(z.length);
  for (let i = 0; i < rows; i++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, z[i * C + c]);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(z[i * C + c] - m);
    const lse = m + Math.log(sum);
    for (let c = 0; c < C; c++) out[i * C + c] = z[i * C + c] - lse;
  }
  return out;
}

function readLang(dir: string): Lang {
  const f = join(dir, 'lang.json');
  if (!existsSync(f)) throw new Error(`deploymentReport: ${f} does not exist; pass a kdasr train output (it writes lang.json and lm-text.txt)`);
  return JSON.parse(readFileSync(f, 'utf8')) as Lang;
}

/** One model variant over the split: WER and forward-pass speed (features computed outside the timed part). `dir` is the source EXPDIR (lang, LM, priors). */
async function scoreVariant(runner: LogitsRunner, dir: string, sups: Supervision[], archive: FeatureArchive, settings: WordDecodeSettings): Promise<Pick<DeploymentRow, 'wer' | 'werDetail' | 'notReachedFinal' | 'framesPerSecond'> & { frames: number }> {
  const meta = (JSON.parse(readFileSync(join(resolveModelSource(dir).members[0].dir, 'kdasr.json'), 'utf8')) as { config: AcousticModelMeta }).config;
  if (!meta.logPriors) throw new Error(`deploymentReport: ${dir} has no priors in its sidecar; retrain it with kdasr train`);
  const tree = readTree(dir);
  const inv = StateInventory.fromJSON(meta.inventory);
  const lmText = readFileSync(join(dir, 'lm-text.txt'), 'utf8').split('\n').filter((l) => l.trim());
  const words = new WordDecoder(readLang(dir), inv, tree, lmText, settings);
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
    const lp = logSoftmax(z, x.numFrames, runner.numClasses);
    const r = words.decodeUtterance(u.id, u.text, posteriorsToLoglikes({ numFrames: x.numFrames, numPdfs: runner.numClasses, data: lp }, meta.logPriors, settings.priorScale));
    hyp.push(r.hyp);
    ref.push(r.ref);
    if (!r.reachedFinal) notFinal++;
  }
  const w = computeWer(parseKaldiText(ref.join('\n'), 'ref'), parseKaldiText(hyp.join('\n'), 'hyp')).total;
  return {
    wer: w.wer ?? Number.NaN,
    werDetail: { errors: w.errors, words: w.refWords, ins: w.insertions, del: w.deletions, sub: w.substitutions },
    notReachedFinal: notFinal,
    framesPerSecond: frames / (ms / 1000),
    frames,
  };
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
    const sups = readJsonl(join(o.corpus, MANIFEST_FILES.supervisions), SupervisionSchema).filter((s) => archive.has(s.id));
    if (sups.length === 0) throw new Error(`deploymentReport: no supervision of ${o.corpus} has features in ${o.feats}; pass one split's corpus and features`);
    utterances = sups.length;
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
          ...(o.ali ? { dev: { feats: o.feats, ali: o.ali, corpus: o.corpus } } : {}),
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
          const s = await scoreVariant(runner, m.dir, sups, archive, settings);
          frames = s.frames;
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
  const markdown = formatDeploymentTable(rows);
  const report: DeploymentReport = { rows, utterances, frames, settings, markdown };
  writeJsonAtomic(join(o.out, 'report.json'), { ...report, options: { ...o, log: undefined }, provenance: provenance() });
  writeFileAtomic(join(o.out, 'report.md'), markdown + '\n');
  return report;
}

/** Markdown table of the rows; Δ columns are against the same model's float32 row. */
export function formatDeploymentTable(rows: readonly DeploymentRow[]): string {
  const base = new Map(rows.filter((r) => r.variant === 'float32').map((r) => [r.model, r]));
  const sign = (x: number, digits: number) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;
  return markdownTable(
    [
      ['model', 'variant', 'members', 'parameters', 'bytes on disk', 'frame acc', 'Δ frame acc', '%WER', 'Δ WER (points)', 'frames/s (Node)', 'runtime'],
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
        ];
      }),
    ],
    { align: ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'] },
  );
}
