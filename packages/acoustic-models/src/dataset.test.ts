import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Rng } from '@kdasr/core';
import { FeatureArchive, FeatureArchiveWriter } from '@kdasr/audio-features';
import { FrameDataset, Frontend, StateInventory, StreamingFrameSource, syntheticUtterances } from './index.js';

const inv = new StateInventory({ phones: ['sil', 'a', 'b', 'c'], statesPerSilence: 3 });
const utts = syntheticUtterances(inv, { utterances: 12, dim: 4, speakers: 3, speakerShift: 5, seed: 1 });
const tmp = mkdtempSync(join(tmpdir(), 'kdasr-am-ds-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('FrameDataset', () => {
  it('splices inside each utterance (edges repeat, no context from the neighbour)', () => {
    const ds = new FrameDataset(utts.slice(0, 2), { numClasses: inv.numClasses, frontend: new Frontend({ splice: { left: 2, right: 1 }, cmvn: { mode: 'none' } }) });
    expect(ds.featureDim).toBe(16);
    const T0 = utts[0].features.numFrames;
    const b = ds.gather(Int32Array.from([0, T0 - 1, T0]));
    const row = (u: number, t: number) => Array.from(utts[u].features.data.subarray(t * 4, t * 4 + 4));
    // First frame of utt 0: left context repeats frame 0.
    expect(Array.from(b.features.subarray(0, 16))).toEqual([...row(0, 0), ...row(0, 0), ...row(0, 0), ...row(0, 1)]);
    // Last frame of utt 0: right context repeats itself, not utt 1's first frame.
    expect(Array.from(b.features.subarray(16, 32))).toEqual([...row(0, T0 - 3), ...row(0, T0 - 2), ...row(0, T0 - 1), ...row(0, T0 - 1)]);
    expect(Array.from(b.features.subarray(32, 48))).toEqual([...row(1, 0), ...row(1, 0), ...row(1, 0), ...row(1, 1)]);
    expect(Array.from(b.labels!)).toEqual([utts[0].labels![0], utts[0].labels![T0 - 1], utts[1].labels![0]]);
  });

  it('applies CMVN per utterance or per speaker', () => {
    for (const mode of ['utterance', 'speaker'] as const) {
      const ds = new FrameDataset(utts, { numClasses: inv.numClasses, frontend: new Frontend({ splice: { left: 0, right: 0 }, cmvn: { mode } }) });
      const all = ds.gather(Int32Array.from({ length: ds.size }, (_, i) => i));
      // Mean over each group is zero after CMVN.
      const groups = new Map<string, number[]>();
      let row = 0;
      utts.forEach((u) => {
        const key = mode === 'utterance' ? u.id : u.speaker!;
        for (let t = 0; t < u.features.numFrames; t++, row++) groups.set(key, [...(groups.get(key) ?? []), all.features[row * 4]]);
      });
      for (const [k, v] of groups) expect(Math.abs(v.reduce((a, b) => a + b, 0) / v.length), `${mode} ${k}`).toBeLessThan(1e-4);
    }
    expect(() => new FrameDataset([{ ...utts[0], speaker: undefined }], { numClasses: inv.numClasses, frontend: new Frontend({ cmvn: { mode: 'speaker' } }) })).toThrow(/needs a speaker for utterance "utt0000"/);
  });

  it('shuffles across utterances, reproducibly from the seed, and drops unlabelled frames', () => {
    const withHole = utts.map((u, i) => (i === 0 ? { ...u, labels: Int32Array.from(u.labels!, (l, t) => (t < 3 ? -1 : l)) } : u));
    const ds = new FrameDataset(withHole, { numClasses: inv.numClasses, frontend: new Frontend({ splice: { left: 1, right: 1 } }) });
    const total = utts.reduce((s, u) => s + u.features.numFrames, 0);
    expect(ds.size).toBe(total - 3);
    const first = (seed: number) => [...ds.batches({ batchSize: 32, rng: new Rng(seed) })][0];
    expect(Array.from(first(5).indices)).toEqual(Array.from(first(5).indices));
    expect(Array.from(first(5).indices)).not.toEqual(Array.from(first(6).indices));
    // Frames of one batch come from many utterances.
    const cum: number[] = [];
    withHole.reduce((acc, u) => (cum.push(acc + u.labels!.filter((l) => l >= 0).length), cum[cum.length - 1]), 0);
    const utt = new Set(Array.from(first(5).indices, (i) => cum.findIndex((c) => i < c)));
    expect(utt.size).toBeGreaterThan(4);
    expect(() => new FrameDataset([{ ...utts[0], labels: new Int32Array(2) }], { numClasses: 9, frontend: new Frontend() })).toThrow(/frames but 2 labels/);
  });
});

describe('StreamingFrameSource', () => {
  it('streams every labelled frame once per epoch, reproducibly, matching the in-memory dataset', () => {
    const dir = join(tmp, 'feats');
    const w = FeatureArchiveWriter.open(dir, { config: { kind: 'synthetic' } });
    for (const u of utts) w.append(u.id, u.features);
    w.close();
    const archive = FeatureArchive.open(dir);
    const labels = new Map(utts.map((u) => [u.id, u.labels!]));
    const fe = { splice: { left: 2, right: 2 }, cmvn: { mode: 'speaker' as const } };
    const speakerOf = (id: string) => utts.find((u) => u.id === id)!.speaker;
    const src = new StreamingFrameSource(archive, { numClasses: inv.numClasses, frontend: new Frontend(fe), labels, speakerOf, bufferFrames: 40 });
    const mem = new FrameDataset(utts, { numClasses: inv.numClasses, frontend: new Frontend(fe) });
    expect(src.size).toBe(mem.size);
    expect(src.featureDim).toBe(mem.featureDim);
    const epoch = (seed: number) => [...src.batches({ batchSize: 25, rng: new Rng(seed) })];
    const a = epoch(3);
    const seen = a.flatMap((b) => Array.from(b.indices)).sort((x, y) => x - y);
    expect(seen).toEqual(Array.from({ length: mem.size }, (_, i) => i));
    expect(a.map((b) => Array.from(b.indices))).toEqual(epoch(3).map((b) => Array.from(b.indices)));
    expect(a[0].indices).not.toEqual(epoch(4)[0].indices);
    // Same index, same spliced features and label as the in-memory dataset.
    const ref = mem.gather(a[0].indices);
    for (let i = 0; i < ref.features.length; i++) expect(a[0].features[i]).toBeCloseTo(ref.features[i], 4);
    expect(Array.from(a[0].labels!)).toEqual(Array.from(ref.labels!));
    archive.close();
  });
});
