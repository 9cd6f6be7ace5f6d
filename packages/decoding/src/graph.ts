import type { Lexicon } from './lexicon.js';
import type { BigramLm } from './lm.js';
import type { TransitionModel } from './topology.js';

/** Arc flag: entering the first HMM state of a word; the word's start frame is taken here. */
export const ARC_WORD_START = 1;

/**
 * A decoding graph as compact arrays. States carry the pdf they emit (-1 = non-emitting, traversed
 * within a frame). Arcs are stored per source state (CSR): arcs into emitting states first, in
 * [arcStart[s], epsStart[s]), then arcs into non-emitting states, in [epsStart[s], arcStart[s+1]),
 * so the search loops over each kind without testing. Arc weights are kept as separate log-domain
 * parts so LM weight and insertion penalty can change without rebuilding:
 *   arc score = arcTrans + lmWeight * arcLm - wordInsertionPenalty * [arcWord >= 0].
 * The non-emitting subgraph is acyclic (checked at build).
 */
export interface DecodingGraph {
  numStates: number;
  start: number;
  final: number;
  statePdf: Int32Array;
  /** Index into `phones`, -1 for non-emitting states. */
  statePhone: Int32Array;
  /** HMM state index within the phone, -1 for non-emitting states. */
  stateHmm: Int32Array;
  /** Phone occurrence in the graph (so two adjacent same phones stay two segments), -1 if non-emitting. */
  stateInstance: Int32Array;
  /** Label of the word whose pronunciation holds this state; -1 for silence and structural states. */
  stateWord: Int32Array;
  /** Topological rank among non-emitting states (epsilon arcs go to higher ranks); -1 for emitting states. */
  stateRank: Int32Array;
  arcStart: Int32Array;
  epsStart: Int32Array;
  arcDest: Int32Array;
  /** HMM transition + pronunciation/silence log-probs (not scaled by lmWeight). */
  arcTrans: Float64Array;
  /** LM log-probs (scaled by lmWeight). */
  arcLm: Float64Array;
  /** Output word label (index into `words`) or -1. */
  arcWord: Int32Array;
  arcFlags: Uint8Array;
  /** Output labels. */
  words: readonly string[];
  phones: readonly string[];
  /** Loglike matrices must have at least this many columns. */
  numPdfs: number;
}

export interface StateInfo {
  phone?: number;
  hmmState?: number;
  instance?: number;
  word?: number;
}

export interface ArcInit {
  trans?: number;
  lm?: number;
  word?: number;
  flags?: number;
}

/** Low-level graph construction; `build` sorts arcs into the CSR layout and validates. */
export class GraphBuilder {
  private pdf: number[] = [];
  private info: Required<StateInfo>[] = [];
  private arcs: { from: number; to: number; trans: number; lm: number; word: number; flags: number }[] = [];

  get numStates(): number {
    return this.pdf.length;
  }

  addState(pdf = -1, info: StateInfo = {}): number {
    if (!Number.isInteger(pdf) || pdf < -1) throw new Error(`GraphBuilder.addState: pdf must be an integer >= -1, got ${pdf}`);
    this.pdf.push(pdf);
    this.info.push({ phone: info.phone ?? -1, hmmState: info.hmmState ?? -1, instance: info.instance ?? -1, word: info.word ?? -1 });
    return this.pdf.length - 1;
  }

  addArc(from: number, to: number, init: ArcInit = {}): void {
    const n = this.pdf.length;
    if (!(from >= 0 && from < n && to >= 0 && to < n)) throw new Error(`GraphBuilder.addArc: states ${from} -> ${to} out of range [0, ${n})`);
    const trans = init.trans ?? 0;
    const lm = init.lm ?? 0;
    // An impossible arc would only waste search time; callers skip zero-probability options.
    if (trans === -Infinity || lm === -Infinity) return;
    if (Number.isNaN(trans) || Number.isNaN(lm)) throw new Error(`GraphBuilder.addArc: NaN weight on ${from} -> ${to}`);
    this.arcs.push({ from, to, trans, lm, word: init.word ?? -1, flags: init.flags ?? 0 });
  }

