import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MANIFEST_FILES, RecordingSchema, SupervisionSchema, writeJsonl } from './manifest.js';
import { corpusSegments } from './segments.js';
import { writeSplits } from './splits.js';
import { tempDir } from './test/helpers.js';

const t = tempDir('segments');
afterAll(t.cleanup);

describe('corpusSegments', () => {
  const dir = join(t.dir, 'c');
  writeJsonl(join(dir, MANIFEST_FILES.recordings), [
    { id: 'r1', path: 'wav/r1.wav', sampleRateHz: 16000, numSamples: 16000, numChannels: 1, speaker: 'a' },
    { id: 'r2', command: 'sox x.flac -t wav -', sampleRateHz: 8000, numSamples: 16000, numChannels: 2, speaker: 'multiple' },
  ], RecordingSchema);
  writeJsonl(join(dir, MANIFEST_FILES.supervisions), [
    { id: 'u1', recordingId: 'r1', startSec: 0, durationSec: 1, text: 'a', speaker: 'a' },
    { id: 'u2', recordingId: 'r2', startSec: 0.37, durationSec: 0.86, text: 'b', speaker: 'b', channel: 1 },
    { id: 'u3', recordingId: 'r2', startSec: 1.3, durationSec: 0.5, text: 'c', speaker: 'c' },
  ], SupervisionSchema);
  writeSplits(join(dir, MANIFEST_FILES.splits), { seed: 1, train: ['a', 'c'], dev: ['b'], test: [] });

  it('lists one job per supervision: whole recordings without a segment, segments with the decimal end, channels', () => {
    expect(corpusSegments({ corpus: dir })).toEqual([
      { id: 'u1', recordingId: 'r1', speaker: 'a', source: { type: 'file', path: join(dir, 'wav/r1.wav') } },
      { id: 'u2', recordingId: 'r2', speaker: 'b', source: { type: 'command', command: 'sox x.flac -t wav -' }, segment: { startSec: 0.37, endSec: 1.23 }, channel: 1 },
      { id: 'u3', recordingId: 'r2', speaker: 'c', source: { type: 'command', command: 'sox x.flac -t wav -' }, segment: { startSec: 1.3, endSec: 1.8 } },
    ]);
    // The supervisions manifest as the input reads the same.
    expect(corpusSegments({ manifest: join(dir, MANIFEST_FILES.supervisions) })).toEqual(corpusSegments({ corpus: dir }));
  });

  it('selects a split by speaker and names bad inputs', () => {
    expect(corpusSegments({ corpus: dir, split: 'train' }).map((j) => j.id)).toEqual(['u1', 'u3']);
    expect(corpusSegments({ corpus: dir, split: 'dev' }).map((j) => j.id)).toEqual(['u2']);
    expect(corpusSegments({ corpus: dir, split: 'all' }).map((j) => j.id)).toEqual(['u1', 'u2', 'u3']);
    expect(() => corpusSegments({ manifest: join(dir, MANIFEST_FILES.recordings) })).toThrow(/is a recordings manifest; pass the supervisions\.jsonl beside it/);
    expect(() => corpusSegments({ corpus: join(t.dir, 'nope') })).toThrow(/nope is not a directory/);
    const noRecs = join(t.dir, 'no-recs');
    writeJsonl(join(noRecs, MANIFEST_FILES.supervisions), [{ id: 'u1', recordingId: 'r1', startSec: 0, durationSec: 1, text: 'a', speaker: 'a' }], SupervisionSchema);
    expect(() => corpusSegments({ corpus: noRecs })).toThrow(/no-recs\/recordings\.jsonl: file does not exist \(features need the recordings manifest\)/);
  });
});
