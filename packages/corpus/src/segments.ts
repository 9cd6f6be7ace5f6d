/**
 * The feature-extraction work list of a corpus: one entry per supervision (Kaldi's utterance), with its
 * recording's audio source and, for a segment of a longer recording, its start and end times. This is what
 * Kaldi's `extract-segments wav.scp segments ark:- | compute-fbank-feats` iterates over.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { segmentEndSec, type AudioSource } from '@kdasr/audio-features';
import { readCorpusSplit, type CorpusInput, type CorpusSplit } from './corpus-input.js';
import { MANIFEST_FILES } from './manifest.js';
import { CorpusError } from './problems.js';
import { recordingSource } from './validate.js';

export interface SegmentJob {
  /** The supervision id: the key of its features. */
  id: string;
  recordingId: string;
  speaker: string;
  source: AudioSource;
  /** Absent when the supervision covers its whole recording. */
  segment?: { startSec: number; endSec: number };
  channel?: number;
}

/**
 * Segment jobs of one split, named as every command names it (readCorpusSplit): `{corpus, split}` (a split
 * subdirectory, or speakers from splits.json, or `all`), `{corpus}` (a directory that is one split), or
 * `{manifest}` (a supervisions.jsonl with recordings.jsonl beside it).
 */
export function corpusSegments(input: CorpusInput): SegmentJob[] {
  let sp: CorpusSplit;
  try {
    sp = readCorpusSplit(input);
  } catch (e) {
    if (e instanceof CorpusError) throw e;
    throw new CorpusError('cannot list corpus segments', [{ file: input.manifest ?? input.corpus ?? '(none)', message: (e as Error).message }]);
  }
  const recFile = join(sp.dir, MANIFEST_FILES.recordings);
  if (!existsSync(recFile)) throw new CorpusError('cannot list corpus segments', [{ file: recFile, message: 'file does not exist (features need the recordings manifest)' }]);
  const recs = new Map(sp.recordings.map((r) => [r.id, r]));
  const problems = [];
  const jobs: SegmentJob[] = [];
  for (const s of sp.supervisions) {
    const r = recs.get(s.recordingId);
    if (!r) {
      problems.push({ file: join(sp.dir, MANIFEST_FILES.supervisions), field: s.id, message: `recording "${s.recordingId}" is not in ${recFile}` });
      continue;
    }
    const recDur = r.numSamples / r.sampleRateHz;
    const whole = s.startSec === 0 && Math.abs(s.durationSec - recDur) < 0.5 / r.sampleRateHz;
    jobs.push({
      id: s.id,
      recordingId: r.id,
      speaker: s.speaker,
      source: recordingSource(sp.dir, r),
      ...(whole ? {} : { segment: { startSec: s.startSec, endSec: segmentEndSec(s.startSec, s.durationSec) } }),
      ...(s.channel !== undefined ? { channel: s.channel } : {}),
    });
  }
  if (problems.length) throw new CorpusError(`cannot list the segments of ${sp.source}`, problems);
  return jobs;
}
