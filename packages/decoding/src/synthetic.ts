// Synthetic toy tasks for tests, the bench and the README example (not part of the public API).
import { Rng } from '@kdasr/core';
import { buildDecodingGraph, type BuiltDecodingGraph } from './graph.js';
import type { Lexicon } from './lexicon.js';
import { BigramLm } from './lm.js';
import { monophonePdfs, TransitionModel, type TopologyConfig } from './topology.js';
import type { LoglikeMatrix } from './viterbi.js';

export interface ToyTask {
  phones: string[];
  lexicon: Lexicon;
  lm: BigramLm;
  tm: TransitionModel;
  graph: BuiltDecodingGraph;
  /** The LM training sentences. */
  sentences: string[][];
}

export interface ToyTaskOptions {
  seed?: number;
  numPhones?: number;
  numWords?: number;
  numSentences?: number;
  topology?: TopologyConfig;
  silenceProb?: number;
}

/** Random vocabulary of distinct 2-4 phone pronunciations, a bigram LM on random sentences, monophone pdfs. */
export function makeToyTask(options: ToyTaskOptions = {}): ToyTask {
  const rng = new Rng(options.seed ?? 1);
  const numPhones = options.numPhones ?? 10;
  const numWords = options.numWords ?? 12;
  const phones = ['sil', ...Array.from({ length: numPhones }, (_, i) => `p${i}`)];
  const lexicon: Lexicon = new Map();
  const seen = new Set<string>();
  while (lexicon.size < numWords) {
    const len = 2 + rng.int(3);
    const pron = Array.from({ length: len }, () => phones[1 + rng.int(numPhones)]);
    const key = pron.join(' ');
    if (seen.has(key)) continue;
    seen.add(key);
    lexicon.set(`w${lexicon.size}`, [{ phones: pron, prob: 1 }]);
  }
  const words = [...lexicon.keys()];
  // Sentences from a sparse random Markov chain, so the bigram LM has real structure.
  const successors = words.map(() => Array.from({ length: 3 }, () => words[rng.int(words.length)]));
  const sentences: string[][] = [];
  for (let i = 0; i < (options.numSentences ?? 200); i++) {
    const len = 1 + rng.int(6);
    let w = rng.int(words.length);
    const s = [words[w]];
    for (let k = 1; k < len; k++) {
      const next = rng.next() < 0.8 ? successors[w][rng.int(3)] : words[rng.int(words.length)];
      w = words.indexOf(next);
      s.push(next);
    }
    sentences.push(s);
  }
  const lm = BigramLm.train(sentences.map((s) => s.join(' ')));
  const tm = new TransitionModel(options.topology ?? {}, phones, monophonePdfs);
  const graph = buildDecodingGraph({ lexicon, lm, transitionModel: tm, silenceProb: options.silenceProb ?? 0.5 });
  return { phones, lexicon, lm, tm, graph, sentences };
}

export interface SyntheticUtterance {
  loglikes: LoglikeMatrix;
  /** The pdf that generated each frame. */
  pdfs: Int32Array;
  words: { word: string; startFrame: number; endFrame: number }[];
  phones: { phone: string; startFrame: number; endFrame: number }[];
}

/**
 * Frame scores from a known left-to-right state path: each word's first pronunciation, silences
 * (state 0..n-1 in order) at the start, end and between words with probability 1/2, 1..maxDur frames per
 * state. Score = 0 for the generating pdf and -margin for the others, plus N(0, noise^2): one-hot-ish
 * log-posteriors with noise.
 */
export function synthesize(
  task: Pick<ToyTask, 'lexicon' | 'tm'>,
  words: readonly string[],
  rng: Rng,
  opts: { margin?: number; noise?: number; maxDur?: number; silencePhone?: string } = {},
): SyntheticUtterance {
  const margin = opts.margin ?? 4;
  const noise = opts.noise ?? 0.5;
  const maxDur = opts.maxDur ?? 3;
  const sil = opts.silencePhone ?? 'sil';
  const pdfs: number[] = [];
  const phoneSegs: SyntheticUtterance['phones'] = [];
  const wordSegs: SyntheticUtterance['words'] = [];
  const emit = (phones: string[]) => {
    for (let i = 0; i < phones.length; i++) {
      const n = task.tm.hmm(phones[i]).numStates;
      const start = pdfs.length;
      for (let s = 0; s < n; s++) {
        const pdf = task.tm.pdfOf(phones[i], i > 0 ? phones[i - 1] : null, i + 1 < phones.length ? phones[i + 1] : null, s);
        const d = 1 + rng.int(maxDur);
        for (let k = 0; k < d; k++) pdfs.push(pdf);
      }
      phoneSegs.push({ phone: phones[i], startFrame: start, endFrame: pdfs.length - 1 });
    }
  };
  emit([sil]);
  for (let i = 0; i < words.length; i++) {
    const pron = task.lexicon.get(words[i])?.[0];
    if (!pron) throw new Error(`synthesize: "${words[i]}" not in lexicon`);
    const start = pdfs.length;
    emit(pron.phones);
    wordSegs.push({ word: words[i], startFrame: start, endFrame: pdfs.length - 1 });
    if (i === words.length - 1 || rng.next() < 0.5) emit([sil]);
  }
  const T = pdfs.length;
  const P = task.tm.numPdfs;
  const data = new Float32Array(T * P);
  for (let t = 0; t < T; t++) {
    for (let p = 0; p < P; p++) data[t * P + p] = (p === pdfs[t] ? 0 : -margin) + noise * rng.normal();
  }
  return { loglikes: { numFrames: T, numPdfs: P, data }, pdfs: Int32Array.from(pdfs), words: wordSegs, phones: phoneSegs };
}
