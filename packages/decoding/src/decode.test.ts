import { Rng } from '@kdasr/core';
import { describe, expect, it } from 'vitest';
import { decode, forcedAlign, tuneLmWeight } from './decode.js';
import { parseLexicon } from './lexicon.js';
import { makeToyTask, synthesize } from './synthetic.js';
import { ViterbiDecoder } from './viterbi.js';

const task = makeToyTask({ seed: 11, numWords: 12, numPhones: 10 });

describe('decode on a synthetic toy task', () => {
  it('recovers the word sequence and word boundaries from clean one-hot-ish scores', () => {
    const rng = new Rng(99);
    const decoder = new ViterbiDecoder(task.graph);
    for (let u = 0; u < 8; u++) {
      const words = task.sentences[rng.int(task.sentences.length)];
      const utt = synthesize(task, words, rng);
      const r = decode(decoder, utt.loglikes, { acousticScale: 1, beam: 20, timing: { frameShiftMs: 10 } });
      expect(r.reachedFinal).toBe(true);
      expect(r.words).toEqual(words);
      expect(r.timed.map((w) => [w.word, w.startFrame, w.endFrame])).toEqual(utt.words.map((w) => [w.word, w.startFrame, w.endFrame]));
      expect(r.timed[0].startSec).toBeCloseTo(utt.words[0].startFrame * 0.01, 12);
      expect(r.timed[0].endSec).toBeCloseTo((utt.words[0].endFrame + 1) * 0.01, 12);
    }
  });

  it('also recovers word sequences the LM never saw (acoustics dominate)', () => {
    const rng = new Rng(5);
    const vocab = [...task.lexicon.keys()];
    const words = Array.from({ length: 5 }, () => vocab[rng.int(vocab.length)]);
    const utt = synthesize(task, words, rng, { noise: 0.3 });
    expect(decode(task.graph, utt.loglikes, { acousticScale: 1 }).words).toEqual(words);
  });

  it('word times follow core frame options (Kaldi shift truncation)', () => {
    const utt = synthesize(task, task.sentences[0], new Rng(1));
    const r = decode(task.graph, utt.loglikes, { acousticScale: 1, timing: { frameShiftMs: 10, frameLengthMs: 25, sampleRateHz: 16000, snipEdges: true } });
    expect(r.timed[0].startSec).toBeCloseTo((r.timed[0].startFrame * 160) / 16000, 12);
  });

  it('(without pruning) a huge insertion penalty empties the output; a heavy LM weight pulls toward LM-likely words', () => {
    const utt = synthesize(task, task.sentences[3], new Rng(2));
    expect(decode(task.graph, utt.loglikes, { acousticScale: 1, wordInsertionPenalty: 1e4, beam: Infinity }).words).toEqual([]);
    // With acoustics scaled to almost nothing the decoder follows the LM, not the audio.
    const lmOnly = decode(task.graph, utt.loglikes, { acousticScale: 1e-6 }).words;
    expect(lmOnly).not.toEqual(task.sentences[3]);
  });

  it('narrow beams and maxActive stay well-formed (best partial path when the final state is lost)', () => {
    const utt = synthesize(task, task.sentences[1], new Rng(3));
    const r = decode(task.graph, utt.loglikes, { acousticScale: 1, beam: 1e-3, maxActive: 2 });
    expect(Number.isFinite(r.score)).toBe(true);
    for (const w of r.timed) expect(w.endFrame).toBeGreaterThanOrEqual(w.startFrame);
  });

  it('reports LM words without pronunciations', () => {
    expect(task.graph.wordsWithoutPronunciation).toEqual(['<unk>']);
  });
});

