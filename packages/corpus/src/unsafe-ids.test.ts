// The id `../../escape` (and its kin) in every importer and manifest reader gives the id error, naming the file
// and line, before anything becomes a path. Ids become file names downstream (see @kdasr/base ids.ts).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importKaldiDir, importLibriSpeech } from './kaldi.js';
import { AlignmentSchema, readJsonl, RecordingSchema, SupervisionSchema, writeJsonl } from './manifest.js';
import { CorpusError, formatProblem } from './problems.js';
import { jsonl, tempDir, writeTone } from './test/helpers.js';

const t = tempDir('unsafe-ids');
afterAll(t.cleanup);
const ESCAPE = '../../escape';

function problemsOf(f: () => unknown): string[] {
  try {
    f();
  } catch (e) {
    if (e instanceof CorpusError) return e.problems.map(formatProblem);
    throw e;
  }
  throw new Error('expected a CorpusError');
}

/** A Kaldi data dir over one 1 s recording r1.wav with the given tables. */
function kaldiDir(name: string, files: { wavScp: string; text: string; utt2spk: string; segments?: string }): string {
  const src = join(t.dir, name);
  writeTone(join(src, 'r1.wav'), 1, 16000);
  writeFileSync(join(src, 'wav.scp'), files.wavScp);
  writeFileSync(join(src, 'text'), files.text);
  writeFileSync(join(src, 'utt2spk'), files.utt2spk);
  if (files.segments) writeFileSync(join(src, 'segments'), files.segments);
  return src;
}

const idError = /"\.\.\/\.\.\/escape" contains "\/".*rename it/;

describe('unsafe ids in importers', () => {
  it('Kaldi: an utterance id in text/utt2spk names the file and line', () => {
    const src = kaldiDir('kaldi-utt', { wavScp: `${ESCAPE} r1.wav\n`, text: `ok yes\n${ESCAPE} hello\n`, utt2spk: `ok s1\n${ESCAPE} s1\n` });
    const p = problemsOf(() => importKaldiDir(src, join(t.dir, 'kaldi-utt-out')));
    for (const [file, line] of [['wav.scp', 1], ['text', 2], ['utt2spk', 2]] as const)
      expect(p.some((x) => x.startsWith(`${join(src, file)}:${line}: id (first token) "${ESCAPE}"`) && idError.test(x)), `${file}\n${p.join('\n')}`).toBe(true);
  });

  it('Kaldi: a speaker in utt2spk and a recording id in segments', () => {
    const src = kaldiDir('kaldi-spk', { wavScp: 'r1 r1.wav\n', text: 'u1 yes\nu2 no\n', utt2spk: `u1 ${ESCAPE}\nu2 s1\n`, segments: `u1 r1 0 0.4\nu2 ${ESCAPE} 0.5 0.9\n` });
    const p = problemsOf(() => importKaldiDir(src));
    expect(p.some((x) => x.startsWith(`${join(src, 'utt2spk')}:1: speaker (second token) "${ESCAPE}"`) && idError.test(x)), p.join('\n')).toBe(true);
    expect(p.some((x) => x.startsWith(`${join(src, 'segments')}:2: recording id (second token) "${ESCAPE}"`) && idError.test(x)), p.join('\n')).toBe(true);
  });

  it('Kaldi: leading dots, ".." and control characters are rejected too; a clean dir still imports', () => {
    const src = kaldiDir('kaldi-misc', { wavScp: 'r1 r1.wav\n', text: '.u1 yes\nu..2 no\nu\u00013 x\n', utt2spk: '.u1 s\nu..2 s\nu\u00013 s\n' });
    const p = problemsOf(() => importKaldiDir(src));
    expect(p.filter((x) => x.startsWith(join(src, 'text'))).map((x) => /: (id .*?):/.exec(x)![1])).toEqual([
      'id (first token) ".u1" starts with "."',
      'id (first token) "u..2" contains ".."',
      'id (first token) "u\\u00013" contains a control character (U+0001)',
    ]);
    const good = kaldiDir('kaldi-clean', { wavScp: 'u1 r1.wav\n', text: 'u1 yes\n', utt2spk: 'u1 s1\n' });
    expect(importKaldiDir(good).supervisions.map((s) => s.id)).toEqual(['u1']);
  });

  it('LibriSpeech: an utterance id in trans.txt, before it is joined into an audio path', () => {
    const root = join(t.dir, 'libri');
    const dir = join(root, '19', '198');
    mkdirSync(dir, { recursive: true });
    writeTone(join(dir, '19-198-0000.wav'), 0.5, 16000);
    writeFileSync(join(dir, '19-198.trans.txt'), `19-198-0000 HELLO\n19-198-${ESCAPE} WORLD\n`);
    const p = problemsOf(() => importLibriSpeech(root));
    expect(p.some((x) => x.startsWith(`${join(dir, '19-198.trans.txt')}:2: utterance id (first token) "19-198-${ESCAPE}" contains "/"`)), p.join('\n')).toBe(true);
  });

  it('manifests: recordings, supervisions and alignments read with readJsonl reject it in every id field', () => {
    const dir = join(t.dir, 'manifests');
    mkdirSync(dir, { recursive: true });
    const rec = { id: 'r1', path: 'r1.wav', sampleRateHz: 16000, numSamples: 16000, numChannels: 1, speaker: 's1' };
    const sup = { id: 'u1', recordingId: 'r1', startSec: 0, durationSec: 1, text: 'yes', speaker: 's1' };
    const ali = { id: 'u1', recordingId: 'r1', words: [], phones: [] };
    const cases = [
      ['recordings.jsonl', RecordingSchema, [rec, { ...rec, id: ESCAPE }, { ...rec, id: 'r2', speaker: ESCAPE }], ['2: id', '3: speaker']],
      ['supervisions.jsonl', SupervisionSchema, [sup, { ...sup, id: ESCAPE }, { ...sup, id: 'u2', recordingId: ESCAPE }], ['2: id', '3: recordingId']],
      ['alignments.jsonl', AlignmentSchema, [{ ...ali, recordingId: ESCAPE }, { ...ali, id: ESCAPE }], ['1: recordingId', '2: id']],
    ] as const;
    for (const [name, schema, items, expected] of cases) {
      const file = join(dir, name);
      writeFileSync(file, jsonl([...items]));
      const p = problemsOf(() => readJsonl(file, schema as typeof RecordingSchema));
      expect(p, p.join('\n')).toHaveLength(expected.length);
      for (const [i, e] of expected.entries()) expect(p[i].startsWith(`${file}:${e}: id "${ESCAPE}" contains "/"`), p[i]).toBe(true);
    }
    // The writer refuses them as well, so no importer can emit a manifest with an unsafe id.
    expect(problemsOf(() => writeJsonl(join(dir, 'out.jsonl'), [{ ...rec, id: '.x' }], RecordingSchema))[0]).toMatch(/out\.jsonl:1: id: id "\.x" starts with "\."/);
  });
});
