/**
 * `kdasr decode` and `kdasr eval` as library functions: decode a corpus split with a model directory and a bigram
 * LM (resumable), score WER, and with alignments add frame metrics.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FeatureArchive } from '@kdasr/audio-features';
import { Logger, provenance, writeJsonAtomic } from '@kdasr/core';
import type { CorpusInput, Supervision } from '@kdasr/corpus';
import { FrameDataset, aliTargets, evaluateFrames, loadModelDir, logPosteriors, readAli, type CombineRule, type EngineChoice, type FrameEvaluation, type LoadedModelDir } from '@kdasr/acoustic-models';
import { computeWer, formatWerSummary, parseKaldiText, posteriorsToLoglikes, type LoglikeMatrix } from '@kdasr/decoding';
import type { Lang } from '../lang.js';
import { WORD_DECODE_DEFAULTS, WordDecoder, type UtteranceDecode, type WordDecodeSettings } from '../word-decoder.js';
import { InputError, readCorpus, readLang, readLmText, selectUtts } from './inputs.js';
import { resumableRun } from './resumable.js';

/** Scaled log-likelihoods of one utterance: log posterior − priorScale · log prior (decoding's posteriorsToLoglikes). */
export function uttLoglikes(am: LoadedModelDir, id: string, archive: FeatureArchive, speaker: string | undefined, priorScale: number): LoglikeMatrix {
  if (!am.meta.logPriors) throw new InputError(`the model has no priors; retrain it with kdasr train (which stores alignment-count priors)`);
  const lp = logPosteriors(am.model, am.frontend.transform({ id, features: archive.get(id), speaker }));
  return posteriorsToLoglikes(lp, am.meta.logPriors, priorScale);
}

/**
 * One recorded decode result, checked. kdasr before round 2 wrote `final` where this one writes `reachedFinal`;
 * such a line is upgraded (same meaning), and a line with neither is rejected rather than read as "not final".
 */
export function upgradeDecodeResult(r: unknown): UtteranceDecode {
  const o = (r ?? {}) as Record<string, unknown>;
  if (typeof o.hyp !== 'string' || typeof o.ref !== 'string') throw new Error('field "hyp" or "ref" is missing or not a string');
  const reached = o.reachedFinal ?? o.final;
  if (typeof reached !== 'boolean') throw new Error('field "reachedFinal" (or the older "final") is missing or not a boolean');
  return { hyp: o.hyp, ref: o.ref, reachedFinal: reached };
}

export interface ModelInput {
  /** A kdasr train output (EXPDIR/model or EXPDIR/member-<i>/model, lang.json, lm-text.txt). */
  model: string;
  engine?: EngineChoice;
  combine?: CombineRule;
}

export interface DecodeCorpusOptions extends ModelInput {
  input: CorpusInput;
  feats: string;
  out: string;
  /** LM sentences (default MODEL/lm-text.txt, the training transcripts). */
  lmText?: string;
  settings?: Partial<WordDecodeSettings>;
  /** A file of utterance ids: decode only these. */
  utts?: string;
  /** The command line, recorded in the summary. */
  command?: string[];
  /** What a rerun must share to resume from OUT/partial.jsonl (default: these options). */
  resumeKey?: Record<string, unknown>;
  log?: Logger;
}

export interface DecodedSplit {
  hyp: string[];
  ref: string[];
  notReachedFinal: number;
  settings: WordDecodeSettings;
  am: LoadedModelDir;
  sups: Supervision[];
  archive: FeatureArchive;
  lang: Lang;
  done: () => void;
}

export function decodeSettingsOf(s: Partial<WordDecodeSettings> = {}): WordDecodeSettings {
  return { ...WORD_DECODE_DEFAULTS, ...Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) };
}

async function openSplit(o: DecodeCorpusOptions): Promise<{ am: LoadedModelDir; lang: Lang; sups: Supervision[]; archive: FeatureArchive }> {
  const lang = readLang(o.model);
  const am = await loadModelDir(o.model, { engine: o.engine, combine: o.combine });
  const archive = FeatureArchive.open(o.feats);
  const sups = selectUtts(readCorpus(o.input).sups, o.utts);
  return { am, lang, sups, archive };
}

function decodeOpened(o: DecodeCorpusOptions, opened: { am: LoadedModelDir; lang: Lang; sups: Supervision[]; archive: FeatureArchive }, log: Logger): DecodedSplit {
  const { am, lang, sups, archive } = opened;
  const settings = decodeSettingsOf(o.settings);
  const words = new WordDecoder(lang, am.inventory, am.tree, readLmText(o.lmText ?? join(o.model, 'lm-text.txt')), settings);
  const mine = sups.filter((u) => archive.has(u.id));
  am.frontend.fit(mine.map((u) => ({ id: u.id, features: archive.get(u.id), speaker: u.speaker })));
  const { results, done } = resumableRun(mine, (u) => words.decodeUtterance(u.id, u.text, uttLoglikes(am, u.id, archive, u.speaker, settings.priorScale)), {
    out: o.out,
    settings: o.resumeKey ?? (o as unknown as Record<string, unknown>),
    upgrade: upgradeDecodeResult,
    log,
  });
  return { hyp: results.map((r) => r.hyp), ref: results.map((r) => r.ref), notReachedFinal: results.filter((r) => !r.reachedFinal).length, settings, ...opened, done };
}

