import { windowShiftSamples, type FrameOptions } from '@kdasr/base';
import { ARC_WORD_START, type DecodingGraph } from './graph.js';

/** Row-major [numFrames, numPdfs] scores; row t is frame t. */
export interface LoglikeMatrix {
  numFrames: number;
  numPdfs: number;
  data: Float32Array | Float64Array;
}

export interface SearchOptions {
  /** Tokens more than `beam` below the frame's best are dropped (log domain, after scaling). Default 16. */
  beam?: number;
  /** At most this many tokens survive a frame (Kaldi --max-active). Default 7000. */
  maxActive?: number;
  /** Multiplies the acoustic log-likelihoods (Kaldi --acoustic-scale). Default 0.1. */
  acousticScale?: number;
  /** Multiplies LM log-probabilities. Default 1 (with acousticScale 0.1 this is Kaldi's LM weight 10). */
  lmWeight?: number;
  /** Subtracted once per output word (positive discourages insertions). Default 0. */
  wordInsertionPenalty?: number;
}

export interface WordHit {
  /** Output label: index into graph.words. */
  label: number;
  word: string;
  /** First and last frame of the word (inclusive); silence before/after is not included. */
  startFrame: number;
  endFrame: number;
}

export interface SearchResult {
  /** Total path score: acousticScale * sum(loglikes) + transitions + lmWeight * LM - penalty * words. */
  score: number;
  /** False when no token reached the final state; the result is then the best partial path. */
  reachedFinal: boolean;
  words: WordHit[];
  /** Graph state per frame (only with traceStates). */
  states?: Int32Array;
  /** Tokens alive per frame, summed over frames (a cost measure). */
  tokensProcessed: number;
}

class Growable {
  data: Int32Array;
  length = 0;
  constructor(cap: number) {
    this.data = new Int32Array(Math.max(16, cap));
  }
  push(x: number): number {
    if (this.length === this.data.length) {
      const d = new Int32Array(this.data.length * 2);
      d.set(this.data);
      this.data = d;
    }
    this.data[this.length] = x;
    return this.length++;
  }
}

/** Token storage for one time boundary: dense per-state arrays plus a list of the active states. */
class Tokens {
  score: Float64Array;
  link: Int32Array;
  entry: Int32Array;
  trace: Int32Array;
  active: Int32Array;
  count = 0;
  constructor(n: number) {
    this.score = new Float64Array(n).fill(-Infinity);
    this.link = new Int32Array(n);
    this.entry = new Int32Array(n);
    this.trace = new Int32Array(n);
    this.active = new Int32Array(n);
  }
  clear(): void {
    for (let i = 0; i < this.count; i++) this.score[this.active[i]] = -Infinity;
    this.count = 0;
  }
}

/**
 * Viterbi beam search (token passing) over a DecodingGraph. Buffers are sized to the graph once and
 * reused, so decoding many utterances allocates only the traceback records. One token per state: a
 * token at an emitting state at boundary t+1 has emitted frame t there; non-emitting states are
 * reached within a boundary by the epsilon closure.
 */
export class ViterbiDecoder {
  private a: Tokens;
  private b: Tokens;
  private stack: Int32Array;
  private onStack: Uint8Array;
  private scratch: Float64Array;
  private weights: Float64Array;
  private weightKey = '';
  // Word-link records (traceback of words): word label, start frame, end frame, previous link.
  private lWord = new Growable(1024);
  private lStart = new Growable(1024);
  private lEnd = new Growable(1024);
  private lPrev = new Growable(1024);
  // State-trace records (one per emitting token per frame, only with traceStates).
  private tState = new Growable(1024);
  private tPrev = new Growable(1024);

  constructor(readonly graph: DecodingGraph) {
    const n = graph.numStates;
    this.a = new Tokens(n);
    this.b = new Tokens(n);
    this.stack = new Int32Array(n);
    this.onStack = new Uint8Array(n);
    this.scratch = new Float64Array(n);
    this.weights = new Float64Array(graph.arcDest.length);
  }

