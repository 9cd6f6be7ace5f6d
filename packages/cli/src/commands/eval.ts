/** `kdasr eval`: parses its flags and calls evaluateModel (@kdasr/experiments): decode + WER, and frame metrics. */
import { Logger, lockDirectory } from '@kdasr/core';
import { evaluateModel } from '@kdasr/experiments';
import { parseCommandArgs } from '../args.js';
import { DECODE_HELP_OPTIONS, DECODE_OPTIONS, combineFlag, corpusInput, decodeSettings, engineFlag, noPositionals, requireFlags, startRuntime } from '../flags.js';
import type { Command } from './registry.js';

const HELP = `usage: kdasr eval --model EXPDIR (--corpus DIR [--split NAME] | --manifest FILE) --feats DIR --out DIR [--ali DIR] [decode options]

Decodes the split, scores WER against its transcripts (DIR/wer.txt, DIR/hyp.txt, DIR/ref.txt), and with
--ali (labels from kdasr align on this split) adds frame accuracy, ECE (15 bins) and top phone confusions.
Everything lands in DIR/eval.json. An interrupted run resumes from DIR/partial.jsonl when rerun with the same flags.

  --ali DIR             frame labels for the frame metrics
${DECODE_HELP_OPTIONS}`;

const OPTIONS = { ...DECODE_OPTIONS, ali: { type: 'string' } } as const;

export const command: Command = {
  name: 'eval',
  summary: 'evaluate an acoustic model: WER (decode + score) and frame accuracy / ECE / confusions',
  options: OPTIONS,
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('eval', argv, OPTIONS, HELP);
    if (values.help) return (console.log(HELP), 0);
    noPositionals(positionals, 'eval', HELP);
    requireFlags(values, ['model'], 'eval', HELP);
    const input = corpusInput(values, 'eval', HELP);
    requireFlags(values, ['feats', 'out'], 'eval', HELP);
    lockDirectory(values.out!, { command: ['kdasr', 'eval', ...argv].join(' ') }); // one writer per --out; released at exit
    const settings = decodeSettings(values, 'eval');
    const engine = engineFlag(values.engine, 'eval');
    const combine = combineFlag(values.combine, 'eval');
    await startRuntime(values.backend);
    const r = await evaluateModel({ model: values.model!, input, feats: values.feats!, out: values.out!, ali: values.ali, lmText: values['lm-text'], settings, utts: values.utts, engine, combine, command: ['kdasr', 'eval', ...argv], resumeKey: values, log: new Logger('eval') });
    console.log(r.werSummary);
    const f = r.frames;
    if (f)
      console.log(
        `frame accuracy ${f.frameAccuracy.toFixed(4)} (phone ${f.phoneAccuracy.toFixed(4)}), ECE ${f.ece.toFixed(4)}, top confusions: ${f.confusions
          .slice(0, 5)
          .map((c) => `${c.ref}->${c.hyp} ${(100 * c.rate).toFixed(1)}%`)
          .join(', ')}`,
      );
    return 0;
  },
};
