import { Rng } from '@kdasr/core';
import { describe, expect, it } from 'vitest';
import { ARC_WORD_START, GraphBuilder, type DecodingGraph } from './graph.js';
import { posteriorsToLoglikes, ViterbiDecoder, type LoglikeMatrix } from './viterbi.js';

interface Best {
  score: number;
  words: { label: number; startFrame: number; endFrame: number }[];
  states: number[];
}

/** Random graph: emitting and non-emitting states; epsilon arcs between non-emitting states only go up in index. */
function randomGraph(rng: Rng): DecodingGraph {
  const b = new GraphBuilder();
  const numPdfs = 3;
  const n = 3 + rng.int(4);
  const kinds: number[] = [];
  const start = b.addState();
  kinds.push(-1);
  for (let i = 0; i < n; i++) {
    const pdf = rng.next() < 0.7 ? rng.int(numPdfs) : -1;
    b.addState(pdf);
    kinds.push(pdf);
  }
  const final = b.addState();
  kinds.push(-1);
  const N = kinds.length;
  for (let s = 0; s < N; s++) {
    const numArcs = s === final ? rng.int(2) : 1 + rng.int(3);
    for (let k = 0; k < numArcs; k++) {
      let d = rng.int(N);
      if (kinds[s] < 0 && kinds[d] < 0 && d <= s) continue; // keep the epsilon subgraph acyclic
      if (d === start) d = final;
      if (kinds[s] < 0 && kinds[d] < 0 && d <= s) continue;
      b.addArc(s, d, {
        trans: -rng.uniform(0, 2),
        lm: rng.next() < 0.5 ? -rng.uniform(0, 3) : 0,
        word: rng.next() < 0.4 ? rng.int(3) : -1,
        flags: rng.next() < 0.3 ? ARC_WORD_START : 0,
      });
    }
  }
  return b.build(start, final, { words: ['x', 'y', 'z'], phones: [], numPdfs });
}

/** Enumerate every path that ends at the final state after exactly T frames; keep the best. */
function bruteForce(g: DecodingGraph, ll: LoglikeMatrix, ac: number, lmw: number, wip: number): Best | null {
  let best: Best | null = null;
  const words: Best['words'] = [];
  const states: number[] = [];
  const visit = (s: number, t: number, score: number, entry: number) => {
    if (s === g.final && t === ll.numFrames && (!best || score > best.score)) best = { score, words: [...words], states: [...states] };
    for (let k = g.arcStart[s]; k < g.arcStart[s + 1]; k++) {
      const d = g.arcDest[k];
      const emitting = g.statePdf[d] >= 0;
      if (emitting && t === ll.numFrames) continue;
      let sc = score + g.arcTrans[k] + lmw * g.arcLm[k];
      const hasWord = g.arcWord[k] >= 0;
      if (hasWord) {
        sc -= wip;
        words.push({ label: g.arcWord[k], startFrame: entry, endFrame: t - 1 });
      }
      const e = g.arcFlags[k] & ARC_WORD_START ? t : entry;
      if (emitting) {
        states.push(d);
        visit(d, t + 1, sc + ac * ll.data[t * ll.numPdfs + g.statePdf[d]], e);
        states.pop();
      } else {
        visit(d, t, sc, e);
      }
      if (hasWord) words.pop();
    }
  };
  visit(g.start, 0, 0, 0);
  return best;
}

function randomLoglikes(rng: Rng, T: number, P: number): LoglikeMatrix {
  const data = new Float64Array(T * P);
  for (let i = 0; i < data.length; i++) data[i] = rng.normal(0, 2);
  return { numFrames: T, numPdfs: P, data };
}