  private prepareWeights(lmWeight: number, wip: number): Float64Array {
    const key = `${lmWeight}/${wip}`;
    if (key !== this.weightKey) {
      const g = this.graph;
      for (let k = 0; k < g.arcDest.length; k++) this.weights[k] = g.arcTrans[k] + lmWeight * g.arcLm[k] - (g.arcWord[k] >= 0 ? wip : 0);
      this.weightKey = key;
    }
    return this.weights;
  }

  search(ll: LoglikeMatrix, options: SearchOptions & { traceStates?: boolean } = {}): SearchResult {
    const g = this.graph;
    const beam = options.beam ?? 16;
    const maxActive = options.maxActive ?? 7000;
    const acScale = options.acousticScale ?? 0.1;
    const lmWeight = options.lmWeight ?? 1;
    const wip = options.wordInsertionPenalty ?? 0;
    const trace = options.traceStates ?? false;
    if (!(beam > 0)) throw new Error(`decode: beam must be > 0, got ${beam}`);
    if (!(maxActive >= 1)) throw new Error(`decode: maxActive must be >= 1, got ${maxActive}`);
    for (const [k, v] of [['acousticScale', acScale], ['lmWeight', lmWeight], ['wordInsertionPenalty', wip]] as const) {
      if (!Number.isFinite(v)) throw new Error(`decode: ${k} must be finite, got ${v}`);
    }
    checkLoglikes(ll, g.numPdfs);
    const w = this.prepareWeights(lmWeight, wip);
    const T = ll.numFrames;
    const P = ll.numPdfs;
    const data = ll.data;
    const frame = this.frameScores(P);
    const { arcStart, epsStart, arcDest, arcWord, arcFlags, statePdf } = g;
    this.lWord.length = this.lStart.length = this.lEnd.length = this.lPrev.length = 0;
    this.tState.length = this.tPrev.length = 0;
    let prev = this.a;
    let cur = this.b;
    prev.clear();
    cur.clear();
    prev.score[g.start] = 0;
    prev.link[g.start] = -1;
    prev.entry[g.start] = 0;
    prev.trace[g.start] = -1;
    prev.active[prev.count++] = g.start;
    this.closure(prev, -Infinity, 0, w);
    let tokensProcessed = 0;
    for (let t = 0; t < T; t++) {
      const cutoff = this.cutoff(prev, beam, maxActive);
      // Scale this frame's scores once; locals let V8 keep the typed arrays in registers.
      const row = t * P;
      for (let p = 0; p < P; p++) frame[p] = acScale * data[row + p];
      const pScore = prev.score;
      const pLink = prev.link;
      const pEntry = prev.entry;
      const pTrace = prev.trace;
      const pActive = prev.active;
      const cScore = cur.score;
      const cLink = cur.link;
      const cEntry = cur.entry;
      const cTrace = cur.trace;
      const cActive = cur.active;
      let cCount = cur.count;
      let best = -Infinity;
      const n = prev.count;
      tokensProcessed += n;
      for (let i = 0; i < n; i++) {
        const s = pActive[i];
        const sc = pScore[s];
        if (sc < cutoff) continue;
        const end = epsStart[s];
        for (let k = arcStart[s]; k < end; k++) {
          const d = arcDest[k];
          const ns = sc + w[k] + frame[statePdf[d]];
          if (!(ns > cScore[d])) continue;
          let link = pLink[s];
          if (arcWord[k] >= 0) link = this.addLink(arcWord[k], pEntry[s], t - 1, link);
          if (cScore[d] === -Infinity) {
            cActive[cCount++] = d;
            if (trace) cTrace[d] = this.addTrace(d);
          }
          cScore[d] = ns;
          cLink[d] = link;
          cEntry[d] = arcFlags[k] & ARC_WORD_START ? t : pEntry[s];
          if (trace) this.tPrev.data[cTrace[d]] = pTrace[s];
          if (ns > best) best = ns;
        }
      }
      cur.count = cCount;
      // No pruning in the last closure: the final state's </s> cost must not be beamed away.
      this.closure(cur, t === T - 1 ? -Infinity : best - beam, t + 1, w);
      prev.clear();
      const tmp = prev;
      prev = cur;
      cur = tmp;
    }
    // prev now holds the tokens after the last frame.
    let endState = g.final;
    let reachedFinal = prev.score[g.final] > -Infinity;
    if (!reachedFinal) {
      endState = -1;
      let best = -Infinity;
      for (let i = 0; i < prev.count; i++) {
        const s = prev.active[i];
        if (prev.score[s] > best) ((best = prev.score[s]), (endState = s));
      }
    }
    if (endState < 0) return { score: -Infinity, reachedFinal: false, words: [], tokensProcessed, ...(trace ? { states: new Int32Array(0) } : {}) };
    const words: WordHit[] = [];
    for (let l = prev.link[endState]; l >= 0; l = this.lPrev.data[l]) {
      const label = this.lWord.data[l];
      words.push({ label, word: g.words[label], startFrame: this.lStart.data[l], endFrame: this.lEnd.data[l] });
    }
    words.reverse();
    const result: SearchResult = { score: prev.score[endState], reachedFinal, words, tokensProcessed };
    if (trace) {
      const states = new Int32Array(T);
      let k = T - 1;
      for (let r = prev.trace[endState]; r >= 0; r = this.tPrev.data[r]) states[k--] = this.tState.data[r];
      if (k !== -1) throw new Error(`decode: internal error, state trace has ${T - 1 - k} frames for ${T}`);
      result.states = states;
    }
    return result;
  }

