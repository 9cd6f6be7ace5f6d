import { describe, expect, it } from 'vitest';
import { Rng } from '@kdasr/core';
import { BOUNDARY, PhoneticTree, StateInventory, accumulateTreeStats, buildTree, clusterPhones, evaluateFrames, segmentContexts, treeLabels, type AlignedUtterance } from './index.js';

// Toy set where the right split is known: "a" sounds different before {b, c} (dim 0 = +3) than before
// {d, e} or a word edge (dim 0 = −3); b/c and d/e are acoustically close pairs (dim 1 = ±5).
const inv = new StateInventory({ phones: ['sil', 'a', 'b', 'c', 'd', 'e'], statesPerPhone: 1, statesPerSilence: 1 });
const mean: Record<string, [number, number]> = { sil: [0, 0], b: [0, 5], c: [0.3, 5.2], d: [0, -5], e: [0.2, -5.3] };

function toy(seed: number): AlignedUtterance[] {
  const rng = new Rng(seed);
  const out: AlignedUtterance[] = [];
  for (const right of ['b', 'c', 'd', 'e', null, 'b', 'd', null]) {
    for (let rep = 0; rep < 8; rep++) {
      const phones = ['sil', 'a', ...(right ? [right] : []), 'sil'];
      const segs: AlignedUtterance['segments'][number][] = [];
      const rows: number[] = [];
      let t = 0;
      for (const p of phones) {
        const n = 6;
        segs.push({ phone: p, startFrame: t, endFrame: t + n, wordIndex: p === 'sil' ? -1 : 0 });
        for (let k = 0; k < n; k++) {
          const m = p === 'a' ? [right === 'b' || right === 'c' ? 3 : -3, 0] : mean[p];
          rows.push(m[0] + rng.normal() * 0.5, m[1] + rng.normal() * 0.5);
        }
        t += n;
      }
      out.push({ features: { data: Float32Array.from(rows), numFrames: t, numCols: 2 }, segments: segs, states: new Int32Array(t) });
    }
  }
  return out;
}

describe('phonetic decision tree', () => {
  const stats = accumulateTreeStats(toy(1), inv);

  it('keeps contexts word-internal: silence and word edges become the boundary', () => {
    expect([...stats.keys()].filter((k) => k.includes(' a ')).sort()).toEqual([`${BOUNDARY} a ${BOUNDARY} 0`, `${BOUNDARY} a b 0`, `${BOUNDARY} a c 0`, `${BOUNDARY} a d 0`, `${BOUNDARY} a e 0`]);
    expect([...stats.keys()].filter((k) => k.includes(' sil '))).toEqual([`${BOUNDARY} sil ${BOUNDARY} 0`]);
  });

  it('clusters acoustically close phones first', () => {
    const sets = clusterPhones(stats, ['b', 'c', 'd', 'e']);
    expect(sets.slice(0, 2).map((s) => s.join(' ')).sort()).toEqual(['b c', 'd e']);
  });

  it('makes the known split first and gives a usable pdfOf', () => {
    const tree = buildTree(stats, inv, { targetLeaves: inv.numClasses + 1, minCount: 10 });
    expect(tree.numPdfs).toBe(7);
    const pdf = (r: string | null) => tree.pdfOf('a', null, r, 0);
    expect(pdf('b')).toBe(pdf('c'));
    expect(pdf('d')).toBe(pdf('e'));
    expect(pdf(null)).toBe(pdf('d'));
    expect(pdf('b')).not.toBe(pdf('d'));
    // Other phones are untouched: one pdf each, all distinct.
    const others = ['sil', 'b', 'c', 'd', 'e'].map((p) => tree.pdfOf(p, 'a', null, 0));
    expect(new Set([...others, pdf('b'), pdf('d')]).size).toBe(7);
    expect(tree.json.totalGain).toBeGreaterThan(100);
    const back = PhoneticTree.fromJSON(JSON.parse(JSON.stringify(tree.toJSON())));
    expect(back.mapper().pdfOf('a', null, 'c', 0)).toBe(pdf('c'));
    expect(() => tree.pdfOf('zz', null, null, 0)).toThrow(/no root for phone "zz"/);
    // Names: phone.state plus the answers that lead to the leaf.
    const names = tree.pdfNames();
    expect(names).toHaveLength(7);
    expect(names[tree.pdfOf('sil', null, null, 0)]).toBe('sil.0');
    const split = [names[pdf('b')], names[pdf('d')]];
    expect(split.every((n) => /^a\.0 \[R/.test(n))).toBe(true);
    // The two halves answer one question opposite ways (∈ vs ∉, or = vs ≠).
    expect(split.some((n) => /R(∈|=)/.test(n)) && split.some((n) => /R(∉|≠)/.test(n))).toBe(true);
  });

  it('maps aligned frames to pdfs with the contexts the stats used, and names each pdf\'s phone', () => {
    const tree = buildTree(stats, inv, { targetLeaves: inv.numClasses + 1, minCount: 10 });
    const u = toy(3)[0]; // sil a b sil, 6 frames each
    expect(segmentContexts(u.segments, inv).map((c) => `${c.left}|${c.right}`)).toEqual([`${BOUNDARY}|${BOUNDARY}`, `${BOUNDARY}|b`, `a|${BOUNDARY}`, `${BOUNDARY}|${BOUNDARY}`]);
    const labels = treeLabels(tree, inv, { ...u, numFrames: u.features.numFrames });
    expect(Array.from(labels.subarray(6, 12))).toEqual(Array(6).fill(tree.pdfOf('a', null, 'b', 0)));
    expect(labels[0]).toBe(tree.pdfOf('sil', null, null, 0));
    const classes = tree.pdfClasses();
    expect(classes.numClasses).toBe(7);
    expect(classes.phoneOfClass(labels[6])).toBe('a');
    expect(tree.pdfRoots().filter((r) => r.phone === 'a')).toHaveLength(2);
    // evaluateFrames takes the pdf classes in place of an inventory.
    const model = { inputDim: 2, numClasses: 7 } as unknown as Parameters<typeof evaluateFrames>[0];
    expect(() => evaluateFrames(model, { size: 0 } as never, { ...classes, numClasses: 6 })).toThrow(/model has 7 outputs, inventory 6/);
  });

  it('stops when no split gains, and checks the target', () => {
    const tree = buildTree(stats, inv, { targetLeaves: 100, minCount: 10 });
    expect(tree.numPdfs).toBeLessThan(100);
    expect(tree.numPdfs).toBeGreaterThanOrEqual(7);
    expect(() => buildTree(stats, inv, { targetLeaves: 3 })).toThrow(/≥ the 6 \(phone, state\) roots/);
  });
});
