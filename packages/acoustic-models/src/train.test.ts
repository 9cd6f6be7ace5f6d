import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime } from '@kdasr/core';
import { loadNativeEngine } from '@kdasr/native';
import {
  ACOUSTIC_PRESETS,
  EnsembleClassifier,
  FrameDataset,
  Frontend,
  StateInventory,
  ensembleTeacher,
  evaluateFrames,
  loadAcousticModel,
  logPosteriors,
  priorsFromCounts,
  priorsFromPosteriors,
  saveAcousticModel,
  scaledLoglikes,
  syntheticUtterances,
  trainAcousticModel,
  trainEnsemble,
} from './index.js';

const inv = new StateInventory({ phones: ['sil', 'a', 'b', 'c'], statesPerSilence: 3 });
const fe = { splice: { left: 2, right: 2 }, cmvn: { mode: 'utterance' as const } };
const tmp = mkdtempSync(join(tmpdir(), 'kdasr-am-train-'));
let train: FrameDataset;
let dev: FrameDataset;

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
  train = new FrameDataset(syntheticUtterances(inv, { utterances: 60, dim: 8, seed: 1 }), { numClasses: inv.numClasses, frontend: new Frontend(fe) });
  dev = new FrameDataset(syntheticUtterances(inv, { utterances: 15, dim: 8, seed: 2 }), { numClasses: inv.numClasses, frontend: new Frontend(fe) });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('trainAcousticModel', () => {
  it('learns the toy states, saves and reloads with its sidecar, and leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    const cfg = { ...ACOUSTIC_PRESETS.tiny, frontend: fe, patience: 2, newbob: { factor: 0.5, minDelta: 0.001 } };
    const { model, result, devFrameAccuracy, config } = await trainAcousticModel({ config: cfg, train, dev });
    expect(result.history.length).toBeGreaterThan(0);
    expect(result.history.every((h) => h.validation !== undefined)).toBe(true);
    expect(devFrameAccuracy!).toBeGreaterThan(0.85);
    const ev = evaluateFrames(model, dev, inv);
    expect(ev.frameAccuracy).toBeCloseTo(devFrameAccuracy!, 6);
    expect(ev.ece).toBeGreaterThanOrEqual(0);
    expect(ev.ece).toBeLessThan(0.2);

    const priors = priorsFromCounts(train.labels(), inv.numClasses);
    const dir = join(tmp, 'am');
    await saveAcousticModel(dir, model, { config, inventory: inv.toJSON(), frontend: new Frontend(fe).toJSON(), logPriors: Array.from(priors, Math.log) }, { dev: devFrameAccuracy });
    const loaded = await loadAcousticModel(dir);
    expect(loaded.inventory.numClasses).toBe(inv.numClasses);
    expect(loaded.frontend.config).toEqual(new Frontend(fe).config);
    const b = dev.gather(Int32Array.from([0, 1, 2, 3]));
    const [za, zb] = tf.tidy(() => [model.logits(tf.tensor2d(b.features, [4, b.featureDim])).arraySync(), loaded.model.logits(tf.tensor2d(b.features, [4, b.featureDim])).arraySync()]);
    expect(zb).toEqual(za);
    loaded.model.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('resumes from a checkpoint directory', async () => {
    const cp = join(tmp, 'ckpt');
    const cfg = { ...ACOUSTIC_PRESETS.tiny, frontend: fe, epochs: 1 };
    const first = await trainAcousticModel({ config: cfg, train, checkpointDir: cp });
    first.model.dispose();
    const second = await trainAcousticModel({ config: { ...cfg, epochs: 2 }, train, checkpointDir: cp });
    expect(second.result.resumedFromEpoch).toBe(1);
    expect(second.result.history).toHaveLength(2);
    second.model.dispose();
  });

  it('rejects a misspelt config field by name', async () => {
    await expect(trainAcousticModel({ config: { hiddenUnit: 3 } as never, train })).rejects.toThrow(/hiddenUnit/);
  });
});

describe('ensembles, priors and scaled likelihoods', () => {
  it('members differ only in seed; arithmetic and geometric posteriors are distributions; priors behave', async () => {
    const before = tf.memory().numTensors;
    const members = await trainEnsemble({ config: { ...ACOUSTIC_PRESETS.tiny, frontend: fe, epochs: 2 }, train, members: 2 });
    expect(members.map((m) => m.config.seed)).toEqual([0, 1]);
    const input = { data: dev.gather(Int32Array.from({ length: 20 }, (_, i) => i)).features, numFrames: 20, numCols: dev.featureDim };
    const z0 = logPosteriors(members[0].model, input);
    const z1 = logPosteriors(members[1].model, input);
    expect(z0.data).not.toEqual(z1.data);
    for (const combine of ['arithmetic', 'geometric'] as const) {
      const lp = logPosteriors(ensembleTeacher(members.map((m) => m.model), combine), input);
      for (let t = 0; t < 20; t++) {
        let s = 0;
        for (let c = 0; c < lp.numPdfs; c++) s += Math.exp(lp.data[t * lp.numPdfs + c]);
        expect(s).toBeCloseTo(1, 4);
      }
      if (combine === 'arithmetic') {
        const c = 3;
        expect(Math.exp(lp.data[c])).toBeCloseTo((Math.exp(z0.data[c]) + Math.exp(z1.data[c])) / 2, 5);
      }
    }
    const counts = priorsFromCounts(train.labels(), inv.numClasses, 0);
    const post = priorsFromPosteriors(members[0].model, train);
    expect(counts.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    // A model that fits the training frames has average posteriors close to the label frequencies.
    for (let c = 0; c < inv.numClasses; c++) expect(Math.abs(post[c] - counts[c])).toBeLessThan(0.05);
    const ll = scaledLoglikes(z0, counts, 1);
    expect(ll.data[5]).toBeCloseTo(z0.data[5] - Math.log(counts[5]), 5);
    expect(() => priorsFromCounts(Int32Array.from([99]), 3)).toThrow(/label 99 >= numClasses 3/);
    members.forEach((m) => m.model.dispose());
    expect(tf.memory().numTensors).toBe(before);
  });
});

const nativeLoad = loadNativeEngine();
const requireNative = process.env.KDASR_REQUIRE_NATIVE === '1';
if (!nativeLoad.available && !requireNative) console.warn(`acoustic-models native-engine tests skipped: ${nativeLoad.reason} (KDASR_REQUIRE_NATIVE=1 makes this a failure)`);

describe('engines', () => {
  const cfg = { ...ACOUSTIC_PRESETS.tiny, frontend: fe, epochs: 3 };

  it('--engine tfjs is honoured and saves a model that loads on tfjs', async () => {
    const t = await trainAcousticModel({ config: cfg, train, dev, engine: 'tfjs' });
    expect(t.engine).toBe('tfjs');
    expect(t.model.engine).toBe('tfjs');
    expect(t.devFrameAccuracy!).toBeGreaterThan(0.8);
    const dir = join(tmp, 'am-tfjs');
    await saveAcousticModel(dir, t.model, { config: t.config, inventory: inv.toJSON(), frontend: new Frontend(fe).toJSON(), engine: t.engine });
    const l = await loadAcousticModel(dir, { engine: 'tfjs' });
    expect(l.model.engine).toBe('tfjs');
    expect(l.meta.engine).toBe('tfjs');
    expect(evaluateFrames(l.model, dev, inv).frameAccuracy).toBeCloseTo(t.devFrameAccuracy!, 6);
    l.model.dispose();
    t.model.dispose();
  });

  it.skipIf(!nativeLoad.available && !requireNative)('native and tfjs train the same config; a native model round-trips through TF.js', async () => {
    const n = await trainAcousticModel({ config: cfg, train, dev, engine: 'native' });
    const t = await trainAcousticModel({ config: cfg, train, dev, engine: 'tfjs' });
    expect(n.engine).toBe('native');
    expect(n.devFrameAccuracy!).toBeGreaterThan(0.8);
    expect(Math.abs(n.devFrameAccuracy! - t.devFrameAccuracy!)).toBeLessThan(0.1);
    const dir = join(tmp, 'am-native');
    await saveAcousticModel(dir, n.model, { config: n.config, inventory: inv.toJSON(), frontend: new Frontend(fe).toJSON(), engine: n.engine });
    for (const engine of ['native', 'tfjs'] as const) {
      const l = await loadAcousticModel(dir, { engine });
      expect(l.model.engine).toBe(engine);
      expect(evaluateFrames(l.model, dev, inv).frameAccuracy).toBeCloseTo(n.devFrameAccuracy!, 3);
      l.model.dispose();
    }
    n.model.dispose();
    t.model.dispose();
  });
});

describe('EnsembleClassifier', () => {
  it('combines members arithmetically and geometrically, on the host path and through tensors alike', async () => {
    const cfg = { ...ACOUSTIC_PRESETS.tiny, frontend: fe, epochs: 2 };
    const members = (await trainEnsemble({ config: cfg, train, members: 2 })).map((m) => m.model);
    const fr = new Frontend(fe);
    const u = syntheticUtterances(inv, { utterances: 1, dim: 8, seed: 9 })[0];
    const x = fr.transform(u);
    for (const combine of ['arithmetic', 'geometric'] as const) {
      const ens = new EnsembleClassifier(members, combine);
      const ref = ensembleTeacher(members, combine);
      const a = logPosteriors(ens, x);
      const b = logPosteriors(ref, x);
      for (let i = 0; i < a.data.length; i += 7) expect(a.data[i]).toBeCloseTo(b.data[i], 3);
      // Tensor path (evaluateFrames) agrees with the host path.
      const ev = evaluateFrames(ens, dev, inv);
      expect(ev.frameAccuracy).toBeGreaterThan(0.5);
    }
    for (const m of members) m.dispose();
  });
});
