import { mkdtempSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrayDataset, Rng, loadModel, makeSidecar, saveModel, initRuntime } from '@kdasr/core';
import { EnsembleTeacher, MlpClassifier, ModelTeacher, distill, frameAccuracy, predictLogits, type ProgressEvent } from './index.js';

/** Gaussian blobs: an easy task a tiny MLP learns in a few epochs. */
function blobs(n: number, dim: number, classes: number, seed: number): ArrayDataset {
  const rng = new Rng(seed);
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, () => rng.normal(0, 2)));
  const features = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    labels[i] = c;
    for (let j = 0; j < dim; j++) features[i * dim + j] = centres[c][j] + rng.normal(0, 1);
  }
  return new ArrayDataset({ features, featureDim: dim, numClasses: classes, labels, source: 'blobs' });
}

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'kdasr-distill-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  // The cpu backend: deterministic numerics for golden and resume tests.
  await initRuntime({ backend: 'cpu' });
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const train = blobs(240, 8, 4, 1);
const valid = blobs(120, 8, 4, 1).subset(Int32Array.from({ length: 120 }, (_, i) => i), 'valid');
const mlp = (seed: number, dropout = 0) => new MlpClassifier({ inputDim: 8, hiddenSizes: [16], numClasses: 4, dropout, seed });

