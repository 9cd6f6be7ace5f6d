import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrayDataset, Rng, initRuntime, type HostBatch, type Teacher } from '@kdasr/core';
import {
  MlpClassifier,
  ModelTeacher,
  TfjsTrainableStudent,
  applyMaxNorm,
  applyMaxNormHost,
  distill,
  predictLogits,
  softmaxRowsHost,
  softmaxWithTemperature,
  type DistillOptions,
  type LossSettings,
  type StepTargets,
} from './index.js';

function blobs(n: number, dim: number, classes: number, seed: number): ArrayDataset {
  const rng = new Rng(seed);
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, () => rng.normal(0, 2)));
  const features = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % classes;
    for (let j = 0; j < dim; j++) features[i * dim + j] = centres[labels[i]][j] + rng.normal(0, 1);
  }
  return new ArrayDataset({ features, featureDim: dim, numClasses: classes, labels, source: 'blobs' });
}

const train = blobs(200, 6, 3, 2);
const mlp = (seed: number) => new MlpClassifier({ inputDim: 6, hiddenSizes: [12], numClasses: 3, seed });

/** A student on another "engine": the tfjs arithmetic, but it asks for teacher outputs on the host. */
class HostTargetsStudent extends TfjsTrainableStudent {
  override readonly engine = 'host-test';
  override readonly hostTargets = true;
  hostCalls = 0;
  override step(batch: HostBatch, targets: StepTargets, loss: LossSettings, lr: number) {
    const t = targets.teacherProbs ?? targets.teacherLogits;
    if (t !== undefined) {
      if (!(t instanceof Float32Array)) throw new Error('expected host targets');
      this.hostCalls++;
    }
    return super.step(batch, targets, loss, lr);
  }
}

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
});

describe('distill with a TrainableStudent', () => {
  const opts: DistillOptions = { epochs: 3, batchSize: 32, optimizer: { kind: 'sgd', learningRate: 0.05, momentum: 0.9 }, temperature: 2, seed: 4, maxNorm: 2, progress: false };

  it('downloads teacher outputs for host-target students, with the same result as the Classifier path and no tensor leaks', async () => {
    const teacher = new ModelTeacher(mlp(1));
    const a = mlp(7);
    const ra = await distill(a, teacher, train, opts);
    const b = new HostTargetsStudent(mlp(7));
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const rb = await distill(b, teacher, train, { ...opts, onProgress: () => counts.push(tf.memory().numTensors) });
    expect(b.hostCalls).toBe(3 * Math.ceil(200 / 32));
    // Flat during training (the optimiser's slot variables are the only extra tensors), all freed at the end.
    expect(new Set(counts).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
    rb.history.forEach((h, i) => expect(Math.abs(h.loss - ra.history[i].loss)).toBeLessThan(1e-6 * ra.history[i].loss));
    const wa = new TfjsTrainableStudent(a).getWeights();
    b.getWeights().forEach((w, i) => w.forEach((v, j) => expect(Math.abs(v - wa[i][j])).toBeLessThan(1e-6)));
    expect(rb.history[2].loss).toBeLessThan(rb.history[0].loss);
  });

  it('takes host-path teachers (stored logits) straight to host-target students, without tensors, with the same result', async () => {
    const full = predictLogits(mlp(1), train).logits;
    const C = 3;
    const gather = (b: HostBatch) => {
      const out = new Float32Array(b.size * C);
      b.indices.forEach((e, r) => out.set(full.subarray(e * C, (e + 1) * C), r * C));
      return out;
    };
    let tensorCalls = 0;
    let hostCalls = 0;
    const teacher: Teacher = {
      numClasses: C,
      probabilities: (b, T) => (tensorCalls++, softmaxWithTemperature(tf.tensor2d(gather(b), [b.size, C]), T)),
      hostProbabilities: (b, T) => (hostCalls++, softmaxRowsHost(gather(b), C, T)),
    };
    const a = mlp(7);
    const ra = await distill(a, teacher, train, opts);
    expect([tensorCalls, hostCalls]).toEqual([3 * Math.ceil(200 / 32), 0]);
    const b = new HostTargetsStudent(mlp(7));
    const rb = await distill(b, teacher, train, opts);
    expect(hostCalls).toBe(3 * Math.ceil(200 / 32));
    expect(tensorCalls).toBe(3 * Math.ceil(200 / 32));
    rb.history.forEach((h, i) => expect(Math.abs(h.loss - ra.history[i].loss)).toBeLessThan(1e-5 * ra.history[i].loss));
  });

  it('refuses to resume a checkpoint written by another engine', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdasr-trainable-'));
    dirs.push(dir);
    await distill(mlp(3), undefined, train, { ...opts, epochs: 1, checkpointDir: dir });
    await expect(distill(new HostTargetsStudent(mlp(3)), undefined, train, { ...opts, checkpointDir: dir })).rejects.toThrow(
      /made with engine tfjs, this run has host-test/,
    );
  });

  it('applyMaxNormHost equals the tensor applyMaxNorm', () => {
    const rng = new Rng(5);
    const w = Float32Array.from({ length: 20 * 7 }, () => rng.normal(0, 0.5));
    const v = tf.variable(tf.tensor2d(w, [20, 7]));
    applyMaxNorm([v], 1.2);
    const host = Float32Array.from(w);
    applyMaxNormHost(host, 20, 7, 1.2);
    const want = v.dataSync();
    let changed = 0;
    host.forEach((x, i) => {
      expect(Math.abs(x - want[i])).toBeLessThan(1e-6);
      changed += x !== w[i] ? 1 : 0;
    });
    expect(changed).toBeGreaterThan(0);
    v.dispose();
  });
});
