import { describe, expect, it } from 'vitest';
import { alignWords, computeWer, formatAlignmentReport, formatWerSummary } from './wer.js';
import { parseKaldiText, parseUtt2Spk } from './text.js';

const w = (s: string) => (s.trim() === '' ? [] : s.trim().split(/\s+/));

describe('alignWords (hand-worked)', () => {
  it('identical sequences: all correct', () => {
    const a = alignWords(w('a b c'), w('a b c'));
    expect(a.ops).toEqual(['C', 'C', 'C']);
    expect([a.substitutions, a.deletions, a.insertions]).toEqual([0, 0, 0]);
  });
  it('both empty: nothing to align', () => {
    const a = alignWords([], []);
    expect(a.ops).toEqual([]);
    expect(a.correct + a.substitutions + a.deletions + a.insertions).toBe(0);
  });
  it('empty reference: every hyp word is an insertion', () => {
    const a = alignWords([], w('x y'));
    expect(a.ops).toEqual(['I', 'I']);
    expect(a.ref).toEqual([null, null]);
  });
  it('empty hypothesis: every ref word is a deletion', () => {
    const a = alignWords(w('a b'), []);
    expect(a.ops).toEqual(['D', 'D']);
    expect(a.hyp).toEqual([null, null]);
  });
  it('all insertions around a correct word', () => {
    const a = alignWords(w('a'), w('x a y'));
    expect(a.ops).toEqual(['I', 'C', 'I']);
  });
  it('substitution and deletion', () => {
    const a = alignWords(w('the cat sat on the mat'), w('the bat sat on mat'));
    expect(a.substitutions).toBe(1);
    expect(a.deletions).toBe(1);
    expect(a.insertions).toBe(0);
    expect(a.ops[1]).toBe('S');
  });
  it('ties between equal-error alignments keep matching words aligned (sclite-like)', () => {
    // S S and D C I both have 2 errors; sclite's weights prefer D C I.
    expect(alignWords(w('a b'), w('b c')).ops).toEqual(['D', 'C', 'I']);
  });
  it('error count is the Levenshtein minimum (Kaldi), not sclite-weighted', () => {
    // 5 substitutions (5 errors) beat D D D C C I I I (6 errors), although sclite weights prefer the latter.
    const a = alignWords(w('a b c d e'), w('d e x y z'));
    expect(a.substitutions + a.deletions + a.insertions).toBe(5);
    expect(a.ops).toEqual(['S', 'S', 'S', 'S', 'S']);
  });
  it('is case-sensitive like compute-wer', () => {
    expect(alignWords(['Cat'], ['cat']).ops).toEqual(['S']);
  });
});

describe('computeWer', () => {
  const ref = parseKaldiText('u1 the cat sat\nu2 a b\nu3\nu4 x y z\n', 'ref');
  it('aggregates Kaldi-style totals, counting a missing hyp as deletions', () => {
    const hyp = parseKaldiText('u1 the cat sat on\nu2 a\nu3 oops\n', 'hyp');
    const r = computeWer(ref, hyp);
    // u1: 1 ins; u2: 1 del; u3: 1 ins (empty ref); u4 missing: 3 del.
    expect(r.total).toMatchObject({ refWords: 8, errors: 6, insertions: 2, deletions: 4, substitutions: 0, sentences: 4, sentenceErrors: 4 });
    expect(r.missingInHyp).toEqual(['u4']);
    expect(formatWerSummary(r)).toBe('%WER 75.00 [ 6 / 8, 2 ins, 4 del, 0 sub ]\n%SER 100.00 [ 4 / 4 ]\nScored 4 sentences, 1 not present in hyp.');
  });
  it('empty reference with insertions has undefined WER (printed inf)', () => {
    const r = computeWer(parseKaldiText('u1\n'), parseKaldiText('u1 a\n'));
    expect(r.total.wer).toBeNull();
    expect(formatWerSummary(r)).toContain('%WER inf [ 1 / 0, 1 ins, 0 del, 0 sub ]');
  });
  it('both empty scores 0', () => {
    const r = computeWer(parseKaldiText('u1\n'), parseKaldiText('u1\n'));
    expect(r.total.wer).toBe(0);
    expect(r.total.sentenceErrors).toBe(0);
  });
  it('rejects ids in hyp but not ref unless allowExtra', () => {
    const hyp = parseKaldiText('u1 the cat sat\nzz a\n');
    expect(() => computeWer(ref, hyp, { hypName: 'hyp.txt' })).toThrow(/hyp\.txt: 1 utterance id\(s\) not in .*"zz".*--allow-extra/);
    const r = computeWer(ref, hyp, { allowExtra: true });
    expect(r.extraInHyp).toEqual(['zz']);
    expect(r.total.refWords).toBe(8);
  });
  it('per-speaker totals', () => {
    const spk = parseUtt2Spk('u1 s1\nu2 s1\nu3 s2\nu4 s2\n');
    const r = computeWer(ref, parseKaldiText('u1 the cat sat\nu2 a c\nu3\nu4 x y z\n'), { speakerOf: (id) => spk.get(id) ?? '?' });
    expect(r.speakers?.s1).toMatchObject({ refWords: 5, errors: 1, substitutions: 1, wer: 20 });
    expect(r.speakers?.s2).toMatchObject({ refWords: 3, errors: 0, wer: 0 });
  });
  it('report shows aligned REF/HYP with *** gaps and upper-cased errors', () => {
    const r = computeWer(parseKaldiText('u1 the cat sat on the mat\n'), parseKaldiText('u1 the bat sat on mat today\n'));
    const report = formatAlignmentReport(r);
    expect(report).toContain('REF:  the CAT sat on THE mat ***');
    expect(report).toContain('HYP:  the BAT sat on *** mat TODAY');
    expect(report).toContain('Eval:     S          D       I');
    expect(report).toContain('Scores: (#C #S #D #I) 4 1 1 1');
  });
});

describe('parseKaldiText', () => {
  it('reads ids and words, skipping blank lines, tolerating CRLF and tabs', () => {
    const e = parseKaldiText('a\tx  y\r\n\n b \n', 'f');
    expect(e).toEqual([
      { id: 'a', words: ['x', 'y'], line: 1 },
      { id: 'b', words: [], line: 3 },
    ]);
  });
  it('names file and line of a duplicate id', () => {
    expect(() => parseKaldiText('a x\nb y\na z\n', 'data/text')).toThrow('data/text:3: duplicate utterance id "a" (first seen at line 1)');
  });
});
