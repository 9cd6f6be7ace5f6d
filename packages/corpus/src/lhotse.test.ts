import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { exportLhotse, findLhotseManifests, importLhotse, type LhotseRecording, type LhotseSupervision } from './lhotse.js';
import { AlignmentSchema, MANIFEST_FILES, RecordingSchema, SupervisionSchema, readJsonl, writeJsonl, type Alignment } from './manifest.js';
import { CorpusError, formatProblem } from './problems.js';
import { validateCorpus } from './validate.js';
import { tempDir, writeTone } from './test/helpers.js';

const fixture = fileURLToPath(new URL('./__fixtures__/lhotse/', import.meta.url));
const t = tempDir('lhotse');
afterAll(t.cleanup);

function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof CorpusError) return e.problems.map(formatProblem);
    throw e;
  }
  throw new Error('expected a CorpusError');
}

const gunzipJsonl = (file: string) =>
  gunzipSync(readFileSync(file))
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as unknown);

describe('importLhotse on manifests written by hand to lhotse\'s schema (__fixtures__/lhotse)', () => {
  const recs = join(fixture, 'recordings.jsonl');

  it('reads file and command sources, channels, speakers, text and word/phone alignments', () => {
    const r = importLhotse(recs, join(fixture, 'supervisions.jsonl'));
    expect(r.recordings).toEqual([
      { id: 'rec-1', path: resolve('audio/rec-1.wav'), sampleRateHz: 16000, numSamples: 32000, numChannels: 1, speaker: 'spk-a' },
      { id: 'rec-2', command: 'sox -n -r 8000 -b 16 -c 2 -t wav - synth 1.5 sine 300 sine 500', sampleRateHz: 8000, numSamples: 12000, numChannels: 2, speaker: 'multiple' },
    ]);
    expect(r.supervisions).toEqual([
      { id: 'rec-1-0', recordingId: 'rec-1', startSec: 0.1, durationSec: 0.9, text: 'hello world', speaker: 'spk-a' },
      { id: 'rec-1-1', recordingId: 'rec-1', startSec: 1.2, durationSec: 0.7, text: 'good morning', speaker: 'spk-a' },
      { id: 'rec-2-0', recordingId: 'rec-2', startSec: 0, durationSec: 1.5, text: 'yes', speaker: 'spk-b', channel: 1 },
      // No speaker in lhotse: the recording id (Kaldi's convention of a per-recording speaker); all channels: mixed.
      { id: 'rec-2-1', recordingId: 'rec-2', startSec: 0.2, durationSec: 1, text: 'no', speaker: 'rec-2' },
    ]);
    expect(r.alignments).toHaveLength(2);
    const [a, b] = r.alignments;
    expect(a.words).toEqual([
      { word: 'hello', startSec: 0.1, endSec: expect.closeTo(0.45, 12) },
      { word: 'world', startSec: 0.5, endSec: 1 },
    ]);
    // Phones get the word whose span holds their midpoint; the silence between words gets none.
    expect(a.phones.map((p) => [p.phone, p.wordIndex])).toEqual([
      ['HH', 0],
      ['AH', 0],
      ['SIL', undefined],
      ['W', 1],
    ]);
    expect(a.phones[3].endSec).toBeCloseTo(1, 12);
    // The pre-1.8 dict form of AlignmentItem.
    expect(b.words.map((w) => [w.word, w.startSec, w.endSec])).toEqual([
      ['good', 1.2, 1.5],
      ['morning', 1.5, expect.closeTo(1.9, 12)],
    ]);
  });

  it('reads the same from a JSON array and from .jsonl.gz', () => {
    const base = importLhotse(recs, join(fixture, 'supervisions.jsonl'));
    expect(importLhotse(recs, join(fixture, 'supervisions.json'))).toEqual(base);
    const gz = join(t.dir, 'supervisions.jsonl.gz');
    writeFileSync(gz, gzipSync(readFileSync(join(fixture, 'supervisions.jsonl'))));
    const rgz = join(t.dir, 'recordings.jsonl.gz');
    writeFileSync(rgz, gzipSync(readFileSync(recs)));
    expect(importLhotse(rgz, gz)).toEqual(base);
    expect(findLhotseManifests(t.dir)).toEqual({ recordings: rgz, supervisions: gz });
  });

  it('lists every problem with file, line and field: unsafe ids, unsupported sources and transforms, bad times, dangling ids', () => {
    const r = join(t.dir, 'bad-recordings.jsonl');
    const s = join(t.dir, 'bad-supervisions.jsonl');
    const src = (type: string, source = 'a.wav') => [{ type, channels: [0], source }];
    writeFileSync(
      r,
      [
        { id: '../../escape', sources: src('file'), sampling_rate: 16000, num_samples: 10, duration: 10 / 16000 },
        { id: 'url', sources: src('url', 'https://example.org/a.flac'), sampling_rate: 16000, num_samples: 16000, duration: 1 },
        { id: 'perturbed', sources: src('file'), sampling_rate: 16000, num_samples: 16000, duration: 1, transforms: [{ name: 'Speed', kwargs: { factor: 1.1 } }] },
        { id: 'ok', sources: src('file'), sampling_rate: 16000, num_samples: 16000, duration: 1 },
      ]
        .map((x) => JSON.stringify(x))
        .join('\n') + '\n{not json\n',
    );
    writeFileSync(
      s,
      [
        { id: 's1', recording_id: 'ok', start: -1, duration: 0.5, channel: 0 },
        { id: 's2', recording_id: 'missing', start: 0, duration: 0.5, channel: 0 },
        { id: 's3', recording_id: 'ok', start: 0, duration: 0.5, channel: 0, speaker: 'a b' },
      ]
        .map((x) => JSON.stringify(x))
        .join('\n') + '\n',
    );
    expect(problemsOf(() => importLhotse(r, s))).toEqual([`${r}:5: not valid JSON (${(() => { try { JSON.parse('{not json'); } catch (e) { return (e as Error).message; } })()}); each line must be one JSON object`]);
    writeFileSync(r, readFileSync(r, 'utf8').replace('{not json\n', ''));
    const p = problemsOf(() => importLhotse(r, s));
    expect(p).toEqual([
      expect.stringMatching(new RegExp(`^${r}:1: id: id "\\.\\./\\.\\./escape" contains "/": ids become file names`)),
      `${r}:2: sources.0.type: "url" sources are not supported (file and command are); download or export the audio to files first`,
      expect.stringMatching(new RegExp(`^${r}:3: transforms: audio transforms .* are not supported`)),
      `${s}:1: start: must be a number >= 0, got -1`,
      `${s}:2: recording_id: recording "missing" is not in ${r}`,
      expect.stringMatching(new RegExp(`^${s}:3: speaker: speaker "a b" contains whitespace`)),
      `${r}:4: id: recording ok has no supervision in ${s}`,
    ]);
  });
});

