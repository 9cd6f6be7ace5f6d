import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '@kdasr/core';
import { computeWer, formatAlignmentReport, formatWerSummary, parseUtt2Spk, readKaldiText } from '@kdasr/decoding';
import { CliError, parseCommandArgs } from '../args.js';
import type { Command } from './registry.js';

const help = `usage: kdasr score --ref REF --hyp HYP [--json] [--report FILE] [--allow-extra] [--utt2spk FILE]

Word error rate of Kaldi-style text files (\`utt-id word word ...\` per line), printed as Kaldi's
compute-wer does:
  %WER 12.34 [ 10 / 81, 2 ins, 3 del, 5 sub ]
  %SER 50.00 [ 2 / 4 ]
An utterance missing from HYP counts as all deletions; an id in HYP but not in REF is an error.

options:
  --ref FILE       reference transcripts
  --hyp FILE       hypothesis transcripts
  --json           print the totals (and per-utterance counts) as JSON instead
  --report FILE    write an sclite-style per-utterance alignment report (REF/HYP/Eval lines)
  --allow-extra    ignore (with a warning) HYP ids that are not in REF
  --utt2spk FILE   add per-speaker totals (Kaldi utt2spk: \`utt-id speaker-id\` per line)`;

export const command: Command = {
  name: 'score',
  summary: 'word error rate of hypothesis vs reference Kaldi text files (--json, --report)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'score',
      argv,
      {
        ref: { type: 'string' },
        hyp: { type: 'string' },
        json: { type: 'boolean' },
        report: { type: 'string' },
        'allow-extra': { type: 'boolean' },
        utt2spk: { type: 'string' },
      },
      help,
    );
    if (values.help) {
      console.log(help);
      return 0;
    }
    if (positionals.length > 0) throw new CliError(`score: unexpected argument "${positionals[0]}"\n\n${help}`);
    if (!values.ref || !values.hyp) throw new CliError(`score: --ref and --hyp are both required\n\n${help}`);
    const ref = readKaldiText(values.ref);
    const hyp = readKaldiText(values.hyp);
    let speakerOf: ((id: string) => string) | undefined;
    if (values.utt2spk) {
      const path = values.utt2spk;
      const map = parseUtt2Spk(readFileSync(path, 'utf8'), path);
      speakerOf = (id) => {
        const s = map.get(id);
        if (s === undefined) throw new Error(`${path}: no speaker for utterance "${id}"; add a line "${id} <speaker>"`);
        return s;
      };
    }
    const result = computeWer(ref, hyp, { allowExtra: values['allow-extra'], speakerOf, refName: values.ref, hypName: values.hyp });
    if (result.extraInHyp.length > 0) {
      console.error(`kdasr score: warning: ignored ${result.extraInHyp.length} utterance(s) in ${values.hyp} not in ${values.ref}`);
    }
    if (values.report) writeFileAtomic(values.report, formatAlignmentReport(result));
    if (values.json) {
      const utterances = result.utterances.map((u) => ({
        id: u.id,
        refWords: u.refWords,
        errors: u.errors,
        substitutions: u.substitutions,
        deletions: u.deletions,
        insertions: u.insertions,
        missingHyp: u.missingHyp,
      }));
      console.log(
        JSON.stringify(
          { ref: values.ref, hyp: values.hyp, ...result.total, missingInHyp: result.missingInHyp, extraInHyp: result.extraInHyp, speakers: result.speakers, utterances },
          null,
          2,
        ),
      );
    } else {
      console.log(formatWerSummary(result));
    }
    return 0;
  },
};
