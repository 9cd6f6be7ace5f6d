import { describe, expect, it } from 'vitest';
import { buildDecodingGraph } from './graph.js';
import { BigramLm } from './lm.js';
import { buildPhoneHmm, monophonePdfs, TransitionModel } from './topology.js';

const probs = (h: ReturnType<typeof buildPhoneHmm>) => h.transitions.map((ts) => ts.map((t) => [t.to, +Math.exp(t.logProb).toFixed(6)]));

describe('HMM topologies', () => {
  it('3-state left-to-right with configurable self-loop', () => {
    expect(probs(buildPhoneHmm({ kind: 'left-to-right', numStates: 3, selfLoopProb: 0.6 }))).toEqual([
      [[0, 0.6], [1, 0.4]],
      [[1, 0.6], [2, 0.4]],
      [[2, 0.6], [3, 0.4]],
    ]);
  });
  it('Kaldi 5-state silence (gen_topo.pl)', () => {
    const h = buildPhoneHmm({ kind: 'kaldi-silence' });
    expect(h.numStates).toBe(5);
    expect(probs(h)).toEqual([
      [[0, 0.25], [1, 0.25], [2, 0.25], [3, 0.25]],
      [[1, 0.25], [2, 0.25], [3, 0.25], [4, 0.25]],
      [[1, 0.25], [2, 0.25], [3, 0.25], [4, 0.25]],
      [[1, 0.25], [2, 0.25], [3, 0.25], [4, 0.25]],
      [[4, 0.75], [5, 0.25]],
    ]);
  });
  it('explains invalid explicit topologies', () => {
    expect(() => buildPhoneHmm({ kind: 'explicit', states: [[{ to: 0, prob: 0.5 }, { to: 1, prob: 0.4 }]] }, 'topo.x')).toThrow('topo.x: transition probabilities out of state 0 sum to 0.9');
    expect(() => buildPhoneHmm({ kind: 'explicit', states: [[{ to: 2, prob: 1 }], [{ to: 2, prob: 1 }]] })).toThrow(/state 1 cannot be reached/);
    expect(() => buildPhoneHmm({ kind: 'explicit', states: [[{ to: 1, prob: 0.5 }, { to: 2, prob: 0.5 }], [{ to: 1, prob: 1 }]] })).toThrow(/state 1 can never reach the exit/);
    expect(() => buildPhoneHmm({ kind: 'explicit', states: [[{ to: 5, prob: 1 }]] })).toThrow(/transition to 5; destinations are 0..0, or 1 for the exit/);
    expect(() => buildPhoneHmm({ kind: 'left-to-right', numStates: 0 }, 'topology.phone')).toThrow(/topology.phone: invalid HMM spec/);
  });
});

describe('TransitionModel', () => {
  it('numbers monophone pdfs by phone then state, silence with its own topology', () => {
    const tm = new TransitionModel({ overrides: { b: { kind: 'left-to-right', numStates: 1 } } }, ['sil', 'a', 'b'], monophonePdfs);
    expect(tm.numPdfs).toBe(5 + 3 + 1);
    expect(tm.pdfOf('sil', null, null, 4)).toBe(4);
    expect(tm.pdfOf('a', 'sil', 'b', 2)).toBe(7);
    expect(tm.pdfOf('b', null, null, 0)).toBe(8);
    expect(tm.isSilence('sil')).toBe(true);
    expect(() => tm.hmm('zz')).toThrow(/unknown phone "zz"/);
  });
  it('checks pdfOf results and override names', () => {
    const bad = new TransitionModel({}, ['a'], { numPdfs: 2, pdfOf: () => 2 });
    expect(() => bad.pdfOf('a', null, null, 0)).toThrow('pdfOf(a, null, null, 0) returned 2; expected an integer in [0, 2)');
    expect(() => new TransitionModel({ overrides: { q: { kind: 'left-to-right' } } }, ['a'], monophonePdfs)).toThrow(/overrides names phone "q"/);
  });
  it('passes word-internal context to pdfOf when building a graph', () => {
    const calls = new Set<string>();
    const tm = new TransitionModel({}, ['sil', 'k', 'a', 't'], {
      numPdfs: 100,
      pdfOf: (p, l, r, s) => {
        calls.add(`${l}-${p}+${r}/${s}`);
        return s;
      },
    });
    const lm = BigramLm.train(['cat', 'at']);
    const lexicon = new Map([
      ['cat', [{ phones: ['k', 'a', 't'], prob: 1 }]],
      ['at', [{ phones: ['a', 't'], prob: 1 }]],
    ]);
    buildDecodingGraph({ lexicon, lm, transitionModel: tm });
    const contexts = [...calls].filter((c) => c.endsWith('/0')).sort();
    expect(contexts).toEqual(['a-t+null/0', 'k-a+t/0', 'null-a+t/0', 'null-k+a/0', 'null-sil+null/0'].sort());
  });
});