describe('our corpus -> lhotse -> our corpus', () => {
  it('exports lhotse\'s schema and re-imports identically (times of alignment ends within 1e-12 s)', () => {
    const dir = join(t.dir, 'ours');
    writeTone(join(dir, 'wav/r1.wav'), 2, 16000);
    writeJsonl(join(dir, MANIFEST_FILES.recordings), [
      { id: 'r1', path: 'wav/r1.wav', sampleRateHz: 16000, numSamples: 32000, numChannels: 1, speaker: 'alice' },
      { id: 'r2', command: 'sox -n -r 8000 -b 16 -c 2 -t wav - synth 1 sine 300 sine 500', sampleRateHz: 8000, numSamples: 8000, numChannels: 2, speaker: 'multiple' },
    ], RecordingSchema);
    const sups = [
      { id: 'u1', recordingId: 'r1', startSec: 0.05, durationSec: 0.9123, text: 'one two', speaker: 'alice' },
      { id: 'u2', recordingId: 'r1', startSec: 1.0, durationSec: 0.8, text: 'three', speaker: 'alice' },
      { id: 'u3', recordingId: 'r2', startSec: 0, durationSec: 0.5, text: 'four', speaker: 'bob', channel: 1 },
      { id: 'u4', recordingId: 'r2', startSec: 0.5, durationSec: 0.5, text: 'five', speaker: 'carol' },
    ];
    writeJsonl(join(dir, MANIFEST_FILES.supervisions), sups, SupervisionSchema);
    const alis: Alignment[] = [
      {
        id: 'u1',
        recordingId: 'r1',
        words: [
          { word: 'one', startSec: 0.1, endSec: 0.4 + 1 / 3 },
          { word: 'two', startSec: 0.4 + 1 / 3, endSec: 0.9 },
        ],
        phones: [
          { phone: 'sil', startSec: 0.05, endSec: 0.1 },
          { phone: 'w', startSec: 0.1, endSec: 0.3, wordIndex: 0 },
          { phone: 'ah', startSec: 0.3, endSec: 0.4 + 1 / 3, wordIndex: 0 },
          { phone: 't', startSec: 0.4 + 1 / 3, endSec: 0.9, wordIndex: 1 },
          { phone: 'sil', startSec: 0.9, endSec: 0.9623 },
        ],
      },
    ];
    writeJsonl(join(dir, MANIFEST_FILES.alignments), alis, AlignmentSchema);

    const lh = join(t.dir, 'lhotse-out');
    expect(exportLhotse(dir, lh)).toEqual({ recordings: 2, supervisions: 4, alignments: 1 });
    const lr = gunzipJsonl(join(lh, 'recordings.jsonl.gz')) as LhotseRecording[];
    const ls = gunzipJsonl(join(lh, 'supervisions.jsonl.gz')) as LhotseSupervision[];
    // lhotse's field names and shapes, nothing of ours.
    expect(lr[0]).toEqual({ id: 'r1', sources: [{ type: 'file', channels: [0], source: resolve(dir, 'wav/r1.wav') }], sampling_rate: 16000, num_samples: 32000, duration: 2, channel_ids: [0] });
    expect(lr[1].sources).toEqual([{ type: 'command', channels: [0, 1], source: 'sox -n -r 8000 -b 16 -c 2 -t wav - synth 1 sine 300 sine 500' }]);
    expect(ls.map((x) => x.channel)).toEqual([0, 0, 1, [0, 1]]);
    expect(Object.keys(ls[0]).sort()).toEqual(['alignment', 'channel', 'duration', 'id', 'recording_id', 'speaker', 'start', 'text']);
    expect(ls[0].alignment!.word[0]).toEqual(['one', 0.1, 0.4 + 1 / 3 - 0.1, null]);

    const back = join(t.dir, 'ours-again');
    const r = importLhotse(join(lh, 'recordings.jsonl.gz'), join(lh, 'supervisions.jsonl.gz'), { outDir: back });
    expect(r.recordings).toEqual(readJsonl(join(dir, MANIFEST_FILES.recordings), RecordingSchema).map((x) => (x.path ? { ...x, path: resolve(dir, x.path) } : x)));
    expect(readJsonl(join(back, MANIFEST_FILES.supervisions), SupervisionSchema)).toEqual(sups);
    const gotAli = readJsonl(join(back, MANIFEST_FILES.alignments), AlignmentSchema);
    expect(gotAli.map((a) => ({ ...a, words: a.words.map((w) => w.word), phones: a.phones.map((p) => [p.phone, p.wordIndex]) }))).toEqual(
      alis.map((a) => ({ ...a, words: a.words.map((w) => w.word), phones: a.phones.map((p) => [p.phone, p.wordIndex]) })),
    );
    const times = (a: Alignment[]) => a.flatMap((x) => [...x.words, ...x.phones].flatMap((s) => [s.startSec, s.endSec]));
    const d = times(gotAli).map((v, i) => Math.abs(v - times(alis)[i]));
    expect(Math.max(...d)).toBeLessThan(1e-12);
    expect(validateCorpus(back).problems.map(formatProblem)).toEqual([]);
    // Exporting the re-imported corpus gives the same lhotse manifests (the round trip is a fixed point).
    const lh2 = join(t.dir, 'lhotse-out-2');
    exportLhotse(back, lh2);
    expect(gunzipJsonl(join(lh2, 'recordings.jsonl.gz'))).toEqual(lr);
    const ls2 = gunzipJsonl(join(lh2, 'supervisions.jsonl.gz')) as LhotseSupervision[];
    expect(ls2.map((x) => ({ ...x, alignment: undefined }))).toEqual(ls.map((x) => ({ ...x, alignment: undefined })));
  });
});
