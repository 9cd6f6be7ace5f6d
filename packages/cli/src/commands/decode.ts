/** `kdasr decode`: decode a corpus split with a trained model and a bigram LM from the training transcripts. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FeatureArchive } from '@kdasr/audio-features';
import { provenance, writeJsonAtomic } from '@kdasr/core';
import { lockDirectory } from '@kdasr/core';
import { type Supervision } from '@kdasr/corpus';
import { WORD_DECODE_DEFAULTS, WordDecoder, type WordDecodeSettings } from '@kdasr/experiments';
import { CliError, parseCommandArgs } from '../args.js';
import type { Command } from './registry.js';
import { combineFlag, engineFlag, loadModelDir, readCorpus, readLang, resumableRun, startRuntime, uttLoglikes, type Lang, type LoadedModel } from './train.js';

export type DecodeSettings = WordDecodeSettings;
export const DECODE_DEFAULTS: DecodeSettings = WORD_DECODE_DEFAULTS;

/** Decode every supervision with features (resumable in values.out, see resumableRun); returns Kaldi-style hyp/ref lines. */
export function decodeSet(am: LoadedModel, lang: Lang, lmText: string[], sups: Supervision[], archive: FeatureArchive, s: DecodeSettings, cmd: string, values: Record<string, unknown>): { hyp: string[]; ref: string[]; notFinal: number; done: () => void } {
  const words = new WordDecoder(lang, am.inventory, am.tree, lmText, s);
  const mine = sups.filter((u) => archive.has(u.id));
  am.frontend.fit(mine.map((u) => ({ id: u.id, features: archive.get(u.id), speaker: u.speaker })));
  const { results, done } = resumableRun(cmd, values, mine, (u) => words.decodeUtterance(u.id, u.text, uttLoglikes(am, u.id, archive, u.speaker, s.priorScale)));
  return { hyp: results.map((r) => r.hyp), ref: results.map((r) => r.ref), notFinal: results.filter((r) => !r.reachedFinal).length, done };
}

/** Supervisions restricted to the ids listed in `file` (one per line), when given. */
export function selectUtts(sups: Supervision[], file: string | undefined): Supervision[] {
  if (!file) return sups;
  const ids = new Set(readFileSync(file, 'utf8').split(/\s+/).filter(Boolean));
  const out = sups.filter((s) => ids.has(s.id));
  if (out.length === 0) throw new CliError(`--utts ${file}: none of its ${ids.size} ids is in the corpus; pass ids of this split`);
  return out;
}

export function readLmText(file: string): string[] {
  if (!existsSync(file)) throw new CliError(`${file} does not exist; pass --lm-text FILE (one sentence per line) or use a kdasr train output`);
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
}

export function decodeSettings(values: Record<string, string | boolean | undefined>, cmd: string): DecodeSettings {
  const num = (k: string, d: number, ok: (n: number) => boolean): number => {
    const v = values[k];
    if (v === undefined) return d;
    const n = Number(v);
    if (!ok(n)) throw new CliError(`${cmd}: --${k} got "${v}", which is out of range`);
    return n;
  };
  return {
    acousticScale: num('acoustic-scale', DECODE_DEFAULTS.acousticScale, (n) => n > 0),
    lmWeight: num('lm-weight', DECODE_DEFAULTS.lmWeight, (n) => n >= 0),
    wordInsertionPenalty: num('word-penalty', DECODE_DEFAULTS.wordInsertionPenalty, Number.isFinite),
    beam: num('beam', DECODE_DEFAULTS.beam, (n) => n > 0),
    priorScale: num('prior-scale', DECODE_DEFAULTS.priorScale, (n) => n >= 0),
    silenceProb: num('silence-prob', DECODE_DEFAULTS.silenceProb, (n) => n >= 0 && n <= 1),
  };
}

export const DECODE_OPTIONS = {
  model: { type: 'string' },
  corpus: { type: 'string' },
  feats: { type: 'string' },
  out: { type: 'string' },
  'lm-text': { type: 'string' },
  'acoustic-scale': { type: 'string' },
  'lm-weight': { type: 'string' },
  'word-penalty': { type: 'string' },
  beam: { type: 'string' },
  'prior-scale': { type: 'string' },
  'silence-prob': { type: 'string' },
  utts: { type: 'string' },
  combine: { type: 'string' },
  engine: { type: 'string' },
  backend: { type: 'string' },
} as const;