describe('forcedAlign', () => {
  it('recovers the generating pdfs, phone segments and word boundaries', () => {
    const rng = new Rng(42);
    for (let u = 0; u < 5; u++) {
      const words = task.sentences[rng.int(task.sentences.length)];
      const utt = synthesize(task, words, rng, { noise: 0.8 });
      const a = forcedAlign(utt.loglikes, words, { lexicon: task.lexicon, transitionModel: task.tm, uttId: `u${u}`, acousticScale: 1 });
      expect([...a.pdfs]).toEqual([...utt.pdfs]);
      expect(a.phoneSegments.map((p) => [p.phone, p.startFrame, p.endFrame])).toEqual(utt.phones.map((p) => [p.phone, p.startFrame, p.endFrame]));
      expect(a.wordSegments.map((w) => [w.word, w.index, w.startFrame, w.endFrame])).toEqual(utt.words.map((w, i) => [w.word, i, w.startFrame, w.endFrame]));
      const silSegs = a.phoneSegments.filter((p) => p.phone === 'sil');
      expect(silSegs.every((p) => p.wordIndex === -1)).toBe(true);
      expect(a.hmmStates[0]).toBe(0);
    }
  });

  it('keeps a repeated word as two segments', () => {
    const w = [...task.lexicon.keys()][0];
    const utt = synthesize(task, [w, w], new Rng(8));
    const a = forcedAlign(utt.loglikes, [w, w], { lexicon: task.lexicon, transitionModel: task.tm, acousticScale: 1 });
    expect(a.wordSegments.map((s) => [s.index, s.startFrame, s.endFrame])).toEqual(utt.words.map((s, i) => [i, s.startFrame, s.endFrame]));
  });

  it('fails clearly when the transcript needs more frames than the utterance has', () => {
    const words = task.sentences.find((s) => s.length >= 3)!;
    const utt = synthesize(task, words.slice(0, 1), new Rng(4), { maxDur: 1 });
    const opts = { lexicon: task.lexicon, transitionModel: task.tm, uttId: 'spk1-utt7' };
    expect(() => forcedAlign(utt.loglikes, words, opts)).toThrow(
      new RegExp(`forced alignment of utterance "spk1-utt7" failed: it has ${utt.loglikes.numFrames} frames but its transcript \\(${words.length} words\\) needs at least \\d+`),
    );
    expect(() => forcedAlign(utt.loglikes, ['nope'], opts)).toThrow(/utterance "spk1-utt7".*word "nope" \(position 0\) is not in the lexicon/);
  });

  it('uses pronunciation alternatives', () => {
    const lex = parseLexicon('x 0.5 p0 p1\nx 0.5 p2 p3\n', { probs: true });
    const utt = synthesize({ lexicon: parseLexicon('x p2 p3\n'), tm: task.tm }, ['x'], new Rng(6));
    const a = forcedAlign(utt.loglikes, ['x'], { lexicon: lex, transitionModel: task.tm, acousticScale: 1 });
    expect(a.phoneSegments.filter((p) => p.wordIndex === 0).map((p) => p.phone)).toEqual(['p2', 'p3']);
  });
});

describe('tuneLmWeight', () => {
  it('grid-searches LM weight x insertion penalty on a dev set and picks the fewest errors', () => {
    const rng = new Rng(77);
    const dev = Array.from({ length: 3 }, (_, i) => {
      const reference = task.sentences[i + 10];
      return { id: `d${i}`, reference, loglikes: synthesize(task, reference, rng).loglikes };
    });
    const r = tuneLmWeight(task.graph, dev, { lmWeights: [1, 2], insertionPenalties: [1e4, 0], search: { acousticScale: 1, beam: Infinity } });
    expect(r.grid.map((p) => [p.lmWeight, p.wordInsertionPenalty])).toEqual([[1, 1e4], [1, 0], [2, 1e4], [2, 0]]);
    const refWords = dev.reduce((a, u) => a + u.reference.length, 0);
    expect(r.grid[0]).toMatchObject({ errors: refWords, wer: 100 });
    expect(r.best).toMatchObject({ lmWeight: 1, wordInsertionPenalty: 0, errors: 0, wer: 0 });
    expect(() => tuneLmWeight(task.graph, dev, { lmWeights: [] })).toThrow(/lmWeights is empty/);
  });
});

describe('lexicon', () => {
  it('parses alternatives and probabilities, naming bad lines', () => {
    const lex = parseLexicon('a x y\na z\nb q\n');
    expect(lex.get('a')).toEqual([{ phones: ['x', 'y'], prob: 1 }, { phones: ['z'], prob: 1 }]);
    expect(() => parseLexicon('a\n', { source: 'lex.txt' })).toThrow('lex.txt:1: word "a" has no phones');
    expect(() => parseLexicon('a 1.5 x\n', { probs: true, source: 'lexp.txt' })).toThrow(/lexp\.txt:1: pronunciation probability "1.5"/);
  });
});
