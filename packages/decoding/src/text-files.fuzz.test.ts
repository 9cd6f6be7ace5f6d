// Fuzz the decoding package's text readers (outside text: Kaldi `text`, `utt2spk`, `lexicon.txt`,
// `lexiconp.txt` and ARPA language models): random tokens and binary garbage, CRLF, duplicates, bad
// probabilities and numbers (NaN, Inf, 1e999, negative), truncated and bit-flipped ARPA files. Every outcome is
// a well-formed result or an Error naming the source and line, never another exception, a hang or NaN scores.
// Seed-pinned; KDASR_FUZZ_RUNS / KDASR_FUZZ_SEED make a longer run (npm run fuzz -w @kdasr/base).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseLexicon, readLexicon } from './lexicon.js';
import { BigramLm } from './lm.js';
import { parseKaldiText, parseUtt2Spk, readKaldiText } from './text.js';

const runs = (n: number) => Number(process.env.KDASR_FUZZ_RUNS ?? n);
const seed = Number(process.env.KDASR_FUZZ_SEED ?? 20261207);
const dir = mkdtempSync(join(tmpdir(), 'kdasr-decoding-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run `parse`; a plain Error must name `source` (with a line when the problem is on one). */
function outcome<T>(parse: () => T, source: string): T | 'error' {
  const t0 = performance.now();
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== Error) throw e;
    expect(e.message.startsWith(`${source}:`) || e.message.startsWith(`${source} `), e.message).toBe(true);
    return 'error';
  } finally {
    expect(performance.now() - t0).toBeLessThan(2000);
  }
}

const token = fc.oneof(
  fc.constantFrom('u1', 'u2', 'spk', 'a', 'b', 'k', '0.5', '1', '0', '-1', '1.5', 'NaN', '1e999', '-99', '<s>', '</s>', '<unk>', '\\data\\', '\\1-grams:', '\\2-grams:', '\\end\\', 'ngram', '1=3', '2=1'),
  fc.string({ maxLength: 6 }),
);
const lines = fc
  .tuple(fc.array(fc.oneof({ weight: 6, arbitrary: fc.tuple(fc.array(token, { maxLength: 5 }), fc.constantFrom(' ', '\t', '  ')).map(([t, sep]) => t.join(sep)) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) }), { maxLength: 8 }), fc.constantFrom('\n', '\r\n'))
  .map(([ls, eol]) => ls.join(eol));
const noSpace = (s: string) => s.length > 0 && !/\s/.test(s);

describe('decoding text readers fuzz', () => {
  it('Kaldi text and utt2spk', () => {
    fc.assert(
      fc.property(lines, (t) => {
        const r = outcome(() => parseKaldiText(t, 'text'), 'text');
        if (r !== 'error') {
          expect(new Set(r.map((e) => e.id)).size).toBe(r.length);
          for (const e of r) expect(noSpace(e.id) && e.words.every(noSpace) && e.line >= 1).toBe(true);
        }
        const m = outcome(() => parseUtt2Spk(t, 'utt2spk'), 'utt2spk');
        if (m !== 'error') for (const [u, s] of m) expect(noSpace(u) && noSpace(s)).toBe(true);
      }),
      { seed, numRuns: runs(150) },
    );
    expect(() => parseKaldiText('u1 a\nu1 b\n', 'text')).toThrow(/^text:2: duplicate utterance id "u1"/);
    expect(() => readKaldiText(dir)).toThrow(new RegExp(`^cannot read text file ${dir}: EISDIR`));
  });

  it('lexicon.txt and lexiconp.txt', () => {
    fc.assert(
      fc.property(lines, fc.boolean(), (t, probs) => {
        const r = outcome(() => parseLexicon(t, { probs, source: 'lexicon.txt' }), 'lexicon.txt');
        if (r === 'error') return;
        for (const [w, prons] of r) {
          expect(noSpace(w)).toBe(true);
          for (const p of prons) expect(p.phones.length > 0 && p.phones.every(noSpace) && p.prob > 0 && p.prob <= 1).toBe(true);
        }
      }),
      { seed, numRuns: runs(150) },
    );
    expect(() => parseLexicon('a NaN k\n', { probs: true, source: 'lexiconp.txt' })).toThrow(/^lexiconp\.txt:1: pronunciation probability "NaN"/);
    expect(() => readLexicon(dir)).toThrow(new RegExp(`^cannot read lexicon ${dir}: EISDIR`));
  });

  it('ARPA models: truncated, bit-flipped, random and adversarial lines', () => {
    const good = BigramLm.train(['a b a', 'b a', 'a a b b']).toArpa();
    const words = ['<s>', '</s>', '<unk>', 'a', 'b', 'zzz'];
    const check = (text: string | Buffer) => {
      const lm = outcome(() => BigramLm.fromArpa(text.toString(), 'lm.arpa'), 'lm.arpa');
      if (lm === 'error') return lm;
      // Scores are log-probabilities or -Infinity (an unreachable word), never NaN or +Infinity.
      for (const h of words) for (const w of words) expect(lm.logProb(h, w) < Infinity).toBe(true);
      return lm;
    };
    expect(check(good)).not.toBe('error');
    fc.assert(fc.property(fc.nat({ max: good.length - 1 }), (cut) => void check(good.slice(0, cut))), { seed, numRuns: runs(60) });
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.nat({ max: good.length - 1 }), bit: fc.nat({ max: 6 }) }), { minLength: 1, maxLength: 3 }), (fs) => {
        const b = Buffer.from(good);
        for (const f of fs) b[f.at] ^= 1 << f.bit;
        void check(b);
      }),
      { seed, numRuns: runs(80) },
    );
    const goodLines = good.split('\n');
    fc.assert(
      fc.property(fc.nat({ max: goodLines.length - 1 }), fc.oneof(lines, fc.constantFrom('NaN\ta', '1e999\ta b', '-1\ta\t1e999', 'ngram 1=99999999999999999999', '-1\ta a', '-1\t<s> </s>', '\\3-grams:')), (at, l) => {
        const copy = [...goodLines];
        copy[at] = l;
        void check(copy.join('\n'));
      }),
      { seed, numRuns: runs(100) },
    );
    fc.assert(fc.property(lines, (t) => void check(t)), { seed, numRuns: runs(60) });
    const dup = good.replace(/\\2-grams:\n([^\n]*)\n/, (m, first: string) => `${m}${first}\n`).replace(/ngram 2=(\d+)/, (_m, k: string) => `ngram 2=${Number(k) + 1}`);
    expect(() => BigramLm.fromArpa(dup, 'lm.arpa')).toThrow(/^lm\.arpa:\d+: duplicate bigram/);
    expect(() => BigramLm.fromArpa(good.replace(/\n-[\d.]+\ta\t/, '\n0.5\ta\t'), 'lm.arpa')).toThrow(/^lm\.arpa:\d+: log10 probability 0\.5 is above 0/);
  });
});
