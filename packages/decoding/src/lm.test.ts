import { describe, expect, it } from 'vitest';
import { BigramLm } from './lm.js';

const corpus = ['the cat sat', 'the dog sat', 'a cat ran', 'the cat ran away', 'a dog', 'dog sat the end'];

function sumOverVocab(lm: BigramLm, h: number): number {
  let sum = 0;
  for (let w = 0; w < lm.vocabSize; w++) if (w !== lm.bosId) sum += Math.exp(lm.logProbId(h, w));
  return sum;
}

describe('BigramLm (interpolated Kneser-Ney)', () => {
  it('matches hand-computed probabilities with fixed discounts', () => {
    // Bigrams: (<s>,a)=2 (a,b)=1 (b,</s>)=1 (a,</s>)=1. Continuation counts a:1 b:1 </s>:2 <unk>:0, 4 types, 3 non-zero.
    // P1(a) = 0.5/4 + 0.5*3/4/4 = 0.21875, P1(</s>) = 1.5/4 + 0.09375 = 0.46875.
    const lm = BigramLm.train(['a b', 'a'], { discount: 0.5, unigramDiscount: 0.5 });
    expect(Math.exp(lm.logProb('a', 'b'))).toBeCloseTo(0.25 + 0.5 * 0.21875, 12);
    expect(Math.exp(lm.logProb('a', 'a'))).toBeCloseTo(0.5 * 0.21875, 12);
    expect(Math.exp(lm.logProb('<s>', 'a'))).toBeCloseTo(0.75 + 0.25 * 0.21875, 12);
    expect(Math.exp(lm.logProb('a', '</s>'))).toBeCloseTo(0.25 + 0.5 * 0.46875, 12);
    // <unk> gets only the uniform floor: 0.5 * 3 / 4 / 4.
    expect(Math.exp(lm.logUnigram(lm.id('<unk>')))).toBeCloseTo(0.09375, 12);
    // Unseen history (<unk>) backs off with weight 1.
    expect(Math.exp(lm.logProb('<unk>', 'b'))).toBeCloseTo(0.21875, 12);
    const ppl = lm.perplexity(['a']);
    expect(ppl.numTokens).toBe(2);
    expect(ppl.perplexity).toBeCloseTo(Math.exp(-(Math.log(0.8046875) + Math.log(0.484375)) / 2), 10);
  });

  it('sums to 1 over the vocabulary for every history (default discounts, and after ARPA round trip)', () => {
    const lm = BigramLm.train(corpus);
    const back = BigramLm.fromArpa(lm.toArpa(), 'roundtrip.arpa');
    for (let h = 0; h < lm.vocabSize; h++) {
      if (h === lm.eosId) continue;
      expect(sumOverVocab(lm, h)).toBeCloseTo(1, 12);
      expect(sumOverVocab(back, h)).toBeCloseTo(1, 8);
    }
    expect(back.words).toEqual(lm.words);
    for (const [a, b] of [['the', 'cat'], ['cat', 'the'], ['<s>', 'zebra'], ['dog', '</s>']]) expect(back.logProb(a, b)).toBeCloseTo(lm.logProb(a, b), 8);
  });

  it('maps OOVs to <unk> and scores them in perplexity', () => {
    const lm = BigramLm.train(corpus);
    expect(lm.logProb('the', 'zebra')).toBe(lm.logProb('the', '<unk>'));
    const r = lm.perplexity(['the zebra sat', '', 'a cat']);
    expect(r).toMatchObject({ numSentences: 2, numOov: 1, numTokens: 7 });
    const lp = lm.sentenceLogProb(['the', 'zebra', 'sat']) + lm.sentenceLogProb(['a', 'cat']);
    expect(r.logProb).toBeCloseTo(lp, 10);
    expect(r.perplexity).toBeCloseTo(Math.exp(-lp / 7), 10);
    // A closed vocabulary turns training words outside it into <unk>.
    const closed = BigramLm.train(corpus, { vocabulary: ['the', 'cat', 'dog'] });
    expect(closed.has('sat')).toBe(false);
    // <unk> is now a seen history (gamma < 1); in the open-vocabulary model it never occurs (gamma = 1).
    expect(closed.logBackoff(closed.unkId)).toBeLessThan(0);
    expect(lm.logBackoff(lm.unkId)).toBe(0);
  });

  it('a model that fits the text has lower perplexity on it than on shuffled text', () => {
    const lm = BigramLm.train(corpus);
    const shuffled = corpus.map((s) => s.split(' ').reverse().join(' '));
    expect(lm.perplexity(corpus).perplexity).toBeLessThan(lm.perplexity(shuffled).perplexity);
  });

  it('imports a hand-written ARPA file and backs off through bow', () => {
    const arpa = ['\\data\\', 'ngram 1=4', 'ngram 2=1', '', '\\1-grams:', '-99\t<s>\t-0.30103', '-0.30103\t</s>', '-0.60206\ta\t-0.1', '-0.60206\tb', '', '\\2-grams:', '-0.2\t<s> a', '', '\\end\\'].join('\n');
    const lm = BigramLm.fromArpa(arpa);
    expect(lm.unkId).toBe(-1);
    expect(lm.logProb('<s>', 'a')).toBeCloseTo(-0.2 * Math.LN10, 12);
    expect(lm.logProb('<s>', 'b')).toBeCloseTo((-0.30103 - 0.60206) * Math.LN10, 12);
    expect(lm.logProb('a', 'b')).toBeCloseTo((-0.1 - 0.60206) * Math.LN10, 12);
    expect(lm.logProb('a', 'zzz')).toBe(-Infinity);
    const r = lm.perplexity(['a zzz b']);
    expect(r).toMatchObject({ numOov: 1, numTokens: 3 });
  });

  it('rejects trigram models, truncated files and inconsistent counts, naming the file', () => {
    expect(() => BigramLm.fromArpa('\\data\\\nngram 1=1\nngram 3=2\n', 'big.arpa')).toThrow(/big\.arpa:3: model has order 3; only bigram/);
    expect(() => BigramLm.fromArpa('\\data\\\nngram 1=2\n\n\\1-grams:\n-1 <s>\n-1 </s>\n', 'cut.arpa')).toThrow(/cut\.arpa: missing \\end\\/);
    expect(() => BigramLm.fromArpa('\\data\\\nngram 1=3\n\n\\1-grams:\n-1 <s>\n-1 </s>\n\\end\\\n', 'n.arpa')).toThrow(/declares ngram 1=3 but the file has 2/);
    expect(() => BigramLm.train(['a </s> b'])).toThrow(/line 1 contains "<\/s>"/);
    expect(() => BigramLm.train(['', '  '])).toThrow(/no training sentences/);
  });
});
