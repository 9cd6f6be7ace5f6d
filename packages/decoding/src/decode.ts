import { buildAlignmentGraph, type DecodingGraph, type SilenceOptions } from './graph.js';
import type { Lexicon } from './lexicon.js';
import type { TransitionModel } from './topology.js';
import { computeWer } from './wer.js';
import { frameShiftSeconds, ViterbiDecoder, type FrameTiming, type LoglikeMatrix, type SearchOptions } from './viterbi.js';

export interface DecodeOptions extends SearchOptions {
  /** Frame shift for word times (default 10 ms); core FrameOptions give Kaldi's exact shift. */
  timing?: FrameTiming;
}

export interface TimedWord {
  word: string;
  /** Inclusive frame range. */
  startFrame: number;
  endFrame: number;
  /** startFrame * shift and (endFrame + 1) * shift, in seconds (CTM convention). */
  startSec: number;
  endSec: number;
}

export interface DecodeResult {
  words: string[];
  timed: TimedWord[];
  score: number;
  /** False when no path reached the end of the graph; the words are then the best partial path. */
  reachedFinal: boolean;
  numFrames: number;
}

function timed(hits: { word: string; startFrame: number; endFrame: number }[], shift: number): TimedWord[] {
  return hits.map((h) => ({ word: h.word, startFrame: h.startFrame, endFrame: h.endFrame, startSec: h.startFrame * shift, endSec: (h.endFrame + 1) * shift }));
}

/**
 * 1-best decode of one utterance. Pass a ViterbiDecoder to reuse its buffers across utterances (a
 * DecodingGraph builds a fresh one).
 */
export function decode(graph: DecodingGraph | ViterbiDecoder, loglikes: LoglikeMatrix, options: DecodeOptions = {}): DecodeResult {
  const decoder = graph instanceof ViterbiDecoder ? graph : new ViterbiDecoder(graph);
  const shift = frameShiftSeconds(options.timing);
  const r = decoder.search(loglikes, options);
  return { words: r.words.map((w) => w.word), timed: timed(r.words, shift), score: r.score, reachedFinal: r.reachedFinal, numFrames: loglikes.numFrames };
}

export interface AlignOptions extends SilenceOptions {
  lexicon: Lexicon;
  transitionModel: TransitionModel;
  uttId?: string;
  /** Default 0.1 (only relative to the transition/silence log-probs). */
  acousticScale?: number;
  /** Default Infinity: exact Viterbi. A finite beam speeds up long utterances but may fail to align. */
  beam?: number;
  timing?: FrameTiming;
}

export interface PhoneSegment {
  phone: string;
  startFrame: number;
  endFrame: number;
  /** Transcript position of the word it belongs to; -1 for silence. */
  wordIndex: number;
}

export interface WordSegment extends TimedWord {
  /** Position in the transcript. */
  index: number;
}

export interface AlignmentResult {
  uttId?: string;
  numFrames: number;
  /** Per frame: pdf id (the training target). */
  pdfs: Int32Array;
  /** Per frame: phone index (into transitionModel.phones) and HMM state within the phone. */
  phones: Int32Array;
  hmmStates: Int32Array;
  phoneSegments: PhoneSegment[];
  wordSegments: WordSegment[];
  score: number;
}

/** Fewest frames any path through the graph emits (0-1 BFS: arcs into emitting states cost one frame). */
function minFrames(g: DecodingGraph): number {
  const dist = new Int32Array(g.numStates).fill(-1);
  const deque: number[] = [g.start];
  const cost = new Int32Array(g.numStates).fill(2 ** 30);
  cost[g.start] = 0;
  while (deque.length) {
    const s = deque.shift()!;
    if (dist[s] >= 0) continue;
    dist[s] = cost[s];
    for (let k = g.arcStart[s]; k < g.arcStart[s + 1]; k++) {
      const d = g.arcDest[k];
      const c = cost[s] + (g.statePdf[d] >= 0 ? 1 : 0);
      if (c < cost[d]) {
        cost[d] = c;
        if (g.statePdf[d] >= 0) deque.push(d);
        else deque.unshift(d);
      }
    }
  }
  return dist[g.final];
}

/**
 * Forced alignment: Viterbi through the linear graph of the transcript (optional silences between words),
 * without pruning by default. Throws, naming the utterance and the numbers, when no path fits.
 */