  build(start: number, final: number, meta: { words: readonly string[]; phones: readonly string[]; numPdfs: number }): DecodingGraph {
    const N = this.pdf.length;
    if (!(start >= 0 && start < N && final >= 0 && final < N)) throw new Error(`GraphBuilder.build: start ${start} / final ${final} out of range [0, ${N})`);
    if (this.pdf[start] !== -1 || this.pdf[final] !== -1) throw new Error('GraphBuilder.build: start and final states must be non-emitting (pdf -1)');
    let maxPdf = -1;
    for (const p of this.pdf) maxPdf = Math.max(maxPdf, p);
    if (maxPdf >= meta.numPdfs) throw new Error(`GraphBuilder.build: a state uses pdf ${maxPdf} but numPdfs is ${meta.numPdfs}`);
    for (const a of this.arcs) {
      if (a.word >= meta.words.length) throw new Error(`GraphBuilder.build: arc ${a.from} -> ${a.to} has word label ${a.word}, but there are ${meta.words.length} words`);
    }
    // Counting sort by (source, emitting-destination-first).
    const emitCount = new Int32Array(N);
    const epsCount = new Int32Array(N);
    for (const a of this.arcs) (this.pdf[a.to] >= 0 ? emitCount : epsCount)[a.from]++;
    const arcStart = new Int32Array(N + 1);
    const epsStart = new Int32Array(N);
    for (let s = 0; s < N; s++) {
      epsStart[s] = arcStart[s] + emitCount[s];
      arcStart[s + 1] = epsStart[s] + epsCount[s];
    }
    const M = this.arcs.length;
    const arcDest = new Int32Array(M);
    const arcTrans = new Float64Array(M);
    const arcLm = new Float64Array(M);
    const arcWord = new Int32Array(M);
    const arcFlags = new Uint8Array(M);
    const nextEmit = arcStart.slice(0, N);
    const nextEps = epsStart.slice();
    for (const a of this.arcs) {
      const k = this.pdf[a.to] >= 0 ? nextEmit[a.from]++ : nextEps[a.from]++;
      arcDest[k] = a.to;
      arcTrans[k] = a.trans;
      arcLm[k] = a.lm;
      arcWord[k] = a.word;
      arcFlags[k] = a.flags;
    }
    // The within-frame closure assumes no cycle of non-emitting states (it would loop, or need a
    // shortest-path fixpoint); Kahn's algorithm over epsilon arcs finds one.
    const indeg = new Int32Array(N);
    for (let s = 0; s < N; s++) if (this.pdf[s] < 0) for (let k = epsStart[s]; k < arcStart[s + 1]; k++) indeg[arcDest[k]]++;
    const queue: number[] = [];
    let nonEmitting = 0;
    for (let s = 0; s < N; s++) if (this.pdf[s] < 0) ((nonEmitting += 1), indeg[s] === 0 && queue.push(s));
    let seen = 0;
    const stateRank = new Int32Array(N).fill(-1);
    while (queue.length) {
      const s = queue.pop()!;
      stateRank[s] = seen++;
      for (let k = epsStart[s]; k < arcStart[s + 1]; k++) if (--indeg[arcDest[k]] === 0) queue.push(arcDest[k]);
    }
    if (seen !== nonEmitting) throw new Error('GraphBuilder.build: the non-emitting states form a cycle; every cycle must pass through an emitting state');
    const col = (f: (i: Required<StateInfo>) => number) => Int32Array.from(this.info, f);
    return {
      numStates: N,
      start,
      final,
      statePdf: Int32Array.from(this.pdf),
      statePhone: col((i) => i.phone),
      stateHmm: col((i) => i.hmmState),
      stateInstance: col((i) => i.instance),
      stateWord: col((i) => i.word),
      stateRank,
      arcStart,
      epsStart,
      arcDest,
      arcTrans,
      arcLm,
      arcWord,
      arcFlags,
      words: meta.words,
      phones: meta.phones,
      numPdfs: meta.numPdfs,
    };
  }
}

/** Adds HMM copies of phone sequences to a builder (the H part: phone -> states, with context for C). */
class HmmExpander {
  private instances = 0;
  private readonly phoneIndex: Map<string, number>;

  constructor(
    readonly b: GraphBuilder,
    readonly tm: TransitionModel,
  ) {
    this.phoneIndex = new Map(tm.phones.map((p, i) => [p, i]));
  }

