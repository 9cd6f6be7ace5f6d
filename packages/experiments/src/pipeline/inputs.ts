/**
 * Inputs the train / align / decode / eval pipelines share: a corpus split, a feature archive's frame timing, an
 * experiment's lang.json and LM text, and an utterance subset. Errors in what the caller passed are InputErrors
 * (the CLI exits 2 on them, as on a bad flag).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FeatureArchive, parseFbankConfig } from '@kdasr/audio-features';
import type { FrameOptions } from '@kdasr/core';
import { readCorpusSplit, type Alignment, type CorpusInput, type Supervision } from '@kdasr/corpus';
import type { Lang } from '../lang.js';

/** An error in the caller's inputs (a missing file, a bad setting): the CLI prints it without a stack, exit 2. */
export class InputError extends Error {
  readonly exitCode = 2;
}

export const LANG_FILE = 'lang.json';

/** Supervisions and alignments of the split `input` names (see readCorpusSplit). */
export function readCorpus(input: CorpusInput | string): { sups: Supervision[]; alis: Map<string, Alignment>; source: string } {
  let split;
  try {
    split = readCorpusSplit(typeof input === 'string' ? { corpus: input } : input);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
  return { sups: split.supervisions, alis: split.alignments, source: split.source };
}

/** Frame timing of one archive entry (sample rate from the entry, framing from the archive's fbank config). */
export function frameOptionsOf(archive: FeatureArchive, id: string): FrameOptions {
  const cfg = (archive.index.config ?? {}) as { options?: Record<string, unknown> };
  const rate = Number(archive.entry(id).meta?.sampleRateHz);
  const fb = parseFbankConfig({ ...(cfg.options ?? {}), ...(rate > 0 ? { sampleRateHz: rate } : {}) });
  return { sampleRateHz: fb.sampleRateHz, frameLengthMs: fb.frameLengthMs, frameShiftMs: fb.frameShiftMs, snipEdges: fb.snipEdges };
}

/** DIR/lang.json of a kdasr train or kdasr align output. */
export function readLang(dir: string): Lang {
  const f = join(dir, LANG_FILE);
  if (!existsSync(f)) throw new InputError(`${f} does not exist; pass a directory written by kdasr train or kdasr align`);
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as Lang;
  } catch (e) {
    throw new InputError(`${f}: not valid JSON (${(e as Error).message}); rerun kdasr train to rewrite it`);
  }
}

export function readLmText(file: string): string[] {
  if (!existsSync(file)) throw new InputError(`${file} does not exist; pass --lm-text FILE (one sentence per line) or use a kdasr train output`);
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
}

/** Supervisions restricted to the ids listed in `file` (one per line), when given. */
export function selectUtts(sups: Supervision[], file: string | undefined): Supervision[] {
  if (!file) return sups;
  if (!existsSync(file)) throw new InputError(`--utts ${file} does not exist; pass a file of utterance ids, one per line`);
  const ids = new Set(readFileSync(file, 'utf8').split(/\s+/).filter(Boolean));
  const out = sups.filter((s) => ids.has(s.id));
  if (out.length === 0) throw new InputError(`--utts ${file}: none of its ${ids.size} ids is in the corpus; pass ids of this split`);
  return out;
}