export function forcedAlign(loglikes: LoglikeMatrix, transcript: readonly string[], options: AlignOptions): AlignmentResult {
  const graph = buildAlignmentGraph({ ...options, transcript });
  const decoder = new ViterbiDecoder(graph);
  const who = `forced alignment of utterance ${options.uttId !== undefined ? `"${options.uttId}"` : '(no id)'}`;
  const r = decoder.search(loglikes, {
    beam: options.beam ?? Infinity,
    maxActive: Infinity,
    acousticScale: options.acousticScale ?? 0.1,
    lmWeight: 1,
    wordInsertionPenalty: 0,
    traceStates: true,
  });
  const T = loglikes.numFrames;
  if (!r.reachedFinal) {
    const need = minFrames(graph);
    if (T < need) {
      throw new Error(
        `${who} failed: it has ${T} frames but its transcript (${transcript.length} words) needs at least ${need} ` +
          `(one per HMM state); check the transcript belongs to this audio, or the frame shift`,
      );
    }
    throw new Error(
      `${who} failed: no path through the ${transcript.length}-word transcript fits its ${T} frames` +
        (Number.isFinite(options.beam ?? Infinity) ? `; widen the beam (now ${options.beam})` : '; the loglikes may be -Infinity/NaN for a required pdf'),
    );
  }
  const states = r.states!;
  const pdfs = new Int32Array(T);
  const phones = new Int32Array(T);
  const hmmStates = new Int32Array(T);
  const phoneSegments: PhoneSegment[] = [];
  for (let t = 0; t < T; t++) {
    const s = states[t];
    pdfs[t] = graph.statePdf[s];
    phones[t] = graph.statePhone[s];
    hmmStates[t] = graph.stateHmm[s];
    if (t === 0 || graph.stateInstance[s] !== graph.stateInstance[states[t - 1]]) {
      phoneSegments.push({ phone: graph.phones[phones[t]], startFrame: t, endFrame: t, wordIndex: graph.stateWord[s] });
    } else {
      phoneSegments[phoneSegments.length - 1].endFrame = t;
    }
  }
  const shift = frameShiftSeconds(options.timing);
  const wordSegments = timed(r.words, shift).map((w, i) => ({ ...w, index: r.words[i].label }));
  return { uttId: options.uttId, numFrames: T, pdfs, phones, hmmStates, phoneSegments, wordSegments, score: r.score };
}

export interface DevUtterance {
  id: string;
  loglikes: LoglikeMatrix;
  reference: readonly string[];
}

export interface TuneOptions {
  lmWeights: readonly number[];
  /** Default [0]. */
  insertionPenalties?: readonly number[];
  /** Other search settings, held fixed. */
  search?: Omit<SearchOptions, 'lmWeight' | 'wordInsertionPenalty'>;
}

export interface TunePoint {
  lmWeight: number;
  wordInsertionPenalty: number;
  /** Percent; null if the dev references have no words. */
  wer: number | null;
  errors: number;
  refWords: number;
}

export interface TuneResult {
  best: TunePoint;
  grid: TunePoint[];
}

/**
 * Grid search of LM weight x word insertion penalty on a DEVELOPMENT set, best = fewest word errors
 * (first in grid order on ties). Never tune on the test set: the chosen values would be fitted to it
 * and the test WER would be optimistically biased. The graph is not rebuilt: weights apply at search.
 */
export function tuneLmWeight(graph: DecodingGraph | ViterbiDecoder, devSet: readonly DevUtterance[], options: TuneOptions): TuneResult {
  if (devSet.length === 0) throw new Error('tuneLmWeight: the dev set is empty');
  if (options.lmWeights.length === 0) throw new Error('tuneLmWeight: lmWeights is empty; give at least one value');
  const penalties = options.insertionPenalties ?? [0];
  if (penalties.length === 0) throw new Error('tuneLmWeight: insertionPenalties is empty; omit it for [0]');
  const decoder = graph instanceof ViterbiDecoder ? graph : new ViterbiDecoder(graph);
  const ref = new Map(devSet.map((u) => [u.id, u.reference]));
  if (ref.size !== devSet.length) throw new Error('tuneLmWeight: dev set has duplicate utterance ids');
  const grid: TunePoint[] = [];
  for (const lmWeight of options.lmWeights) {
    for (const wordInsertionPenalty of penalties) {
      const hyp = new Map<string, string[]>();
      for (const u of devSet) hyp.set(u.id, decoder.search(u.loglikes, { ...options.search, lmWeight, wordInsertionPenalty }).words.map((w) => w.word));
      const t = computeWer(ref, hyp).total;
      grid.push({ lmWeight, wordInsertionPenalty, wer: t.wer, errors: t.errors, refWords: t.refWords });
    }
  }
  let best = grid[0];
  for (const p of grid) if (p.errors < best.errors) best = p;
  return { best, grid };
}
