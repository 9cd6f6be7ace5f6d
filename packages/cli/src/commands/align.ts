/** `kdasr align`: forced alignment of a corpus split with a trained model, writing frame labels for retraining. */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FeatureArchive } from '@kdasr/audio-features';
import { provenance, writeJsonAtomic } from '@kdasr/core';
import { lockDirectory } from '@kdasr/core';
import { wordsOf } from '@kdasr/corpus';
import { forcedAlign } from '@kdasr/decoding';
import { CliError, parseCommandArgs } from '../args.js';
import type { Command } from './registry.js';
import { LABELS_FILE, LANG_FILE, TREE_FILE, combineFlag, decodingLexicon, engineFlag, loadModelDir, readCorpus, readLang, resumableRun, startRuntime, transitionModelOf, uttLoglikes } from './train.js';

const HELP = `usage: kdasr align --model EXPDIR --corpus DIR --feats DIR --out DIR [options]

Viterbi forced alignment of each transcript (optional silence between words) over the model's scaled
log-likelihoods (through EXPDIR/tree.json's context-dependent pdfs when the model has a tree). Writes
DIR/labels.jsonl ({id, labels: per-frame model outputs (state or tree pdf ids), mono: per-frame monophone
state ids, phones: segments}), DIR/lang.json
and DIR/align.json (summary, failures). Retrain with kdasr train --ali DIR. Progress goes to stderr; an
interrupted run resumes from DIR/partial.jsonl when rerun with the same flags.

  --model EXPDIR        a kdasr train output (model/ or member-<i>/model of an ensemble, lang.json)
  --combine C           ensemble posteriors: arithmetic | geometric (default arithmetic)
  --engine E            posteriors on native | tfjs | auto (default auto)
  --acoustic-scale S    default 1
  --prior-scale S       default 1
  --backend B           tensor backend`;

export const command: Command = {
  name: 'align',
  summary: 'forced-align a corpus with a trained acoustic model (frame labels for retraining)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'align',
      argv,
      { model: { type: 'string' }, corpus: { type: 'string' }, feats: { type: 'string' }, out: { type: 'string' }, 'acoustic-scale': { type: 'string' }, 'prior-scale': { type: 'string' }, combine: { type: 'string' }, engine: { type: 'string' }, backend: { type: 'string' } },
      HELP,
    );
    if (values.help) return (console.log(HELP), 0);
    if (positionals.length) throw new CliError(`align: unexpected argument "${positionals[0]}"\n\n${HELP}`);
    if (!values.model || !values.corpus || !values.feats || !values.out) throw new CliError(`align: --model, --corpus, --feats and --out are required\n\n${HELP}`);
    lockDirectory(values.out, { command: ['kdasr', 'align', ...argv].join(' ') }); // one writer per --out; released at exit
    // 1, not Kaldi's 0.1: our graphs carry unscaled transition log-probs (Kaldi scales self-loops by 0.1), so a small
    // acoustic weight lets transitions swamp the DNN and merges repeated words.
    const acousticScale = Number(values['acoustic-scale'] ?? 1);
    const priorScale = Number(values['prior-scale'] ?? 1);
    if (!(acousticScale > 0) || !(priorScale >= 0)) throw new CliError('align: --acoustic-scale must be > 0 and --prior-scale >= 0');
    const engine = engineFlag(values.engine, 'align');
    const combine = combineFlag(values.combine, 'align');
    await startRuntime(values.backend);
    const lang = readLang(values.model);
    const am = await loadModelDir(values.model, { engine, combine });
    const tm = transitionModelOf(lang, am.inventory, am.tree);
    const lexicon = decodingLexicon(lang);
    const { sups } = readCorpus(values.corpus);
    const archive = FeatureArchive.open(values.feats);
    const speakers = sups.filter((s) => archive.has(s.id));
    am.frontend.fit(speakers.map((s) => ({ id: s.id, features: archive.get(s.id), speaker: s.speaker })));
    const { results, done } = resumableRun('align', values, speakers, (s) => {
      try {
        const ll = uttLoglikes(am, s.id, archive, s.speaker, priorScale);
        const r = forcedAlign(ll, wordsOf(s.text), { lexicon, transitionModel: tm, uttId: s.id, acousticScale, silencePhone: lang.silencePhone });
        const mono = Array.from(r.hmmStates, (st, t) => am.inventory.classId(tm.phones[r.phones[t]], st));
        return { line: JSON.stringify({ id: s.id, labels: Array.from(r.pdfs), mono, phones: r.phoneSegments }), score: r.score, frames: r.numFrames };
      } catch (e) {
        return { error: (e as Error).message, score: 0, frames: 0 };
      }
    });
    const lines = results.flatMap((r) => (r.line === undefined ? [] : [r.line]));
    const failed = results.flatMap((r, i) => (r.error === undefined ? [] : [{ id: speakers[i].id, error: r.error }]));
    const score = results.reduce((a, r) => a + r.score, 0);
    const frames = results.reduce((a, r) => a + r.frames, 0);
    if (lines.length === 0) throw new Error(`align: every utterance failed; first: ${failed[0]?.error}`);
    mkdirSync(values.out, { recursive: true });
    writeFileSync(join(values.out, LABELS_FILE), lines.join('\n') + '\n');
    copyFileSync(join(values.model, LANG_FILE), join(values.out, LANG_FILE));
    // The tree that numbered `labels` (for reference; kdasr train takes monophone targets from `mono`).
    if (existsSync(join(values.model, TREE_FILE))) copyFileSync(join(values.model, TREE_FILE), join(values.out, TREE_FILE));
    writeJsonAtomic(join(values.out, 'align.json'), {
      command: ['kdasr', 'align', ...argv],
      model: resolve(values.model),
      aligned: lines.length,
      failed,
      frames,
      meanScorePerFrame: score / frames,
      acousticScale,
      priorScale,
      engine: am.engine,
      numPdfs: am.tree?.numPdfs,
      members: am.members,
      combine: am.members > 1 ? combine : undefined,
      provenance: provenance(),
    });
    done();
    console.log(`aligned ${lines.length} utterances (${frames} frames), ${failed.length} failed -> ${join(values.out, LABELS_FILE)}`);
    am.model.dispose();
    archive.close();
    return 0;
  },
};
