/** `kdasr align` as a library function: forced alignment of a corpus split with a model directory. */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FeatureArchive } from '@kdasr/audio-features';
import { Logger, provenance, writeJsonAtomic } from '@kdasr/core';
import { wordsOf, type CorpusInput } from '@kdasr/corpus';
import { LABELS_FILE, TREE_FILE, loadModelDir } from '@kdasr/acoustic-models';
import { forcedAlign, type PhoneSegment } from '@kdasr/decoding';
import { decodingLexicon, transitionModelOf } from '../lang.js';
import { LANG_FILE, readCorpus, readLang } from './inputs.js';
import { resumableRun } from './resumable.js';
import { uttLoglikes, type ModelInput } from './decode.js';

/**
 * labels.jsonl's phone spans are end-exclusive ([startFrame, endFrame), as readAli and the tree builder read them);
 * the decoder's segments end on their last frame (CTM convention), so each end moves one frame on.
 */
function aliPhones(segments: readonly PhoneSegment[]): PhoneSegment[] {
  return segments.map((p) => ({ ...p, endFrame: p.endFrame + 1 }));
}

export interface AlignCorpusOptions extends ModelInput {
  input: CorpusInput;
  feats: string;
  out: string;
  /** Default 1 (see the note in alignCorpus). */
  acousticScale?: number;
  priorScale?: number;
  command?: string[];
  /** What a rerun must share to resume from OUT/partial.jsonl (default: these options). */
  resumeKey?: Record<string, unknown>;
  log?: Logger;
}

export interface AlignCorpusResult {
  aligned: number;
  failed: { id: string; error: string }[];
  frames: number;
  labelsFile: string;
}

/**
 * Viterbi forced alignment of each transcript over the model's scaled log-likelihoods; writes OUT/labels.jsonl,
 * OUT/lang.json (and OUT/tree.json for a tree model) and OUT/align.json. Resumes after a kill.
 */
export async function alignCorpus(o: AlignCorpusOptions): Promise<AlignCorpusResult> {
  const log = o.log ?? new Logger('align');
  // 1, not Kaldi's 0.1: our graphs carry unscaled transition log-probs (Kaldi scales self-loops by 0.1), so a small
  // acoustic weight lets transitions swamp the DNN and merges repeated words.
  const acousticScale = o.acousticScale ?? 1;
  const priorScale = o.priorScale ?? 1;
  const lang = readLang(o.model);
  const am = await loadModelDir(o.model, { engine: o.engine, combine: o.combine });
  const archive = FeatureArchive.open(o.feats);
  try {
    const tm = transitionModelOf(lang, am.inventory, am.tree);
    const lexicon = decodingLexicon(lang);
    const { sups } = readCorpus(o.input);
    const mine = sups.filter((s) => archive.has(s.id));
    am.frontend.fit(mine.map((s) => ({ id: s.id, features: archive.get(s.id), speaker: s.speaker })));
    const { results, done } = resumableRun(
      mine,
      (s) => {
        try {
          const ll = uttLoglikes(am, s.id, archive, s.speaker, priorScale);
          const r = forcedAlign(ll, wordsOf(s.text), { lexicon, transitionModel: tm, uttId: s.id, acousticScale, silencePhone: lang.silencePhone });
          const mono = Array.from(r.hmmStates, (st, t) => am.inventory.classId(tm.phones[r.phones[t]], st));
          return { line: JSON.stringify({ id: s.id, labels: Array.from(r.pdfs), mono, phones: aliPhones(r.phoneSegments) }), score: r.score, frames: r.numFrames };
        } catch (e) {
          return { error: (e as Error).message, score: 0, frames: 0 };
        }
      },
      { out: o.out, settings: o.resumeKey ?? (o as unknown as Record<string, unknown>), log },
    );
    const lines = results.flatMap((r) => (r.line === undefined ? [] : [r.line]));
    const failed = results.flatMap((r, i) => (r.error === undefined ? [] : [{ id: mine[i].id, error: r.error }]));
    const score = results.reduce((a, r) => a + r.score, 0);
    const frames = results.reduce((a, r) => a + r.frames, 0);
    if (lines.length === 0) throw new Error(`align: every utterance failed; first: ${failed[0]?.error}`);
    mkdirSync(o.out, { recursive: true });
    const labelsFile = join(o.out, LABELS_FILE);
    writeFileSync(labelsFile, lines.join('\n') + '\n');
    copyFileSync(join(o.model, LANG_FILE), join(o.out, LANG_FILE));
    // The tree that numbered `labels` (for reference; kdasr train takes monophone targets from `mono`).
    if (existsSync(join(o.model, TREE_FILE))) copyFileSync(join(o.model, TREE_FILE), join(o.out, TREE_FILE));
    writeJsonAtomic(join(o.out, 'align.json'), {
      command: o.command,
      model: resolve(o.model),
      aligned: lines.length,
      failed,
      frames,
      meanScorePerFrame: score / frames,
      acousticScale,
      priorScale,
      engine: am.engine,
      numPdfs: am.tree?.numPdfs,
      members: am.members,
      combine: am.members > 1 ? (o.combine ?? 'arithmetic') : undefined,
      provenance: provenance(),
    });
    done();
    return { aligned: lines.length, failed, frames, labelsFile };
  } finally {
    am.model.dispose();
    archive.close();
  }
}