describe('distill', () => {
  it('trains a supervised baseline (no teacher) and then a student from an ensemble', async () => {
    const t1 = mlp(1, 0.2);
    const t2 = mlp(2, 0.2);
    for (const t of [t1, t2]) {
      const r = await distill(t, undefined, train, { epochs: 15, batchSize: 32, optimizer: { kind: 'adam', learningRate: 0.01 }, seed: 3, progress: false });
      expect(r.history).toHaveLength(15);
      expect(r.history[14].loss).toBeLessThan(r.history[0].loss);
      expect(r.history[0].softLoss).toBe(0);
    }
    expect(frameAccuracy(t1, train)).toBeGreaterThan(0.9);
    const teacher = new EnsembleTeacher([new ModelTeacher(t1), new ModelTeacher(t2)]);
    const student = mlp(9);
    const r = await distill(student, teacher, train, {
      epochs: 15,
      batchSize: 32,
      optimizer: { kind: 'sgd', learningRate: 0.05, momentum: 0.9 },
      temperature: 2,
      validation: { source: valid },
      progress: false,
    });
    expect(r.history[14].softLoss).toBeLessThan(r.history[0].softLoss);
    expect(r.history[14].hardLoss).toBeGreaterThan(0);
    expect(r.history[14].validation).toBeGreaterThan(0.85);
  });

  it('keeps the tensor count stable across steps and epochs', async () => {
    const teacher = new ModelTeacher(mlp(4));
    const student = mlp(5, 0.3);
    const counts: number[] = [];
    const before = tf.memory().numTensors;
    await distill(student, teacher, train, {
      epochs: 3,
      batchSize: 64,
      optimizer: { kind: 'adam', learningRate: 0.01 },
      maxNorm: 2,
      validation: { source: valid },
      onProgress: (e: ProgressEvent) => counts.push(tf.memory().numTensors),
      progress: false,
    });
    expect(counts.length).toBe(3 * 4 + 3);
    // From the second step on, nothing accumulates (the first step may create lazily-built state).
    expect(new Set(counts.slice(1)).size).toBe(1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('resumes from a checkpoint after an interrupt and reaches the same weights as an uninterrupted run', async () => {
    const opts = { epochs: 4, batchSize: 32, optimizer: { kind: 'sgd' as const, learningRate: 0.05, momentum: 0.9 }, seed: 11, progress: false };
    const teacherModel = mlp(21);
    const teacher = new ModelTeacher(teacherModel);
    const a = mlp(30, 0.2);
    const ra = await distill(a, teacher, train, opts);

    const dir = join(tmp(), 'ckpt');
    const b = mlp(30, 0.2);
    await expect(
      distill(b, teacher, train, {
        ...opts,
        checkpointDir: dir,
        onProgress: (e) => {
          if (e.phase === 'step' && e.epoch === 3 && e.step === 2) throw new Error('simulated kill');
        },
      }),
    ).rejects.toThrow('simulated kill');
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).epochsDone).toBe(2);
    // A fresh process rebuilds the student from the same config; weights, optimizer state and the dropout
    // counter come from the checkpoint (without them the last two epochs would start from the init).
    const c = mlp(30, 0.2);
    const rc = await distill(c, teacher, train, { ...opts, checkpointDir: dir });
    expect(rc.resumedFromEpoch).toBe(2);
    expect(rc.history).toHaveLength(4);
    const wa = a.trainableVariables().map((v) => Array.from(v.dataSync()));
    const wc = c.trainableVariables().map((v) => Array.from(v.dataSync()));
    wa.forEach((w, i) => w.forEach((x, j) => expect(Math.abs(x - wc[i][j])).toBeLessThan(1e-6)));
    expect(rc.history[3].loss).toBeCloseTo(ra.history[3].loss, 6);
    // A finished run asked for more epochs continues from where it stopped; asked again for 4 it does nothing.
    const more = await distill(c, teacher, train, { ...opts, epochs: 5, checkpointDir: dir });
    expect(more.resumedFromEpoch).toBe(4);
    expect(more.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5]);
    const again = await distill(c, teacher, train, { ...opts, epochs: 5, checkpointDir: dir });
    expect(again.resumedFromEpoch).toBe(5);
    expect(again.history).toHaveLength(5);
  });

  it('stops early and restores the best epoch; newbob halves the learning rate on a plateau', async () => {
    const student = mlp(7);
    let calls = 0;
    // A metric that peaks at epoch 2 and then falls: early stopping must stop at 2 + patience.
    const r = await distill(student, undefined, train, {
      epochs: 10,
      batchSize: 64,
      optimizer: { kind: 'sgd', learningRate: 0.05 },
      schedule: { kind: 'newbob', factor: 0.5 },
      validation: { source: valid, metric: () => [0.5, 0.9, 0.8, 0.7, 0.6][calls++] ?? 0 },
      earlyStopping: { patience: 2, restoreBest: true },
      progress: false,
    });
    expect(r.history).toHaveLength(4);
    expect(r.stoppedEarly).toBe(true);
    expect(r.bestEpoch).toBe(2);
    expect(r.finalEpoch).toBe(2);
    expect(r.history.map((h) => h.learningRate)).toEqual([0.05, 0.05, 0.05, 0.025]);
  });

  it('applies exponential decay per epoch and max-norm to every kernel column', async () => {
    const student = mlp(8);
    const r = await distill(student, undefined, train, {
      epochs: 3,
      batchSize: 64,
      optimizer: { kind: 'sgd', learningRate: 0.5, momentum: 0 },
      schedule: { kind: 'exponential', decayRate: 0.5 },
      maxNorm: 0.5,
      progress: false,
    });
    expect(r.history.map((h) => h.learningRate)).toEqual([0.5, 0.25, 0.125]);
    for (const v of student.trainableVariables().filter((v) => v.rank === 2)) {
      const norms = tf.tidy(() => tf.sqrt(tf.sum(tf.square(v), 0)).dataSync());
      for (const n of norms) expect(n).toBeLessThanOrEqual(0.5 + 1e-5);
    }
  });

  it('rejects bad options with messages naming the value', async () => {
    const s = mlp(1);
    const base = { epochs: 1, batchSize: 8, optimizer: { kind: 'sgd' as const, learningRate: 0.1 }, progress: false };
    await expect(distill(s, new ModelTeacher(mlp(2)), train, { ...base, temperature: 0 })).rejects.toThrow(/temperature.*got 0/);
    await expect(distill(s, new ModelTeacher(mlp(2)), train, { ...base, softWeight: -1 })).rejects.toThrow(/softWeight.*got -1/);
    await expect(distill(s, new ModelTeacher(mlp(2)), train, { ...base, softWeight: 0, hardWeight: 0 })).rejects.toThrow(/both 0/);
    const wrong = new MlpClassifier({ inputDim: 8, hiddenSizes: [], numClasses: 5 });
    await expect(distill(s, new ModelTeacher(wrong), train, base)).rejects.toThrow(/teacher has 5 classes but the student has 4/);
    await expect(distill(s, undefined, train, { ...base, epochs: 0 })).rejects.toThrow(/epochs.*got 0/);
    await expect(distill(s, undefined, train, { ...base, optimizer: { kind: 'sgd', learningRate: -1 } })).rejects.toThrow(/optimizer.learningRate.*got -1/);
    await expect(distill(s, undefined, train, { ...base, learningrate: 0.1 } as never)).rejects.toThrow(/learningrate/);
  });

  it('draws a TTY progress line with an ETA on stderr, and nothing when progress is false or stderr is not a TTY', async () => {
    const writes: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    const wasTTY = process.stderr.isTTY;
    const run = (progress: boolean) =>
      distill(mlp(1), undefined, train, { epochs: 1, batchSize: 120, optimizer: { kind: 'sgd', learningRate: 0.1 }, progress });
    (process.stderr as { write: unknown }).write = (chunk: string) => {
      writes.push(String(chunk));
      return true;
    };
    try {
      process.stderr.isTTY = true;
      await run(true);
      const drawn = writes.join('');
      expect(drawn).toMatch(/\rdistill: 2\/2 steps of epoch 1\/1, [\d.]+ steps\/s, elapsed \d+s, ETA 0s, loss \d+\.\d{4} lr 0\.100/);
      expect(drawn).toContain('\n');
      writes.length = 0;
      await run(false);
      process.stderr.isTTY = false;
      await run(true);
      expect(writes).toEqual([]);
    } finally {
      process.stderr.write = orig;
      process.stderr.isTTY = wasTTY;
    }
  });

  it('reports NaN features clearly', async () => {
    const f = Float32Array.from(train.features);
    f[5 * 8 + 3] = NaN;
    const bad = new ArrayDataset({ features: f, featureDim: 8, numClasses: 4, labels: train.labels });
    await expect(
      distill(mlp(1), undefined, bad, { epochs: 1, batchSize: 300, optimizer: { kind: 'sgd', learningRate: 0.1 }, progress: false }),
    ).rejects.toThrow(/features contain NaN at example 5/);
  });
});