  /**
   * Chain of phone HMMs from `from` to `to` (both non-emitting). Left/right context of each phone is its
   * neighbour within the sequence, null at the ends (word-internal context). Phones are linked by direct
   * arcs (exit transition of one HMM into state 0 of the next) so words have no inner epsilon states.
   * `entry` adds weight/flags to the arc into the first state; `exit` to the arcs out of the last phone.
   */
  chain(phones: readonly string[], from: number, to: number, word: number, entry: ArcInit, exit: ArcInit, where: string): void {
    let prevExits: { state: number; logProb: number }[] | null = null;
    for (let i = 0; i < phones.length; i++) {
      const phone = phones[i];
      const pi = this.phoneIndex.get(phone);
      if (pi === undefined) throw new Error(`${where}: phone "${phone}" is not in the transition model's phone list`);
      const hmm = this.tm.hmm(phone);
      const left = i > 0 ? phones[i - 1] : null;
      const right = i + 1 < phones.length ? phones[i + 1] : null;
      const inst = this.instances++;
      const ids: number[] = [];
      for (let s = 0; s < hmm.numStates; s++) {
        ids.push(this.b.addState(this.tm.pdfOf(phone, left, right, s), { phone: pi, hmmState: s, instance: inst, word }));
      }
      if (prevExits === null) this.b.addArc(from, ids[0], entry);
      else for (const e of prevExits) this.b.addArc(e.state, ids[0], { trans: e.logProb });
      const exits: { state: number; logProb: number }[] = [];
      for (let s = 0; s < hmm.numStates; s++) {
        for (const t of hmm.transitions[s]) {
          if (t.to === hmm.numStates) exits.push({ state: ids[s], logProb: t.logProb });
          else this.b.addArc(ids[s], ids[t.to], { trans: t.logProb });
        }
      }
      prevExits = exits;
    }
    if (prevExits === null) throw new Error(`${where}: empty phone sequence`);
    for (const e of prevExits) this.b.addArc(e.state, to, { ...exit, trans: e.logProb + (exit.trans ?? 0) });
  }

  /** Optional silence between `from` and `to`: skip with log(1-p), or one silence phone with log p. */
  optionalSilence(from: number, to: number, silencePhone: string, prob: number, where: string): void {
    if (prob < 1) this.b.addArc(from, to, { trans: Math.log(1 - prob) });
    if (prob > 0) this.chain([silencePhone], from, to, -1, { trans: Math.log(prob) }, {}, where);
  }
}

export interface SilenceOptions {
  /** Phone used for optional inter-word silence (default "sil"). */
  silencePhone?: string;
  /** Probability of a silence after each word and at the start (default 0.5, as Kaldi's prepare_lang). 0 disables. */
  silenceProb?: number;
}

function checkSilence(tm: TransitionModel, o: SilenceOptions, where: string): { phone: string; prob: number } {
  const phone = o.silencePhone ?? 'sil';
  const prob = o.silenceProb ?? 0.5;
  if (!(prob >= 0 && prob <= 1)) throw new Error(`${where}: silenceProb must be in [0, 1], got ${prob}`);
  if (prob > 0 && !tm.phones.includes(phone)) {
    throw new Error(`${where}: silence phone "${phone}" is not in the phone list; add it, set silencePhone, or set silenceProb: 0`);
  }
  return { phone, prob };
}

export interface DecodingGraphOptions extends SilenceOptions {
  lexicon: Lexicon;
  lm: BigramLm;
  transitionModel: TransitionModel;
}

export interface BuiltDecodingGraph extends DecodingGraph {
  /** LM words that had no pronunciation and so cannot be output (often just <unk>). */
  wordsWithoutPronunciation: string[];
}

/**
 * The decoding graph for a bigram LM, built directly rather than by WFST composition (H o C o L o G):
 *
 *   G: one non-emitting state per LM history h (<s> and every word), one backoff state B, and FINAL.
 *      h -> W_in(w) with ln P(w|h) for each explicit bigram; h -> B with ln bow(h); B -> W_in(w) with
 *      ln P1(w); h -> FINAL and B -> FINAL with the </s> probabilities.
 *   L: one copy of each word's pronunciations between non-emitting W_in(w) and W_out(w) (alternatives
 *      weighted by their probabilities). Sharing the copy is exact for a bigram because the next LM state
 *      after w is w whatever came before. W_out(w) -> h=w directly or through an optional silence (its
 *      own copy per word, so the history is kept), and START -> <s> likewise allows leading silence.
 *   C: word-internal triphone context (neighbours inside the pronunciation, null at word edges), passed
 *      to pdfOf; with monophone pdfs it has no effect.
 *   H: each phone expands to its topology's emitting states; the word label sits on the arcs leaving the
 *      last phone, so a word's end frame is known when the label is emitted.
 *
 * Size is O(vocabulary x pronunciation states + explicit bigrams), not O(V^2).
 */
