import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Lexicon, formatLexiconTxt, parseLexiconTxt, buildPhoneSet } from './lexicon.js';
import { readJsonl, RecordingSchema, writeJsonl } from './manifest.js';
import { CorpusError, formatProblem } from './problems.js';
import { assertValidCorpus, validateCorpus } from './validate.js';
import { jsonl, tempDir, writeTone } from './test/helpers.js';

const t = tempDir('manifest');
afterAll(t.cleanup);

/** A small valid corpus: two 1 s recordings at 16 kHz with supervisions, alignments, lexicon and phones. */
function goodCorpus(dir: string) {
  writeTone(join(dir, 'wav/a.wav'), 1, 16000);
  writeTone(join(dir, 'wav/b.wav'), 1, 16000);
  const recs = [
    { id: 'a', path: 'wav/a.wav', sampleRateHz: 16000, numSamples: 16000, numChannels: 1, speaker: 's1' },
    { id: 'b', path: 'wav/b.wav', sampleRateHz: 16000, numSamples: 16000, numChannels: 1, speaker: 's2' },
  ];
  const sups = [
    { id: 'a', recordingId: 'a', startSec: 0, durationSec: 1, text: 'hello world', speaker: 's1' },
    { id: 'b', recordingId: 'b', startSec: 0, durationSec: 1, text: 'world', speaker: 's2' },
  ];
  const alis = [
    {
      id: 'a',
      recordingId: 'a',
      words: [
        { word: 'hello', startSec: 0.1, endSec: 0.4 },
        { word: 'world', startSec: 0.4, endSec: 0.8 },
      ],
      phones: [
        { phone: 'sil', startSec: 0, endSec: 0.1 },
        { phone: 'h', startSec: 0.1, endSec: 0.2, wordIndex: 0 },
        { phone: 'oU', startSec: 0.2, endSec: 0.4, wordIndex: 0 },
        { phone: 'w', startSec: 0.4, endSec: 0.8, wordIndex: 1 },
        { phone: 'sil', startSec: 0.8, endSec: 1 },
      ],
    },
  ];
  writeFileSync(join(dir, 'recordings.jsonl'), jsonl(recs));
  writeFileSync(join(dir, 'supervisions.jsonl'), jsonl(sups));
  writeFileSync(join(dir, 'alignments.jsonl'), jsonl(alis));
  writeFileSync(join(dir, 'lexicon.txt'), 'hello h oU\nworld w\n');
  writeFileSync(join(dir, 'phones.jsonl'), jsonl(buildPhoneSet(['h', 'oU', 'w'])));
  return { recs, sups, alis };
}