  private frameBuf = new Float64Array(0);
  private frameScores(P: number): Float64Array {
    if (this.frameBuf.length < P) this.frameBuf = new Float64Array(P);
    return this.frameBuf;
  }

  private addLink(word: number, start: number, end: number, prev: number): number {
    this.lWord.push(word);
    this.lStart.push(start);
    this.lEnd.push(end);
    return this.lPrev.push(prev);
  }

  private addTrace(state: number): number {
    this.tState.push(state);
    return this.tPrev.push(-1);
  }

  /** Score below which tokens are not expanded: best - beam, tightened to the maxActive-th best. */
  private cutoff(tok: Tokens, beam: number, maxActive: number): number {
    let best = -Infinity;
    for (let i = 0; i < tok.count; i++) {
      const sc = tok.score[tok.active[i]];
      if (sc > best) best = sc;
    }
    const cut = best - beam;
    if (tok.count <= maxActive) return cut;
    let m = 0;
    for (let i = 0; i < tok.count; i++) {
      const sc = tok.score[tok.active[i]];
      if (sc >= cut) this.scratch[m++] = sc;
    }
    if (m <= maxActive) return cut;
    return Math.max(cut, kthLargest(this.scratch, m, maxActive));
  }

  /**
   * Epsilon closure at boundary `b`: relax arcs into non-emitting states from every active token.
   * Emitting sources are relaxed first, then non-emitting states in topological order (a heap on
   * stateRank), so each is expanded once, after all its predecessors: a stack would re-expand a
   * high fan-out state such as the LM backoff state once per improvement.
   */
  private closure(tok: Tokens, cutoff: number, b: number, w: Float64Array): void {
    const { arcStart, epsStart, statePdf } = this.graph;
    const onHeap = this.onStack;
    this.heapSize = 0;
    const n = tok.count;
    for (let i = 0; i < n; i++) {
      const s = tok.active[i];
      if (epsStart[s] === arcStart[s + 1] || tok.score[s] < cutoff) continue;
      if (statePdf[s] >= 0) this.relax(tok, s, cutoff, b, w);
      else if (!onHeap[s]) this.heapPush(s);
    }
    while (this.heapSize > 0) {
      const s = this.heapPop();
      onHeap[s] = 0;
      this.relax(tok, s, cutoff, b, w);
    }
  }

  private relax(tok: Tokens, s: number, cutoff: number, b: number, w: Float64Array): void {
    const { arcStart, epsStart, arcDest, arcWord, arcFlags } = this.graph;
    const score = tok.score;
    const sc = score[s];
    const end = arcStart[s + 1];
    for (let k = epsStart[s]; k < end; k++) {
      const d = arcDest[k];
      const ns = sc + w[k];
      if (!(ns > score[d]) || ns < cutoff) continue;
      let link = tok.link[s];
      if (arcWord[k] >= 0) link = this.addLink(arcWord[k], tok.entry[s], b - 1, link);
      if (score[d] === -Infinity) tok.active[tok.count++] = d;
      score[d] = ns;
      tok.link[d] = link;
      tok.entry[d] = arcFlags[k] & ARC_WORD_START ? b : tok.entry[s];
      tok.trace[d] = tok.trace[s];
      if (!this.onStack[d] && epsStart[d] < arcStart[d + 1]) this.heapPush(d);
    }
  }