describe('MlpClassifier', () => {
  it('is reproducible from its seed, saves with core saveModel and loads back with identical logits', async () => {
    const a = mlp(42, 0.5);
    const b = mlp(42, 0.5);
    const c = mlp(43, 0.5);
    const pa = predictLogits(a, valid).logits;
    expect(Array.from(predictLogits(b, valid).logits)).toEqual(Array.from(pa));
    expect(Array.from(predictLogits(c, valid).logits)).not.toEqual(Array.from(pa));
    const dir = join(tmp(), 'model');
    await saveModel(a.toLayersModel(), dir, makeSidecar('mlp', a.config, 42));
    expect(existsSync(join(dir, 'model.json'))).toBe(true);
    const { model } = await loadModel(dir);
    const back = MlpClassifier.fromLayersModel(model);
    expect(back.config.hiddenSizes).toEqual([16]);
    expect(back.config.dropout).toBe(0.5);
    const pb = predictLogits(back, valid).logits;
    pa.forEach((x, i) => expect(Math.abs(x - pb[i])).toBeLessThan(1e-6));
    // The Sequential's own predict agrees with the hand-written forward pass (dropout off at inference).
    const viaLayers = tf.tidy(() => (model.predict(tf.tensor2d(valid.features, [120, 8])) as tf.Tensor).dataSync());
    pa.forEach((x, i) => expect(Math.abs(x - viaLayers[i])).toBeLessThan(1e-5));
  });

  it('draws a fresh dropout mask each training call', () => {
    const m = mlp(3, 0.5);
    const x = tf.tensor2d(valid.features.subarray(0, 80), [10, 8]);
    const [o1, o2] = [m.logits(x, true), m.logits(x, true)];
    expect(Array.from(o1.dataSync())).not.toEqual(Array.from(o2.dataSync()));
    tf.dispose([x, o1, o2]);
  });
});

describe('kill -9 and resume', () => {
  it('a child process SIGKILLed mid-epoch resumes from its checkpoint to the uninterrupted result', { timeout: 150_000 }, async () => {
    const { spawnSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const { killSetup } = await import('../test-support/kill-child.js');
    const child = fileURLToPath(new URL('../test-support/kill-child.ts', import.meta.url));
    const dir = join(tmp(), 'ckpt');
    const r = spawnSync(process.execPath, ['--conditions=@kdasr/source', '--import', 'tsx', child, dir, '3', '4'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.signal, r.stderr).toBe('SIGKILL');
    expect(JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')).epochsDone).toBe(2);

    const { data, teacher, student, options } = killSetup();
    const whole = student();
    const rw = await distill(whole, teacher, data, options);
    const resumed = student();
    const rr = await distill(resumed, teacher, data, { ...options, checkpointDir: dir });
    expect(rr.resumedFromEpoch).toBe(2);
    // Epochs 1-2 come from the killed child's checkpoint, 3-4 from this process: all match the uninterrupted run.
    rr.history.forEach((h, i) => expect(h.loss).toBeCloseTo(rw.history[i].loss, 6));
    const a = whole.trainableVariables().map((v) => Array.from(v.dataSync()));
    const b = resumed.trainableVariables().map((v) => Array.from(v.dataSync()));
    a.forEach((w, i) => w.forEach((x, j) => expect(Math.abs(x - b[i][j])).toBeLessThan(1e-6)));
  });
});