export function buildDecodingGraph(options: DecodingGraphOptions): BuiltDecodingGraph {
  const { lexicon, lm, transitionModel: tm } = options;
  const where = 'buildDecodingGraph';
  const sil = checkSilence(tm, options, where);
  const b = new GraphBuilder();
  const hmm = new HmmExpander(b, tm);
  const V = lm.vocabSize;
  const start = b.addState();
  const final = b.addState();
  const backoff = b.addState();
  const hist = new Int32Array(V).fill(-1);
  const win = new Int32Array(V).fill(-1);
  const missing: string[] = [];
  for (let w = 0; w < V; w++) {
    if (w === lm.eosId) continue;
    if (w === lm.bosId) {
      hist[w] = b.addState();
      continue;
    }
    const prons = lexicon.get(lm.words[w]);
    if (!prons || prons.length === 0) {
      missing.push(lm.words[w]);
      continue;
    }
    hist[w] = b.addState();
    win[w] = b.addState();
    const wout = b.addState();
    for (const p of prons) {
      hmm.chain(p.phones, win[w], wout, w, { trans: Math.log(p.prob), flags: ARC_WORD_START }, { word: w }, `${where}: word "${lm.words[w]}"`);
    }
    hmm.optionalSilence(wout, hist[w], sil.phone, sil.prob, where);
  }
  if (missing.length === V - 2) throw new Error(`${where}: no LM word has a pronunciation in the lexicon; check that the lexicon and LM use the same words`);
  hmm.optionalSilence(start, hist[lm.bosId], sil.phone, sil.prob, where);
  for (let h = 0; h < V; h++) {
    if (hist[h] < 0) continue;
    const { words, logProbs } = lm.bigramsOf(h);
    for (let k = 0; k < words.length; k++) {
      const w = words[k];
      if (w === lm.eosId) b.addArc(hist[h], final, { lm: logProbs[k] });
      else if (win[w] >= 0) b.addArc(hist[h], win[w], { lm: logProbs[k] });
    }
    b.addArc(hist[h], backoff, { lm: lm.logBackoff(h) });
  }
  for (let w = 0; w < V; w++) if (win[w] >= 0) b.addArc(backoff, win[w], { lm: lm.logUnigram(w) });
  b.addArc(backoff, final, { lm: lm.logUnigram(lm.eosId) });
  const g = b.build(start, final, { words: lm.words, phones: tm.phones, numPdfs: tm.numPdfs });
  return { ...g, wordsWithoutPronunciation: missing };
}

export interface AlignmentGraphOptions extends SilenceOptions {
  transcript: readonly string[];
  lexicon: Lexicon;
  transitionModel: TransitionModel;
  /** Names the utterance in errors. */
  uttId?: string;
}

/**
 * Linear graph for forced alignment: optional silence, then each transcript word (all its
 * pronunciations in parallel), each followed by optional silence. Word labels are transcript positions
 * (graph.words = the transcript), so repeated words stay distinct.
 */
export function buildAlignmentGraph(options: AlignmentGraphOptions): DecodingGraph {
  const { transcript, lexicon, transitionModel: tm } = options;
  const where = `alignment graph${options.uttId !== undefined ? ` for utterance "${options.uttId}"` : ''}`;
  const sil = checkSilence(tm, options, where);
  const b = new GraphBuilder();
  const hmm = new HmmExpander(b, tm);
  const start = b.addState();
  let junction = b.addState();
  hmm.optionalSilence(start, junction, sil.phone, sil.prob, where);
  for (let i = 0; i < transcript.length; i++) {
    const word = transcript[i];
    const prons = lexicon.get(word);
    if (!prons || prons.length === 0) throw new Error(`${where}: word "${word}" (position ${i}) is not in the lexicon; add a pronunciation or map it to an OOV word`);
    const wout = b.addState();
    for (const p of prons) hmm.chain(p.phones, junction, wout, i, { trans: Math.log(p.prob), flags: ARC_WORD_START }, { word: i }, `${where}: word "${word}"`);
    junction = b.addState();
    hmm.optionalSilence(wout, junction, sil.phone, sil.prob, where);
  }
  return b.build(start, junction, { words: transcript, phones: tm.phones, numPdfs: tm.numPdfs });
}
