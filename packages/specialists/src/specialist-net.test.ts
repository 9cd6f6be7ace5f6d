import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ArrayDataset, Rng, initRuntime } from '@kdasr/core';
import { distill, predictLogits } from '@kdasr/distillation';
import { loadNativeEngine } from '@kdasr/native';
import { createNet, type Net } from './net.js';
import { SpecialistBatchSource, SubsetTeacher, calibrateDustbinOffset, specialistView, trainSpecialistNet } from './specialist.js';

const native = loadNativeEngine().available;

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
});

function toy(n: number, c: number, d: number, seed: number): ArrayDataset {
  const rng = new Rng(seed);
  const labels = Int32Array.from({ length: n }, () => rng.int(c));
  const features = Float32Array.from({ length: n * d }, (_, i) => rng.normal() + (i % d === labels[Math.floor(i / d)] % d ? 2 : 0));
  return new ArrayDataset({ features, featureDim: d, numClasses: c, labels });
}

async function trainedGeneralist(engine: string, ds: ArrayDataset): Promise<Net> {
  const g = createNet({ engine, inputDim: ds.featureDim, hiddenSizes: [12], numClasses: ds.numClasses, seed: 1 });
  await distill(g.student, undefined, ds, { epochs: 2, batchSize: 32, optimizer: { kind: 'adam', learningRate: 0.01 }, seed: 1, progress: false });
  return g;
}

describe('calibrateDustbinOffset', () => {
  it('recovers a known shift of the dustbin logit and equalises mean dustbin mass with its frequency', () => {
    const rng = new Rng(7);
    const n = 20000;
    const k1 = 4;
    const shift = 1.7;
    const logits = new Float32Array(n * k1);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const z = Array.from({ length: k1 }, () => rng.normal(0, 1.5));
      const m = Math.max(...z);
      const p = z.map((v) => Math.exp(v - m));
      const s = p.reduce((a, b) => a + b, 0);
      // Labels drawn from the calibrated model; the logits handed over have the dustbin lowered by `shift`.
      let u = rng.next() * s;
      let y = 0;
      while (y < k1 - 1 && u > p[y]) u -= p[y++];
      labels[i] = y;
      z.forEach((v, j) => (logits[i * k1 + j] = v - (j === k1 - 1 ? shift : 0)));
    }
    const cal = calibrateDustbinOffset(logits, labels, k1);
    expect(cal.offset).toBeGreaterThan(shift - 0.1);
    expect(cal.offset).toBeLessThan(shift + 0.1);
    expect(cal.meanDustbinAfter).toBeCloseTo(cal.dustbinFraction, 6);
    expect(cal.nllAfter).toBeLessThan(cal.nllBefore);
    expect(() => calibrateDustbinOffset(logits.subarray(0, 7), labels, k1)).toThrow(/logits for/);
  });
});

describe('SubsetTeacher (§6.1 soft targets for a specialist)', () => {
  it('is the generalist distribution at T collapsed onto subset + dustbin', async () => {
    const ds = toy(40, 6, 6, 2);
    const g = createNet({ engine: 'tfjs', inputDim: 6, hiddenSizes: [5], numClasses: 6, seed: 3 });
    const subset = [4, 1];
    const teacher = new SubsetTeacher(g.classifier, subset);
    const batch = ds.gather(Int32Array.from({ length: 40 }, (_, i) => i));
    const p = teacher.probabilities(batch, 3);
    const got = p.dataSync();
    p.dispose();
    const z = predictLogits(g.classifier, ds).logits;
    for (let r = 0; r < 40; r++) {
      const e = Array.from(z.subarray(r * 6, r * 6 + 6), (v) => Math.exp(v / 3));
      const s = e.reduce((a, b) => a + b, 0);
      expect(got[r * 3]).toBeCloseTo(e[4] / s, 5);
      expect(got[r * 3 + 1]).toBeCloseTo(e[1] / s, 5);
      expect(got[r * 3 + 2]).toBeCloseTo((e[0] + e[2] + e[3] + e[5]) / s, 5);
    }
    g.dispose();
  });
});

describe('trainSpecialistNet', () => {
  it("'calibrated' fits the dustbin offset on held-out data; soft targets enter the loss", async () => {
    const ds = toy(600, 8, 8, 4);
    const dev = toy(300, 8, 8, 5);
    const g = await trainedGeneralist('tfjs', ds);
    const before = tf.memory().numTensors;
    const config = {
      subset: [2, 6],
      seed: 2,
      correction: 'calibrated' as const,
      softTargets: { temperature: 2 },
      training: { epochs: 2, batchSize: 32, optimizer: { kind: 'adam' as const, learningRate: 0.01 } },
    };
    await expect(trainSpecialistNet(g, ds, config)).rejects.toThrow(/calibration set/);
    const r = await trainSpecialistNet(g, ds, config, { calibration: dev });
    expect(r.calibration).toBeDefined();
    expect(r.dustbinOffset).toBe(r.calibration!.offset);
    expect(r.training.history.every((h) => h.softLoss > 0 && h.hardLoss > 0)).toBe(true);
    expect(r.examplesSeen).toBe(2 * new SpecialistBatchSource(ds, [2, 6]).size);
    // After the offset, the mean dustbin probability on dev equals the share of dev examples outside the subset.
    const z = predictLogits(r.net.classifier, specialistView(dev, [2, 6]));
    let mean = 0;
    for (let i = 0; i < z.numExamples; i++) {
      const row = Array.from(z.logits.subarray(i * 3, i * 3 + 3));
      const m = Math.max(...row);
      const e = row.map((v) => Math.exp(v - m));
      mean += e[2] / e.reduce((a, b) => a + b, 0);
    }
    const outside = Array.from(dev.labels!).filter((l) => l !== 2 && l !== 6).length / dev.size;
    expect(mean / z.numExamples).toBeCloseTo(outside, 4);
    r.net.dispose();
    expect(tf.memory().numTensors).toBe(before);
    g.dispose();
  });

  it.skipIf(!native)('native engine: the dustbin bookkeeping holds and the specialist matches the tfjs one', async () => {
    const ds = toy(400, 8, 8, 6);
    const g = await trainedGeneralist('tfjs', ds);
    const config = {
      subset: [1, 5, 7],
      seed: 3,
      training: { epochs: 2, batchSize: 32, optimizer: { kind: 'sgd' as const, learningRate: 0.05, momentum: 0 } },
    };
    const withOffset = await trainSpecialistNet(g, ds, config, { engine: 'native' });
    const without = await trainSpecialistNet(g, ds, { ...config, correction: 'none' }, { engine: 'native' });
    const viaTfjs = await trainSpecialistNet(g, ds, config, { engine: 'tfjs' });
    expect(withOffset.net.engine).toBe('native');
    expect(viaTfjs.net.engine).toBe('tfjs');
    const p = withOffset.priorInSubset;
    expect(withOffset.dustbinOffset).toBeCloseTo(Math.log((1 - p) / p), 10);
    const a = predictLogits(withOffset.net.classifier, ds).logits;
    const b = predictLogits(without.net.classifier, ds).logits;
    const t = predictLogits(viaTfjs.net.classifier, ds).logits;
    for (let r = 0; r < ds.size; r++)
      for (let j = 0; j < 4; j++) {
        expect(a[r * 4 + j] - b[r * 4 + j]).toBeCloseTo(j === 3 ? withOffset.dustbinOffset : 0, 4);
        expect(a[r * 4 + j]).toBeCloseTo(t[r * 4 + j], 2);
      }
    for (const x of [withOffset, without, viaTfjs]) x.net.dispose();
    g.dispose();
  });
});