/** Load --model (single model or ensemble) with the --engine / --combine flags. */
export async function loadModelFlags(values: { model?: string; engine?: string; combine?: string }, cmd: string): Promise<LoadedModel> {
  return loadModelDir(values.model!, { engine: engineFlag(values.engine, cmd), combine: combineFlag(values.combine, cmd) });
}

export const DECODE_HELP_OPTIONS = `  --model EXPDIR        a kdasr train output (model/ or member-<i>/model of an ensemble, lang.json, lm-text.txt)
  --combine C           ensemble posteriors: arithmetic | geometric (default arithmetic)
  --engine E            posteriors on native | tfjs | auto (default auto)
  --lm-text FILE        LM training sentences (default EXPDIR/lm-text.txt: the training transcripts)
  --acoustic-scale S    default ${DECODE_DEFAULTS.acousticScale}     --lm-weight W      default ${DECODE_DEFAULTS.lmWeight}
  --word-penalty P      default ${DECODE_DEFAULTS.wordInsertionPenalty}       --beam B           default ${DECODE_DEFAULTS.beam}
  --prior-scale S       default ${DECODE_DEFAULTS.priorScale}       --silence-prob P   default ${DECODE_DEFAULTS.silenceProb}
  --utts FILE           only these utterance ids (one per line), e.g. EXPDIR/dev-utts.txt for tuning
  --backend B           tensor backend`;

const HELP = `usage: kdasr decode --model EXPDIR --corpus DIR --feats DIR --out DIR [options]

Viterbi beam search over lexicon + bigram LM + HMMs with the model's scaled log-likelihoods. Writes
DIR/hyp.txt and DIR/ref.txt (Kaldi text: utt-id word ...; score with kdasr score) and DIR/decode.json.
Progress goes to stderr; an interrupted run resumes from DIR/partial.jsonl when rerun with the same flags.

${DECODE_HELP_OPTIONS}`;

export const command: Command = {
  name: 'decode',
  summary: 'decode a corpus split with a trained acoustic model and a bigram LM (Kaldi-style hyp text)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs('decode', argv, DECODE_OPTIONS, HELP);
    if (values.help) return (console.log(HELP), 0);
    if (positionals.length) throw new CliError(`decode: unexpected argument "${positionals[0]}"\n\n${HELP}`);
    if (!values.model || !values.corpus || !values.feats || !values.out) throw new CliError(`decode: --model, --corpus, --feats and --out are required\n\n${HELP}`);
    lockDirectory(values.out, { command: ['kdasr', 'decode', ...argv].join(' ') }); // one writer per --out; released at exit
    const settings = decodeSettings(values, 'decode');
    engineFlag(values.engine, 'decode');
    combineFlag(values.combine, 'decode');
    await startRuntime(values.backend);
    const lang = readLang(values.model);
    const am = await loadModelFlags(values, 'decode');
    const archive = FeatureArchive.open(values.feats);
    const t0 = Date.now();
    const { hyp, ref, notFinal, done } = decodeSet(am, lang, readLmText(values['lm-text'] ?? join(values.model, 'lm-text.txt')), selectUtts(readCorpus(values.corpus).sups, values.utts), archive, settings, 'decode', values);
    mkdirSync(values.out, { recursive: true });
    writeFileSync(join(values.out, 'hyp.txt'), hyp.join('\n') + '\n');
    writeFileSync(join(values.out, 'ref.txt'), ref.join('\n') + '\n');
    writeJsonAtomic(join(values.out, 'decode.json'), { command: ['kdasr', 'decode', ...argv], model: resolve(values.model), settings, engine: am.engine, numPdfs: am.tree?.numPdfs, members: am.members, combine: am.members > 1 ? (values.combine ?? 'arithmetic') : undefined, utterances: hyp.length, notReachedFinal: notFinal, seconds: (Date.now() - t0) / 1000, provenance: provenance() });
    done();
    console.log(`decoded ${hyp.length} utterances (${notFinal} did not reach the final state) -> ${join(values.out, 'hyp.txt')}`);
    am.model.dispose();
    archive.close();
    return 0;
  },
};
