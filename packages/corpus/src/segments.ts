/**
 * The feature-extraction work list of a corpus: one entry per supervision (Kaldi's utterance), with its
 * recording's audio source and, for a segment of a longer recording, its start and end times. This is what
 * Kaldi's `extract-segments wav.scp segments ark:- | compute-fbank-feats` iterates over.
 */
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { segmentEndSec, type AudioSource } from '@kdasr/audio-features';
import { MANIFEST_FILES, RecordingSchema, SupervisionSchema, readJsonl } from './manifest.js';
import { CorpusError } from './problems.js';
import { readSplits, selectSplit, type SplitName } from './splits.js';
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

export interface CorpusSegmentOptions {
  /** train, dev or test (from splits.json), or 'all' (default). */
  split?: SplitName | 'all';
}

/**
 * Segment jobs of a corpus directory (recordings.jsonl + supervisions.jsonl [+ splits.json]), or of a
 * supervisions manifest file whose directory holds the recordings manifest.
 */
export function corpusSegments(path: string, opts: CorpusSegmentOptions = {}): SegmentJob[] {
  if (!existsSync(path)) throw new CorpusError('cannot list corpus segments', [{ file: path, message: 'does not exist (give a corpus directory or its supervisions.jsonl)' }]);
  const isDir = statSync(path).isDirectory();
  const dir = isDir ? path : dirname(path);
  const supFile = isDir ? join(dir, MANIFEST_FILES.supervisions) : path;
  if (!isDir && basename(path) === MANIFEST_FILES.recordings)
    throw new CorpusError('cannot list corpus segments', [{ file: path, message: `is a recordings manifest; give the corpus directory or ${MANIFEST_FILES.supervisions}` }]);
  const recs = new Map(readJsonl(join(dir, MANIFEST_FILES.recordings), RecordingSchema).map((r) => [r.id, r]));
  let sups = readJsonl(supFile, SupervisionSchema);
  const split = opts.split ?? 'all';
  if (split !== 'all') sups = selectSplit(sups, readSplits(join(dir, MANIFEST_FILES.splits)), split);
  const problems = [];
  const jobs: SegmentJob[] = [];
  for (const s of sups) {
    const r = recs.get(s.recordingId);
    if (!r) {
      problems.push({ file: supFile, field: s.id, message: `recording "${s.recordingId}" is not in ${join(dir, MANIFEST_FILES.recordings)}` });
      continue;
    }
    const recDur = r.numSamples / r.sampleRateHz;
    const whole = s.startSec === 0 && Math.abs(s.durationSec - recDur) < 0.5 / r.sampleRateHz;
    jobs.push({
      id: s.id,
      recordingId: r.id,
      speaker: s.speaker,
      source: recordingSource(dir, r),
      ...(whole ? {} : { segment: { startSec: s.startSec, endSec: segmentEndSec(s.startSec, s.durationSec) } }),
      ...(s.channel !== undefined ? { channel: s.channel } : {}),
    });
  }
  if (problems.length) throw new CorpusError(`cannot list the segments of ${path}`, problems);
  return jobs;
}