  private heapSize = 0;

  /** Min-heap of states keyed by stateRank (stored in this.stack). */
  private heapPush(s: number): void {
    const heap = this.stack;
    const rank = this.graph.stateRank;
    this.onStack[s] = 1;
    let i = this.heapSize++;
    const r = rank[s];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (rank[heap[parent]] <= r) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = s;
  }

  private heapPop(): number {
    const heap = this.stack;
    const rank = this.graph.stateRank;
    const top = heap[0];
    const last = heap[--this.heapSize];
    const n = this.heapSize;
    const r = rank[last];
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && rank[heap[c + 1]] < rank[heap[c]]) c++;
      if (rank[heap[c]] >= r) break;
      heap[i] = heap[c];
      i = c;
    }
    if (n > 0) heap[i] = last;
    return top;
  }
}

/** k-th largest of a[0..n) (1-based k), by quickselect; reorders a. */
function kthLargest(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] > pivot) i++;
      while (a[j] < pivot) j--;
      if (i <= j) {
        const x = a[i];
        a[i] = a[j];
        a[j] = x;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target];
  }
  return a[target];
}

export function checkLoglikes(ll: LoglikeMatrix, numPdfs: number, where = 'decode'): void {
  if (!(Number.isInteger(ll.numFrames) && ll.numFrames >= 0)) throw new Error(`${where}: loglikes.numFrames must be a non-negative integer, got ${ll.numFrames}`);
  if (ll.data.length !== ll.numFrames * ll.numPdfs) {
    throw new Error(`${where}: loglikes.data has ${ll.data.length} values but numFrames x numPdfs = ${ll.numFrames} x ${ll.numPdfs}`);
  }
  if (ll.numPdfs < numPdfs) throw new Error(`${where}: loglikes have ${ll.numPdfs} pdf columns but the graph uses ${numPdfs}; the acoustic model and graph disagree`);
}

/**
 * Scaled log-likelihoods for hybrid decoding: log p(x|s) ~ log P(s|x) - priorScale * log P(s)
 * (the frame-level constant log p(x) drops out of the search). Output is a new Float32Array matrix.
 */
export function posteriorsToLoglikes(logPosteriors: LoglikeMatrix, logPriors: ArrayLike<number>, priorScale = 1): LoglikeMatrix {
  checkLoglikes(logPosteriors, 0, 'posteriorsToLoglikes');
  const P = logPosteriors.numPdfs;
  if (logPriors.length !== P) throw new Error(`posteriorsToLoglikes: logPriors has ${logPriors.length} entries but logPosteriors has ${P} pdf columns`);
  if (!Number.isFinite(priorScale)) throw new Error(`posteriorsToLoglikes: priorScale must be finite, got ${priorScale}`);
  for (let p = 0; p < P; p++) {
    if (!Number.isFinite(logPriors[p])) {
      throw new Error(`posteriorsToLoglikes: logPriors[${p}] is ${logPriors[p]} (pdf never seen when counting priors?); floor the priors before taking logs`);
    }
  }
  const out = new Float32Array(logPosteriors.data.length);
  const src = logPosteriors.data;
  for (let t = 0; t < logPosteriors.numFrames; t++) {
    const row = t * P;
    for (let p = 0; p < P; p++) out[row + p] = src[row + p] - priorScale * logPriors[p];
  }
  return { numFrames: logPosteriors.numFrames, numPdfs: P, data: out };
}

/** Frame timing for word times: frame t starts at t * shift (Kaldi CTM convention). */
export type FrameTiming = { frameShiftMs: number } | FrameOptions;

export function frameShiftSeconds(timing: FrameTiming = { frameShiftMs: 10 }): number {
  if ('sampleRateHz' in timing) return windowShiftSamples(timing) / timing.sampleRateHz;
  if (!(timing.frameShiftMs > 0)) throw new Error(`frame timing: frameShiftMs must be > 0, got ${timing.frameShiftMs}`);
  return timing.frameShiftMs / 1000;
}