function writeHypRef(out: string, d: { hyp: string[]; ref: string[] }): void {
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'hyp.txt'), d.hyp.join('\n') + '\n');
  writeFileSync(join(out, 'ref.txt'), d.ref.join('\n') + '\n');
}

export interface DecodeCorpusResult {
  utterances: number;
  notReachedFinal: number;
  hypFile: string;
  summaryFile: string;
}

/** Decode a split into OUT/hyp.txt and OUT/ref.txt (Kaldi text) plus OUT/decode.json; resumes after a kill. */
export async function decodeCorpus(o: DecodeCorpusOptions): Promise<DecodeCorpusResult> {
  const log = o.log ?? new Logger('decode');
  const t0 = Date.now();
  const d = decodeOpened(o, await openSplit(o), log);
  try {
    writeHypRef(o.out, d);
    const summaryFile = join(o.out, 'decode.json');
    writeJsonAtomic(summaryFile, { command: o.command, model: resolve(o.model), corpus: readCorpusSource(o.input), settings: d.settings, engine: d.am.engine, numPdfs: d.am.tree?.numPdfs, members: d.am.members, combine: d.am.members > 1 ? (o.combine ?? 'arithmetic') : undefined, utterances: d.hyp.length, notReachedFinal: d.notReachedFinal, seconds: (Date.now() - t0) / 1000, provenance: provenance() });
    d.done();
    return { utterances: d.hyp.length, notReachedFinal: d.notReachedFinal, hypFile: join(o.out, 'hyp.txt'), summaryFile };
  } finally {
    d.am.model.dispose();
    d.archive.close();
  }
}

function readCorpusSource(input: CorpusInput): string {
  if (input.manifest) return resolve(input.manifest);
  return input.split ? `${resolve(input.corpus ?? '.')} (split ${input.split})` : resolve(input.corpus ?? '.');
}

export interface EvaluateModelOptions extends DecodeCorpusOptions {
  /** Frame labels of this split (kdasr align) for frame accuracy, ECE and confusions. */
  ali?: string;
}

export interface EvaluateModelResult extends DecodeCorpusResult {
  werSummary: string;
  wer: ReturnType<typeof computeWer>['total'];
  frames?: FrameEvaluation;
}

/** Decode + WER (OUT/wer.txt), and with `ali` frame metrics; everything in OUT/eval.json. */
export async function evaluateModel(o: EvaluateModelOptions): Promise<EvaluateModelResult> {
  const log = o.log ?? new Logger('eval');
  const opened = await openSplit(o);
  const { am, archive, sups } = opened;
  try {
    let frames: FrameEvaluation | undefined;
    if (o.ali) {
      // Labels in the model's classes: monophone states, or with a tree each frame's (phone, state, contexts) pdf.
      const ali = readAli(o.ali);
      const utts = sups.filter((s) => archive.has(s.id) && ali.has(s.id)).map((s) => ({ id: s.id, features: archive.get(s.id), labels: aliTargets(ali.get(s.id)!, am.inventory, am.tree), speaker: s.speaker }));
      const ds = new FrameDataset(utts, { numClasses: am.model.numClasses, frontend: am.frontend, source: o.ali });
      frames = evaluateFrames(am.model, ds, am.tree ? am.tree.pdfClasses() : am.inventory);
    }
    const d = decodeOpened(o, opened, log);
    const wer = computeWer(parseKaldiText(d.ref.join('\n'), 'ref'), parseKaldiText(d.hyp.join('\n'), 'hyp'));
    writeHypRef(o.out, d);
    const werSummary = formatWerSummary(wer);
    writeFileSync(join(o.out, 'wer.txt'), werSummary + '\n');
    const summaryFile = join(o.out, 'eval.json');
    writeJsonAtomic(summaryFile, {
      command: o.command,
      model: resolve(o.model),
      corpus: readCorpusSource(o.input),
      settings: d.settings,
      engine: am.engine,
      numPdfs: am.tree?.numPdfs,
      members: am.members,
      combine: am.members > 1 ? (o.combine ?? 'arithmetic') : undefined,
      wer: wer.total,
      notReachedFinal: d.notReachedFinal,
      frames,
      provenance: provenance(),
    });
    d.done();
    return { utterances: d.hyp.length, notReachedFinal: d.notReachedFinal, hypFile: join(o.out, 'hyp.txt'), summaryFile, werSummary, wer: wer.total, frames };
  } finally {
    am.model.dispose();
    archive.close();
  }
}