describe('ViterbiDecoder vs brute-force search', () => {
  it('finds the best path score, words, word frames and state sequence on random small graphs', () => {
    const rng = new Rng(20240601);
    let compared = 0;
    let unreachable = 0;
    for (let trial = 0; trial < 300; trial++) {
      const g = randomGraph(rng);
      const T = 1 + rng.int(5);
      const ll = randomLoglikes(rng, T, g.numPdfs);
      const [ac, lmw, wip] = [rng.uniform(0.1, 1.5), rng.uniform(0.5, 2), rng.uniform(-1, 1)];
      const exact = bruteForce(g, ll, ac, lmw, wip) as Best | null;
      const r = new ViterbiDecoder(g).search(ll, { beam: Infinity, maxActive: Infinity, acousticScale: ac, lmWeight: lmw, wordInsertionPenalty: wip, traceStates: true });
      if (!exact) {
        expect(r.reachedFinal).toBe(false);
        unreachable++;
        continue;
      }
      compared++;
      expect(r.reachedFinal).toBe(true);
      expect(r.score).toBeCloseTo(exact.score, 9);
      expect(r.words.map(({ label, startFrame, endFrame }) => ({ label, startFrame, endFrame }))).toEqual(exact.words);
      expect([...r.states!]).toEqual(exact.states);
    }
    // The generator must actually exercise both outcomes.
    expect(compared).toBeGreaterThan(100);
    expect(unreachable).toBeGreaterThan(5);
  });

  it('pruning never beats exact search, and a wide beam matches it', () => {
    const rng = new Rng(7);
    let pruned = 0;
    for (let trial = 0; trial < 200; trial++) {
      const g = randomGraph(rng);
      const ll = randomLoglikes(rng, 2 + rng.int(5), g.numPdfs);
      const dec = new ViterbiDecoder(g);
      const exact = dec.search(ll, { beam: Infinity, maxActive: Infinity, acousticScale: 1 });
      const wide = dec.search(ll, { beam: 1e6, maxActive: 1e6, acousticScale: 1 });
      const narrow = dec.search(ll, { beam: 0.5, maxActive: 1, acousticScale: 1 });
      expect(wide.score).toBe(exact.score);
      if (narrow.reachedFinal && exact.reachedFinal) {
        expect(narrow.score).toBeLessThanOrEqual(exact.score + 1e-12);
        if (narrow.score < exact.score - 1e-9) pruned++;
      }
    }
    expect(pruned).toBeGreaterThan(0);
  });

  it('reuses its buffers across utterances with identical results', () => {
    const rng = new Rng(3);
    const g = randomGraph(rng);
    const dec = new ViterbiDecoder(g);
    const lls = [randomLoglikes(rng, 4, g.numPdfs), randomLoglikes(rng, 6, g.numPdfs)];
    const first = lls.map((ll) => dec.search(ll, { beam: Infinity }));
    const again = lls.map((ll) => new ViterbiDecoder(g).search(ll, { beam: Infinity }));
    expect(first).toEqual(again);
  });

  it('rejects a non-emitting cycle at build time', () => {
    const b = new GraphBuilder();
    const s0 = b.addState();
    const s1 = b.addState();
    b.addArc(s0, s1);
    b.addArc(s1, s0);
    expect(() => b.build(s0, s1, { words: [], phones: [], numPdfs: 1 })).toThrow(/non-emitting states form a cycle/);
  });

  it('checks loglike matrix shape', () => {
    const g = randomGraph(new Rng(5));
    const dec = new ViterbiDecoder(g);
    expect(() => dec.search({ numFrames: 2, numPdfs: 3, data: new Float32Array(5) })).toThrow(/5 values but numFrames x numPdfs = 2 x 3/);
    expect(() => dec.search({ numFrames: 1, numPdfs: 2, data: new Float32Array(2) })).toThrow(/2 pdf columns but the graph uses 3/);
  });
});

describe('posteriorsToLoglikes', () => {
  it('subtracts the scaled log prior per pdf', () => {
    const post = { numFrames: 2, numPdfs: 2, data: Float32Array.from([-0.1, -2.3, -1.2, -0.4]) };
    const ll = posteriorsToLoglikes(post, [Math.log(0.8), Math.log(0.2)], 0.5);
    const expected = [-0.1 - 0.5 * Math.log(0.8), -2.3 - 0.5 * Math.log(0.2), -1.2 - 0.5 * Math.log(0.8), -0.4 - 0.5 * Math.log(0.2)];
    expect([...ll.data].map((x) => +x.toFixed(5))).toEqual(expected.map((x) => +x.toFixed(5)));
  });
  it('rejects -Infinity priors and size mismatches with a fix', () => {
    const post = { numFrames: 1, numPdfs: 2, data: new Float32Array(2) };
    expect(() => posteriorsToLoglikes(post, [0, -Infinity])).toThrow(/logPriors\[1\] is -Infinity.*floor the priors/);
    expect(() => posteriorsToLoglikes(post, [0])).toThrow(/logPriors has 1 entries but logPosteriors has 2/);
  });
});