describe('manifest validation', () => {
  it('accepts a consistent corpus', () => {
    const dir = join(t.dir, 'good');
    goodCorpus(dir);
    const r = assertValidCorpus(dir, { expectedSampleRateHz: 16000 });
    expect(r.counts).toEqual({ recordings: 2, supervisions: 2, alignments: 1, lexiconWords: 2, phones: 4 });
  });

  it('lists every problem with its file and line, not just the first', () => {
    const dir = join(t.dir, 'bad');
    const { recs, sups, alis } = goodCorpus(dir);
    writeTone(join(dir, 'wav/c.wav'), 1, 8000);
    writeFileSync(
      join(dir, 'recordings.jsonl'),
      jsonl([
        recs[0],
        { ...recs[1], path: 'wav/missing.wav' }, // line 2: missing audio
        { id: 'c', path: 'wav/c.wav', sampleRateHz: 16000, numSamples: 8000, numChannels: 1, speaker: 's3' }, // line 3: header says 8 kHz
        '{not json', // line 4
        { id: 'd', path: 'wav/a.wav', sampleRateHz: -5, numSamples: 16000, numChannels: 1, speaker: 's4' }, // line 5: schema
      ]),
    );
    writeFileSync(
      join(dir, 'supervisions.jsonl'),
      jsonl([
        { ...sups[0], text: 'hello wrold' }, // line 1: unknown word
        sups[1],
        { id: 'a2', recordingId: 'a', startSec: 0.5, durationSec: 0.4, text: 'world', speaker: 's1' }, // line 3: overlaps a
        { id: 'c1', recordingId: 'c', startSec: 0.2, durationSec: 0.5, text: 'world', speaker: 's3' }, // line 4: past the end (0.5 s)
        { id: 'z', recordingId: 'nope', startSec: 0, durationSec: 1, text: 'world', speaker: 's1' }, // line 5: dangling
      ]),
    );
    const bad = structuredClone(alis[0]);
    bad.phones[2].startSec = 0.15; // overlaps the previous phone
    bad.words[1].endSec = 1.3; // out of range
    writeFileSync(join(dir, 'alignments.jsonl'), jsonl([bad]));
    const r = validateCorpus(dir, { expectedSampleRateHz: 16000 });
    const lines = r.problems.map(formatProblem);
    const rec = join(dir, 'recordings.jsonl');
    const sup = join(dir, 'supervisions.jsonl');
    const ali = join(dir, 'alignments.jsonl');
    const expectOne = (re: RegExp) => expect(lines.filter((l) => re.test(l)), `no problem matching ${re} in:\n${lines.join('\n')}`).toHaveLength(1);
    expectOne(new RegExp(`^${rec}:2: path: audio file .*missing\\.wav of recording b is missing`));
    expectOne(new RegExp(`^${rec}:3: sampleRateHz: recording c says 16000 Hz but .*c\\.wav is 8000 Hz \\(sample-rate mismatch\\)`));
    expectOne(new RegExp(`^${rec}:4: not valid JSON`));
    expectOne(new RegExp(`^${rec}:5: sampleRateHz: `));
    expectOne(new RegExp(`^${sup}:1: text: word "wrold" of supervision a is not in the lexicon`));
    expectOne(new RegExp(`^${sup}:3: startSec: supervision a2 .*overlaps a \\(line 1`));
    expectOne(new RegExp(`^${sup}:4: durationSec: supervision c1 ends at 0.7000 s, after the end of recording c \\(0.5000 s\\)`));
    expectOne(new RegExp(`^${sup}:5: recordingId: supervision z refers to recording "nope"`));
    expectOne(new RegExp(`^${ali}:1: phones\\[2\\]: "oU" starts at 0.15, before the previous segment ends \\(0.2\\): segments overlap`));
    expectOne(new RegExp(`^${ali}:1: words\\[1\\]: "world" \\[0.4, 1.3\\] is outside supervision a .*out of range`));
    expect(() => assertValidCorpus(dir)).toThrow(CorpusError);
    try {
      assertValidCorpus(dir);
    } catch (e) {
      expect((e as CorpusError).problems.length).toBe(r.problems.length);
      expect((e as Error).message).toMatch(/problems\n/);
    }
  });

  it('refuses to write an invalid manifest and lists each bad item', () => {
    const file = join(t.dir, 'w/recordings.jsonl');
    const bad = [
      { id: 'x y', path: 'p', sampleRateHz: 16000, numSamples: 1, numChannels: 1, speaker: 's' },
      { id: 'ok', path: 'p', sampleRateHz: 16000, numSamples: 1.5, numChannels: 1, speaker: 's' },
    ];
    expect(() => writeJsonl(file, bad as never, RecordingSchema)).toThrow(/recordings\.jsonl:1: id: id "x y" contains whitespace[\s\S]*recordings\.jsonl:2: numSamples/);
    writeJsonl(file, [{ ...bad[1], numSamples: 2 }], RecordingSchema);
    expect(readJsonl(file, RecordingSchema)[0].numSamples).toBe(2);
  });
});

describe('lexicon', () => {
  it('keeps several pronunciations per word and round-trips Kaldi lexicon.txt', () => {
    const lex = new Lexicon();
    lex.add('the', ['D', '@']);
    lex.add('the', ['D', 'i:']);
    lex.add('the', ['D', '@']); // duplicate ignored
    lex.add('cat', ['k', 'a', 't']);
    const txt = formatLexiconTxt(lex);
    expect(txt).toBe('cat k a t\nthe D @\nthe D i:\n');
    const back = parseLexiconTxt('lexicon.txt', txt);
    expect(back.problems).toEqual([]);
    expect(back.lexicon.prons('the')).toEqual([
      ['D', '@'],
      ['D', 'i:'],
    ]);
    const bad = parseLexiconTxt('lexicon.txt', 'ok o k\nlonely\n\nalso-bad\n');
    expect(bad.problems.map(formatProblem)).toEqual([
      'lexicon.txt:2: word "lonely" has no phones; write "word phone1 phone2 ..."',
      'lexicon.txt:4: word "also-bad" has no phones; write "word phone1 phone2 ..."',
    ]);
  });

  it('builds a phone set with silence first and vowels classified', () => {
    const ps = buildPhoneSet(['t', 'aU', '@', 'sil', 't']);
    expect(ps.map((p) => [p.id, p.phone, p.kind])).toEqual([
      [0, 'sil', 'silence'],
      [1, '@', 'vowel'],
      [2, 'aU', 'vowel'],
      [3, 't', 'consonant'],
    ]);
  });
});
