/** `kdasr align`: parses its flags and calls alignCorpus (@kdasr/experiments), forced alignment for retraining. */
import { Logger, lockDirectory } from '@kdasr/core';
import { alignCorpus } from '@kdasr/experiments';
import { CliError, parseCommandArgs } from '../args.js';
import { CORPUS_HELP, CORPUS_OPTIONS, combineFlag, corpusInput, engineFlag, noPositionals, requireFlags, startRuntime } from '../flags.js';
import type { Command } from './registry.js';

const HELP = `usage: kdasr align --model EXPDIR (--corpus DIR [--split NAME] | --manifest FILE) --feats DIR --out DIR [options]

Viterbi forced alignment of each transcript (optional silence between words) over the model's scaled
log-likelihoods (through EXPDIR/tree.json's context-dependent pdfs when the model has a tree). Writes
DIR/labels.jsonl ({id, labels: per-frame model outputs (state or tree pdf ids), mono: per-frame monophone
state ids, phones: segments}), DIR/lang.json
and DIR/align.json (summary, failures). Retrain with kdasr train --ali DIR. Progress goes to stderr; an
interrupted run resumes from DIR/partial.jsonl when rerun with the same flags.

  --model EXPDIR        a kdasr train output (model/ or member-<i>/model of an ensemble, lang.json)
${CORPUS_HELP}
  --feats DIR           feature archive of the split (kdasr features)
  --out DIR             output directory
  --combine C           ensemble posteriors: arithmetic | geometric (default arithmetic)
  --engine E            posteriors on native | tfjs | auto (default auto)
  --acoustic-scale S    default 1
  --prior-scale S       default 1
  --backend B           tensor backend`;

export const OPTIONS = {
  model: { type: 'string' },
  ...CORPUS_OPTIONS,
  feats: { type: 'string' },
  out: { type: 'string' },
  'acoustic-scale': { type: 'string' },
  'prior-scale': { type: 'string' },
  combine: { type: 'string' },
  engine: { type: 'string' },
  backend: { type: 'string' },
} as const;

export const command: Command = {
  name: 'align',
  summary: 'forced-align a corpus with a trained acoustic model (frame labels for retraining)',
  options: OPTIONS,
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('align', argv, OPTIONS, HELP);
    if (values.help) return (console.log(HELP), 0);
    noPositionals(positionals, 'align', HELP);
    requireFlags(values, ['model'], 'align', HELP);
    const input = corpusInput(values, 'align', HELP);
    requireFlags(values, ['feats', 'out'], 'align', HELP);
    lockDirectory(values.out!, { command: ['kdasr', 'align', ...argv].join(' ') }); // one writer per --out; released at exit
    const acousticScale = Number(values['acoustic-scale'] ?? 1);
    const priorScale = Number(values['prior-scale'] ?? 1);
    if (!(acousticScale > 0) || !(priorScale >= 0)) throw new CliError('align: --acoustic-scale must be > 0 and --prior-scale >= 0');
    const engine = engineFlag(values.engine, 'align');
    const combine = combineFlag(values.combine, 'align');
    await startRuntime(values.backend);
    const r = await alignCorpus({ model: values.model!, input, feats: values.feats!, out: values.out!, acousticScale, priorScale, engine, combine, command: ['kdasr', 'align', ...argv], resumeKey: values, log: new Logger('align') });
    console.log(`aligned ${r.aligned} utterances (${r.frames} frames), ${r.failed.length} failed -> ${r.labelsFile}`);
    return 0;
  },
};
