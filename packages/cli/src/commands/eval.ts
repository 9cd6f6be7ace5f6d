/** `kdasr eval`: decode + WER, and frame metrics (accuracy, ECE, confusions) against aligned labels. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FeatureArchive } from '@kdasr/audio-features';
import { provenance, writeJsonAtomic } from '@kdasr/core';
import { lockDirectory } from '@kdasr/core';
import { FrameDataset, evaluateFrames, type FrameEvaluation } from '@kdasr/acoustic-models';
import { computeWer, formatWerSummary, parseKaldiText } from '@kdasr/decoding';
import { CliError, parseCommandArgs } from '../args.js';
import type { Command } from './registry.js';
import { DECODE_HELP_OPTIONS, DECODE_OPTIONS, decodeSet, decodeSettings, loadModelFlags, readLmText, selectUtts } from './decode.js';
import { aliTargets, combineFlag, engineFlag, readAli, readCorpus, readLang, startRuntime } from './train.js';

const HELP = `usage: kdasr eval --model EXPDIR --corpus DIR --feats DIR --out DIR [--ali DIR] [decode options]

Decodes the split, scores WER against its transcripts (DIR/wer.txt, DIR/hyp.txt, DIR/ref.txt), and with
--ali (labels from kdasr align on this split) adds frame accuracy, ECE (15 bins) and top phone confusions.
Everything lands in DIR/eval.json. An interrupted run resumes from DIR/partial.jsonl when rerun with the same flags.

  --ali DIR             frame labels for the frame metrics
${DECODE_HELP_OPTIONS}`;

export const command: Command = {
  name: 'eval',
  summary: 'evaluate an acoustic model: WER (decode + score) and frame accuracy / ECE / confusions',
  async run(argv) {
    const { values, positionals } = parseCommandArgs('eval', argv, { ...DECODE_OPTIONS, ali: { type: 'string' } }, HELP);
    if (values.help) return (console.log(HELP), 0);
    if (positionals.length) throw new CliError(`eval: unexpected argument "${positionals[0]}"\n\n${HELP}`);
    if (!values.model || !values.corpus || !values.feats || !values.out) throw new CliError(`eval: --model, --corpus, --feats and --out are required\n\n${HELP}`);
    lockDirectory(values.out, { command: ['kdasr', 'eval', ...argv].join(' ') }); // one writer per --out; released at exit
    const settings = decodeSettings(values, 'eval');
    engineFlag(values.engine, 'eval');
    combineFlag(values.combine, 'eval');
    await startRuntime(values.backend);
    const lang = readLang(values.model);
    const am = await loadModelFlags(values, 'eval');
    const archive = FeatureArchive.open(values.feats);
    const sups = selectUtts(readCorpus(values.corpus).sups, values.utts);
    let frames: FrameEvaluation | undefined;
    if (values.ali) {
      // Labels in the model's classes: monophone states, or with a tree each frame's (phone, state, contexts) pdf.
      const ali = readAli(values.ali);
      const utts = sups.filter((s) => archive.has(s.id) && ali.has(s.id)).map((s) => ({ id: s.id, features: archive.get(s.id), labels: aliTargets(ali.get(s.id)!, am.inventory, am.tree), speaker: s.speaker }));
      const ds = new FrameDataset(utts, { numClasses: am.model.numClasses, frontend: am.frontend, source: values.ali });
      frames = evaluateFrames(am.model, ds, am.tree ? am.tree.pdfClasses() : am.inventory);
    }
    const { hyp, ref, notFinal, done } = decodeSet(am, lang, readLmText(values['lm-text'] ?? join(values.model, 'lm-text.txt')), sups, archive, settings, 'eval', values);
    const wer = computeWer(parseKaldiText(ref.join('\n'), 'ref'), parseKaldiText(hyp.join('\n'), 'hyp'));
    mkdirSync(values.out, { recursive: true });
    writeFileSync(join(values.out, 'hyp.txt'), hyp.join('\n') + '\n');
    writeFileSync(join(values.out, 'ref.txt'), ref.join('\n') + '\n');
    const summary = formatWerSummary(wer);
    writeFileSync(join(values.out, 'wer.txt'), summary + '\n');
    writeJsonAtomic(join(values.out, 'eval.json'), {
      command: ['kdasr', 'eval', ...argv],
      model: resolve(values.model),
      corpus: resolve(values.corpus),
      settings,
      engine: am.engine,
      numPdfs: am.tree?.numPdfs,
      members: am.members,
      combine: am.members > 1 ? (values.combine ?? 'arithmetic') : undefined,
      wer: wer.total,
      notReachedFinal: notFinal,
      frames,
      provenance: provenance(),
    });
    done();
    console.log(summary);
    if (frames)
      console.log(
        `frame accuracy ${frames.frameAccuracy.toFixed(4)} (phone ${frames.phoneAccuracy.toFixed(4)}), ECE ${frames.ece.toFixed(4)}, top confusions: ${frames.confusions
          .slice(0, 5)
          .map((c) => `${c.ref}->${c.hyp} ${(100 * c.rate).toFixed(1)}%`)
          .join(', ')}`,
      );
    am.model.dispose();
    archive.close();
    return 0;
  },
};
