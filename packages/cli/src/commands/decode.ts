/** `kdasr decode`: parses its flags and calls decodeCorpus (@kdasr/experiments): model + bigram LM -> Kaldi hyp text. */
import { Logger, lockDirectory } from '@kdasr/core';
import { decodeCorpus } from '@kdasr/experiments';
import { parseCommandArgs } from '../args.js';
import { DECODE_HELP_OPTIONS, DECODE_OPTIONS, combineFlag, corpusInput, decodeSettings, engineFlag, noPositionals, requireFlags, startRuntime } from '../flags.js';
import type { Command } from './registry.js';

const HELP = `usage: kdasr decode --model EXPDIR (--corpus DIR [--split NAME] | --manifest FILE) --feats DIR --out DIR [options]

Viterbi beam search over lexicon + bigram LM + HMMs with the model's scaled log-likelihoods. Writes
DIR/hyp.txt and DIR/ref.txt (Kaldi text: utt-id word ...; score with kdasr score) and DIR/decode.json.
Progress goes to stderr; an interrupted run resumes from DIR/partial.jsonl when rerun with the same flags.

${DECODE_HELP_OPTIONS}`;

export const command: Command = {
  name: 'decode',
  summary: 'decode a corpus split with a trained acoustic model and a bigram LM (Kaldi-style hyp text)',
  options: DECODE_OPTIONS,
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('decode', argv, DECODE_OPTIONS, HELP);
    if (values.help) return (console.log(HELP), 0);
    noPositionals(positionals, 'decode', HELP);
    requireFlags(values, ['model'], 'decode', HELP);
    const input = corpusInput(values, 'decode', HELP);
    requireFlags(values, ['feats', 'out'], 'decode', HELP);
    lockDirectory(values.out!, { command: ['kdasr', 'decode', ...argv].join(' ') }); // one writer per --out; released at exit
    const settings = decodeSettings(values, 'decode');
    const engine = engineFlag(values.engine, 'decode');
    const combine = combineFlag(values.combine, 'decode');
    await startRuntime(values.backend);
    const r = await decodeCorpus({ model: values.model!, input, feats: values.feats!, out: values.out!, lmText: values['lm-text'], settings, utts: values.utts, engine, combine, command: ['kdasr', 'decode', ...argv], resumeKey: values, log: new Logger('decode') });
    console.log(`decoded ${r.utterances} utterances (${r.notReachedFinal} did not reach the final state) -> ${r.hypFile}`);
    return 0;
  },
};
