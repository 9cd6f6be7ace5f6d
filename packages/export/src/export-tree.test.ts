import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng, initRuntime } from '@kdasr/core';
import { FeatureArchiveWriter } from '@kdasr/audio-features';
import { ACOUSTIC_PRESETS, FrameDataset, Frontend, StateInventory, accumulateTreeStats, buildTree, evaluateFrames, saveAcousticModel, trainAcousticModel, treeLabels, type AlignedUtterance } from '@kdasr/acoustic-models';
import { exportModel } from './index.js';

// A context-dependent model (decision-tree pdfs): the export's dev accuracy must use the tree's labels, mapped from
// kdasr align's monophone labels and phone segments exactly as kdasr eval maps them.
const inv = new StateInventory({ phones: ['sil', 'a', 'b', 'c', 'd', 'e'], statesPerPhone: 1, statesPerSilence: 1 });
const mean: Record<string, [number, number]> = { sil: [0, 0], b: [0, 5], c: [0.3, 5.2], d: [0, -5], e: [0.2, -5.3] };
const tmp = mkdtempSync(join(tmpdir(), 'kdasr-export-tree-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** "a" sounds different before {b, c} than elsewhere: a tree splits it by right context. */
function toy(seed: number): (AlignedUtterance & { id: string })[] {
  const rng = new Rng(seed);
  const out: (AlignedUtterance & { id: string })[] = [];
  for (const right of ['b', 'c', 'd', 'e', null, 'b', 'd', null])
    for (let rep = 0; rep < 6; rep++) {
      const phones = ['sil', 'a', ...(right ? [right] : []), 'sil'];
      const segments: AlignedUtterance['segments'][number][] = [];
      const rows: number[] = [];
      let t = 0;
      for (const p of phones) {
        segments.push({ phone: p, startFrame: t, endFrame: t + 6, wordIndex: p === 'sil' ? -1 : 0 });
        for (let k = 0; k < 6; k++) {
          const m = p === 'a' ? [right === 'b' || right === 'c' ? 3 : -3, 0] : mean[p];
          rows.push(m[0] + rng.normal() * 0.8, m[1] + rng.normal() * 0.8);
        }
        t += 6;
      }
      out.push({ id: `u${seed}-${out.length}`, features: { data: Float32Array.from(rows), numFrames: t, numCols: 2 }, segments, states: new Int32Array(t) });
    }
  return out;
}

describe('export of a tree model', () => {
  it('measures dev frame accuracy on tree pdf labels made from monophone labels + segments', { timeout: 120_000 }, async () => {
    await initRuntime({ backend: 'cpu' });
    const tree = buildTree(accumulateTreeStats(toy(1), inv), inv, { targetLeaves: inv.numClasses + 1, minCount: 10 });
    const fe = { splice: { left: 1, right: 1 }, cmvn: { mode: 'none' as const } };
    const withLabels = (us: ReturnType<typeof toy>) => us.map((u) => ({ id: u.id, features: u.features, labels: treeLabels(tree, inv, { segments: u.segments, states: u.states, numFrames: u.features.numFrames }, u.id) }));
    const train = new FrameDataset(withLabels(toy(1)), { numClasses: tree.numPdfs, frontend: new Frontend(fe) });
    const { model, config } = await trainAcousticModel({ config: { ...ACOUSTIC_PRESETS.tiny, frontend: fe, epochs: 3 }, train, engine: 'tfjs' });
    const exp = join(tmp, 'exp');
    await saveAcousticModel(join(exp, 'model'), model, { config, inventory: inv.toJSON(), frontend: new Frontend(fe).toJSON(), numPdfs: tree.numPdfs, logPriors: Array(tree.numPdfs).fill(Math.log(1 / tree.numPdfs)) });
    writeFileSync(join(exp, 'tree.json'), JSON.stringify({ tree: tree.toJSON(), numPdfs: tree.numPdfs }));

    // The dev split as kdasr features + kdasr align write it: monophone class ids and phone segments.
    const devUtts = toy(2);
    const w = FeatureArchiveWriter.open(join(tmp, 'feats'), { config: { kind: 'synthetic' } });
    for (const u of devUtts) w.append(u.id, u.features);
    w.close();
    mkdirSync(join(tmp, 'ali'));
    const lines = devUtts.map((u) => {
      const mono = new Array<number>(u.features.numFrames);
      for (const s of u.segments) for (let t = s.startFrame; t < s.endFrame; t++) mono[t] = inv.classId(s.phone, 0);
      return JSON.stringify({ id: u.id, labels: mono, mono, phones: u.segments });
    });
    writeFileSync(join(tmp, 'ali', 'labels.jsonl'), lines.join('\n') + '\n');

    const r = await exportModel({ model: exp, out: join(tmp, 'out'), dev: { feats: join(tmp, 'feats'), ali: join(tmp, 'ali') } });
    if (!r.accuracy.measured) throw new Error('accuracy not measured');
    const want = evaluateFrames(model, new FrameDataset(withLabels(devUtts), { numClasses: tree.numPdfs, frontend: new Frontend(fe) }), tree.pdfClasses()).frameAccuracy;
    expect(r.accuracy.sourceFrameAccuracy).toBeCloseTo(want, 10);
    expect(r.accuracy.exportedFrameAccuracy).toBe(r.accuracy.sourceFrameAccuracy);
    expect(r.accuracy.sourceFrameAccuracy).toBeGreaterThan(0.5);
    // Monophone ids alone would be the wrong classes: they are not what this model outputs.
    expect(tree.numPdfs).toBe(inv.numClasses + 1);
    model.dispose();
  });
});
