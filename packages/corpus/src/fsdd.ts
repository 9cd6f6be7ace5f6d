/**
 * Free Spoken Digit Dataset (FSDD, real speech, 8 kHz, 6 speakers × 10 digits × 50 takes) as manifests:
 *   isolated/{train,test}   one recording per take (pointing at the source wav), official split:
 *                           take index 0-4 = test, 5-49 = train
 *   connected/{train,test}  connected-digit utterances: 3-7 takes of one speaker (same split) joined with
 *                           short silent gaps, written as wavs, with exact word boundaries
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeWav, readWav } from '@kdasr/audio-features';
import { Rng, writeFileAtomic, writeJsonAtomic } from '@kdasr/core';
import { wavInfo } from './audio.js';
import { AlignmentSchema, MANIFEST_FILES, RecordingSchema, SupervisionSchema, writeJsonl, type Alignment, type Recording, type Supervision } from './manifest.js';
import { CorpusError, type Problem } from './problems.js';

export const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

/** ../shared/data/fsdd relative to the repository root (packages/corpus/src -> ../../../../shared/data/fsdd). */
export const DEFAULT_FSDD_DIR = resolve(fileURLToPath(new URL('../../../../shared/data/fsdd', import.meta.url)));

export interface FsddTake {
  file: string;
  digit: number;
  speaker: string;
  index: number;
  split: 'train' | 'test';
}

const NAME = /^(\d)_([a-z]+)_(\d+)\.wav$/;

/** Takes from recordings/{digit}_{speaker}_{index}.wav; the split follows the index (0-4 test). */
export function listFsdd(src: string): FsddTake[] {
  const dir = join(src, 'recordings');
  if (!existsSync(dir))
    throw new CorpusError('cannot import FSDD', [{ file: dir, message: 'directory does not exist; --src must be the FSDD root holding recordings/ (e.g. ../shared/data/fsdd)' }]);
  const problems: Problem[] = [];
  const takes: FsddTake[] = [];
  for (const f of readdirSync(dir).sort()) {
    if (!f.endsWith('.wav')) continue;
    const m = NAME.exec(f);
    if (!m) {
      problems.push({ file: join(dir, f), message: 'name does not match {digit}_{speaker}_{index}.wav' });
      continue;
    }
    const index = Number(m[3]);
    takes.push({ file: join(dir, f), digit: Number(m[1]), speaker: m[2], index, split: index <= 4 ? 'test' : 'train' });
  }
  if (problems.length) throw new CorpusError(`FSDD ${src} has unexpected files`, problems);
  if (takes.length === 0) throw new CorpusError('cannot import FSDD', [{ file: dir, message: 'no .wav files found' }]);
  return takes;
}

export interface FsddOptions {
  src: string;
  outDir: string;
  seed?: number;
  /** Digits per connected utterance (inclusive range). */
  digitsPerUtterance?: [number, number];
  /** Silence between joined takes, seconds (inclusive range). */
  gapSec?: [number, number];
}

export interface FsddSummary {
  isolated: { train: number; test: number };
  connected: { train: number; test: number };
  speakers: string[];
  hoursConnected: number;
}

function writeSet(dir: string, recs: Recording[], sups: Supervision[], alis: Alignment[]): void {
  writeJsonl(join(dir, MANIFEST_FILES.recordings), recs, RecordingSchema);
  writeJsonl(join(dir, MANIFEST_FILES.supervisions), sups, SupervisionSchema);
  writeJsonl(join(dir, MANIFEST_FILES.alignments), alis, AlignmentSchema);
}

