/**
 * Flag parsing the model commands share (train, align, decode, eval): numbers, engines, ensemble combination,
 * the corpus input (`--corpus DIR [--split NAME]` or `--manifest FILE`), decoding settings, and the runtime.
 */
import { Logger, initRuntime } from '@kdasr/core';
import { ENGINES, type CombineRule, type EngineChoice } from '@kdasr/acoustic-models';
import type { CorpusInput } from '@kdasr/corpus';
import { WORD_DECODE_DEFAULTS, type WordDecodeSettings } from '@kdasr/experiments';
import { CliError } from './args.js';

export function engineFlag(v: string | undefined, cmd: string): EngineChoice {
  const e = v ?? 'auto';
  if (!(ENGINES as readonly string[]).includes(e)) throw new CliError(`${cmd}: --engine is "${e}"; expected native, tfjs or auto`);
  return e as EngineChoice;
}

export function combineFlag(v: string | undefined, cmd: string): CombineRule {
  const c = v ?? 'arithmetic';
  if (c !== 'arithmetic' && c !== 'geometric') throw new CliError(`${cmd}: --combine is "${c}"; expected arithmetic or geometric`);
  return c;
}

/** An integer flag >= min, or undefined when absent. */
export function intFlag(cmd: string, name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${cmd}: --${name} must be an integer >= ${min}, got "${v}"`);
  return n;
}

/** Options every command that reads a corpus split takes. */
export const CORPUS_OPTIONS = {
  corpus: { type: 'string' },
  split: { type: 'string' },
  manifest: { type: 'string' },
} as const;

export const CORPUS_HELP = `  --corpus DIR          the corpus (kdasr corpus ... --out DIR), or one split's manifest directory
  --split NAME          a split of --corpus: DIR/NAME/ (FSDD's connected/train), a splits.json key (train, dev, test) or all
  --manifest FILE       instead of --corpus: a supervisions.jsonl (alignments.jsonl beside it is read too)`;

/** The corpus split named by --corpus/--split/--manifest; `cmd` names the command in the error. */
export function corpusInput(values: { corpus?: string; split?: string; manifest?: string }, cmd: string, help: string): CorpusInput {
  if (!values.corpus && !values.manifest) throw new CliError(`${cmd}: pass --corpus DIR [--split NAME] or --manifest FILE\n\n${help}`);
  if (values.manifest && (values.corpus || values.split)) throw new CliError(`${cmd}: --manifest names the split by itself; drop --corpus/--split`);
  return { corpus: values.corpus, split: values.split, manifest: values.manifest };
}

/** Positional arguments are not taken by the model commands. */
export function noPositionals(positionals: string[], cmd: string, help: string): void {
  if (positionals.length) throw new CliError(`${cmd}: unexpected argument "${positionals[0]}"\n\n${help}`);
}

/** Required flags, named together in one error. */
export function requireFlags(values: Record<string, unknown>, names: string[], cmd: string, help: string): void {
  const missing = names.filter((n) => values[n] === undefined);
  if (missing.length) throw new CliError(`${cmd}: ${names.map((n) => `--${n}`).join(', ').replace(/, ([^,]*)$/, ' and $1')} ${names.length > 1 ? 'are' : 'is'} required (missing ${missing.map((n) => `--${n}`).join(', ')})\n\n${help}`);
}

export async function startRuntime(backend: string | undefined): Promise<void> {
  const info = await initRuntime(backend ? { backend: backend as 'auto' } : {});
  new Logger('kdasr').info(`backend ${info.backend}, ${info.threads} thread(s)`);
}

export const DECODE_OPTIONS = {
  model: { type: 'string' },
  ...CORPUS_OPTIONS,
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

const D = WORD_DECODE_DEFAULTS;
export const DECODE_HELP_OPTIONS = `  --model EXPDIR        a kdasr train output (model/ or member-<i>/model of an ensemble, lang.json, lm-text.txt)
${CORPUS_HELP}
  --feats DIR           feature archive of the split (kdasr features)
  --out DIR             output directory
  --combine C           ensemble posteriors: arithmetic | geometric (default arithmetic)
  --engine E            posteriors on native | tfjs | auto (default auto)
  --lm-text FILE        LM training sentences (default EXPDIR/lm-text.txt: the training transcripts)
  --acoustic-scale S    default ${D.acousticScale}     --lm-weight W      default ${D.lmWeight}
  --word-penalty P      default ${D.wordInsertionPenalty}       --beam B           default ${D.beam}
  --prior-scale S       default ${D.priorScale}       --silence-prob P   default ${D.silenceProb}
  --utts FILE           only these utterance ids (one per line), e.g. EXPDIR/dev-utts.txt for tuning
  --backend B           tensor backend`;

export function decodeSettings(values: Record<string, string | boolean | undefined>, cmd: string): WordDecodeSettings {
  const num = (k: string, d: number, ok: (n: number) => boolean): number => {
    const v = values[k];
    if (v === undefined) return d;
    const n = Number(v);
    if (!ok(n)) throw new CliError(`${cmd}: --${k} got "${v}", which is out of range`);
    return n;
  };
  return {
    acousticScale: num('acoustic-scale', D.acousticScale, (n) => n > 0),
    lmWeight: num('lm-weight', D.lmWeight, (n) => n >= 0),
    wordInsertionPenalty: num('word-penalty', D.wordInsertionPenalty, Number.isFinite),
    beam: num('beam', D.beam, (n) => n > 0),
    priorScale: num('prior-scale', D.priorScale, (n) => n >= 0),
    silenceProb: num('silence-prob', D.silenceProb, (n) => n >= 0 && n <= 1),
  };
}