export function importFsdd(opts: FsddOptions): FsddSummary {
  const takes = listFsdd(opts.src);
  const seed = opts.seed ?? 1;
  const [dMin, dMax] = opts.digitsPerUtterance ?? [3, 7];
  const [gMin, gMax] = opts.gapSec ?? [0.05, 0.25];
  const problems: Problem[] = [];
  const speakers = [...new Set(takes.map((t) => t.speaker))].sort();
  const summary: FsddSummary = { isolated: { train: 0, test: 0 }, connected: { train: 0, test: 0 }, speakers, hoursConnected: 0 };
  for (const split of ['train', 'test'] as const) {
    // Isolated digits: the source files as they are.
    const recs: Recording[] = [];
    const sups: Supervision[] = [];
    const alis: Alignment[] = [];
    const mine = takes.filter((t) => t.split === split);
    for (const t of mine) {
      let info;
      try {
        info = wavInfo(t.file);
      } catch (e) {
        problems.push({ file: t.file, message: (e as Error).message });
        continue;
      }
      if (info.numChannels !== 1 || info.sampleRateHz !== 8000)
        problems.push({ file: t.file, message: `expected mono 8000 Hz (FSDD v1.0.10), got ${info.numChannels} ch ${info.sampleRateHz} Hz` });
      const id = `fsdd-${t.speaker}-${t.digit}-${String(t.index).padStart(2, '0')}`;
      const dur = info.numFrames / info.sampleRateHz;
      recs.push({ id, path: resolve(t.file), sampleRateHz: info.sampleRateHz, numSamples: info.numFrames, numChannels: info.numChannels, speaker: t.speaker });
      sups.push({ id, recordingId: id, startSec: 0, durationSec: dur, text: DIGIT_WORDS[t.digit], speaker: t.speaker });
      alis.push({ id, recordingId: id, words: [{ word: DIGIT_WORDS[t.digit], startSec: 0, endSec: dur }], phones: [] });
    }
    if (problems.length) continue;
    writeSet(join(opts.outDir, 'isolated', split), recs, sups, alis);
    summary.isolated[split] = recs.length;

    // Connected digits: each take used once, grouped within one speaker.
    const cRecs: Recording[] = [];
    const cSups: Supervision[] = [];
    const cAlis: Alignment[] = [];
    for (const spk of speakers) {
      const rng = new Rng(seed).fork(`fsdd:${split}:${spk}`);
      const pool = rng.shuffle(mine.filter((t) => t.speaker === spk));
      let k = 0;
      for (let i = 0; i < pool.length; k++) {
        const n = Math.min(pool.length - i, dMin + rng.int(dMax - dMin + 1));
        const group = pool.slice(i, i + n);
        i += n;
        const rate = 8000;
        const pieces: { samples: Float32Array; at: number }[] = [];
        const words: Alignment['words'] = [];
        // Gaps are whole samples, so word boundaries are exact sample positions.
        let pos = Math.round(rng.uniform(gMin, gMax) * rate);
        for (const t of group) {
          const a = readWav(t.file);
          pieces.push({ samples: a.samples, at: pos });
          words.push({ word: DIGIT_WORDS[t.digit], startSec: pos / rate, endSec: (pos + a.samples.length) / rate });
          pos += a.samples.length + Math.round(rng.uniform(gMin, gMax) * rate);
        }
        const out = new Float32Array(pos);
        for (const p of pieces) out.set(p.samples, p.at);
        const id = `fsdd-${spk}-${split}-conn${String(k).padStart(3, '0')}`;
        const path = `wav/${spk}/${id}.wav`;
        writeFileAtomic(join(opts.outDir, 'connected', split, path), encodeWav(out, rate, { bitDepth: 16 }));
        cRecs.push({ id, path, sampleRateHz: rate, numSamples: out.length, numChannels: 1, speaker: spk, meta: { takes: group.map((t) => t.file.split('/').pop()) } });
        cSups.push({ id, recordingId: id, startSec: 0, durationSec: out.length / rate, text: words.map((w) => w.word).join(' '), speaker: spk });
        cAlis.push({ id, recordingId: id, words, phones: [] });
        summary.hoursConnected += out.length / rate / 3600;
      }
    }
    writeSet(join(opts.outDir, 'connected', split), cRecs, cSups, cAlis);
    summary.connected[split] = cRecs.length;
  }
  if (problems.length) throw new CorpusError(`FSDD import from ${opts.src} failed`, problems);
  writeJsonAtomic(join(opts.outDir, 'fsdd.json'), {
    source: resolve(opts.src),
    licence: 'CC BY-SA 4.0, Free Spoken Digit Dataset (FSDD), Zohar Jackson and contributors',
    split: 'official: take index 0-4 test, 5-49 train',
    seed,
    ...summary,
  });
  return summary;
}

export function fsddAvailable(dir = DEFAULT_FSDD_DIR): boolean {
  return existsSync(join(dir, 'recordings'));
}
