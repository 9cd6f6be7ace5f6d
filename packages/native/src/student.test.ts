import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ArrayDataset, Rng } from '@kdasr/core';
import { MlpClassifier, ModelTeacher, applyMaxNorm, distill, frameAccuracy, type DistillOptions } from '@kdasr/distillation';
import { expectClose, nativeForTests, randomArray, useCpuBackend } from '../test-support.js';
import { NativeClassifier, NativeTrainableStudent, createStudent, resolveEngine } from './index.js';

const native = nativeForTests();

/** Gaussian blobs (as distillation's tests): a tiny MLP learns them in a few epochs. */
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

const train = blobs(240, 8, 4, 1);
const valid = blobs(480, 8, 4, 1).subset(Int32Array.from({ length: 240 }, (_, i) => 240 + i), 'valid');
const mlp = (seed: number, dropout = 0) => new MlpClassifier({ inputDim: 8, hiddenSizes: [16], numClasses: 4, dropout, seed });

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'kdasr-native-student-'));
  dirs.push(d);
  return d;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function relClose(a: number, b: number, rtol: number, what: string): void {
  if (!(Math.abs(a - b) <= rtol * Math.max(Math.abs(a), Math.abs(b), 1e-12))) throw new Error(`${what}: ${a} vs ${b} (rtol ${rtol})`);
}

describe('engine selection', () => {
  it("'native' with an addon that cannot load is an error naming the reason; 'auto' falls back; 'tfjs' forces tfjs", async () => {
    await useCpuBackend();
    const bad = { addonPath: '/nonexistent/kdasr_native.node' };
    expect(() => resolveEngine('native', bad)).toThrow(/--engine native was requested but the native engine is unavailable: .*--engine tfjs/s);
    const auto = resolveEngine('auto', bad);
    expect(auto.kind).toBe('tfjs');
    expect(auto.kind === 'tfjs' && auto.reason).toMatch(/native engine unavailable/);
    expect(() => createStudent({ engine: 'native', inputDim: 8, hiddenSizes: [16], numClasses: 4, ...bad })).toThrow(/unavailable/);
    // Forcing tfjs never touches the addon, so it works whatever the build state: the fallback path.
    const s = createStudent({ engine: 'tfjs', inputDim: 8, hiddenSizes: [16], numClasses: 4, seed: 2, ...bad });
    expect(s.engine).toBe('tfjs');
    expect(s.student).toBeInstanceOf(MlpClassifier);
    const r = await distill(s.student, undefined, train, { epochs: 2, batchSize: 32, optimizer: { kind: 'adam', learningRate: 0.01 }, progress: false });
    expect(r.history[1].loss).toBeLessThan(r.history[0].loss);
    expect(s.toLayersModel().countParams()).toBe(8 * 16 + 16 + 16 * 4 + 4);
    expect(s.provenance()).toEqual({});
  });
});

describe.skipIf(native.skipReason !== null)('NativeTrainableStudent through distill()', () => {
  beforeAll(async () => {
    if (native.failure) throw new Error(`native engine should load: ${native.failure}`);
    await useCpuBackend();
  });

  // One trained tfjs teacher for every test here.
  let teacher: ModelTeacher;
  beforeAll(async () => {
    const t = mlp(1);
    await distill(t, undefined, train, { epochs: 8, batchSize: 32, optimizer: { kind: 'adam', learningRate: 0.01 }, seed: 1, progress: false });
    teacher = new ModelTeacher(t);
  });

  const nativeFrom = (c: MlpClassifier) => new NativeTrainableStudent(native.engine!.fromLayersModel(c.toLayersModel(), { seed: c.config.seed }));

  it('follows the tfjs engine epoch by epoch from the same initial weights (soft + hard, T = 2, momentum SGD)', async () => {
    const tfStudent = mlp(9);
    const nStudent = nativeFrom(tfStudent); // copied before tfjs trains
    const opts: DistillOptions = {
      epochs: 3,
      batchSize: 32,
      optimizer: { kind: 'sgd', learningRate: 0.05, momentum: 0.9 },
      temperature: 2,
      softWeight: 1,
      hardWeight: 0.5,
      seed: 3,
      validation: { source: valid },
      progress: false,
    };
    const a = await distill(tfStudent, teacher, train, opts);
    const b = await distill(nStudent, teacher, train, opts);
    expect(b.history).toHaveLength(3);
    for (let e = 0; e < 3; e++) {
      relClose(b.history[e].loss, a.history[e].loss, 1e-3, `epoch ${e + 1} loss`);
      relClose(b.history[e].softLoss, a.history[e].softLoss, 1e-3, `epoch ${e + 1} soft`);
      relClose(b.history[e].hardLoss, a.history[e].hardLoss, 1e-3, `epoch ${e + 1} hard`);
      expect(Math.abs(b.history[e].validation! - a.history[e].validation!)).toBeLessThanOrEqual(2 / 240);
    }
    // The run learnt something (a loss that stayed flat would also "agree").
    expect(b.history[2].loss).toBeLessThan(0.8 * b.history[0].loss);
    const wa = new TfjsWeights(tfStudent).get();
    nStudent.getWeights().forEach((w, i) => expectClose(w, wa[i], 1e-3, 1e-4, `weight ${i}`));
    expect(Math.abs(frameAccuracy(nStudent.asClassifier(), valid) - frameAccuracy(tfStudent, valid))).toBeLessThanOrEqual(2 / 240);
  });

  it('resumes from a checkpoint after an interrupt to the uninterrupted weights (Adam, dropout, maxNorm)', async () => {
    const make = (seed: number) =>
      new NativeTrainableStudent(native.engine!.createMlp({ inputDim: 8, hiddenDims: [16], numClasses: 4, dropout: 0.3, inputDropout: 0.1, seed }));
    const opts = (dir: string): DistillOptions => ({
      epochs: 4,
      batchSize: 32,
      optimizer: { kind: 'adam', learningRate: 0.01 },
      schedule: { kind: 'exponential', decayRate: 0.8 },
      temperature: 2,
      maxNorm: 1.5,
      seed: 5,
      checkpointDir: dir,
      progress: false,
    });
    const whole = make(4);
    const full = await distill(whole, teacher, train, opts(tmp()));
    const dir = tmp();
    const interrupted = make(4);
    await expect(
      distill(interrupted, teacher, train, {
        ...opts(dir),
        onProgress: (e) => {
          if (e.phase === 'epoch' && e.epoch === 2) throw new Error('simulated kill');
        },
      }),
    ).rejects.toThrow('simulated kill');
    // A fresh process: fresh optimiser and dropout counter, and (scrambled here) weights; all come from the checkpoint.
    // The seed stays: it is configuration (dropout masks depend on it), not state.
    const resumed = make(4);
    resumed.setWeights(resumed.getWeights().map((w, i) => randomArray(w.length, 50 + i)));
    const r = await distill(resumed, teacher, train, opts(dir));
    expect(r.resumedFromEpoch).toBe(2);
    expect(r.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    r.history.forEach((h, i) => relClose(h.loss, full.history[i].loss, 1e-5, `epoch ${i + 1} loss`));
    const want = whole.getWeights();
    resumed.getWeights().forEach((w, i) => expectClose(w, want[i], 1e-5, 1e-6, `weight ${i}`));
    expect(resumed.getRandomState()).toBe(whole.getRandomState());
    // The checkpoint is engine-specific: a tfjs student refuses it.
    await expect(distill(mlp(4, 0.3), teacher, train, { ...opts(dir), epochs: 5 })).rejects.toThrow(/engine native, this run has tfjs/);
  });

  it('stops early and restores the best epoch', async () => {
    const s = nativeFrom(mlp(6));
    const scripted = [0.5, 0.9, 0.6, 0.6, 0.6, 0.6];
    const seen: Float32Array[][] = [];
    let calls = 0;
    const r = await distill(s, teacher, train, {
      epochs: 6,
      batchSize: 32,
      optimizer: { kind: 'sgd', learningRate: 0.05 },
      validation: {
        source: valid,
        // The metric gets a working Classifier over the native weights; the scripted value forces a plateau.
        metric: (c, src) => {
          expect(c).toBeInstanceOf(NativeClassifier);
          expect(frameAccuracy(c, src)).toBeGreaterThan(0);
          return scripted[calls++];
        },
      },
      earlyStopping: { patience: 2 },
      onProgress: (e) => {
        if (e.phase === 'epoch') seen.push(s.getWeights());
      },
      progress: false,
    });
    expect(r.stoppedEarly).toBe(true);
    expect(r.history).toHaveLength(4);
    expect(r.bestEpoch).toBe(2);
    expect(r.finalEpoch).toBe(2);
    const now = s.getWeights();
    now.forEach((w, i) => expectClose(w, seen[1][i], 0, 0, `restored weight ${i}`));
    expect(Math.max(...now[0].map((v, j) => Math.abs(v - seen[3][0][j])))).toBeGreaterThan(1e-4);
  });

  it('keeps the tfjs tensor count stable when a tfjs teacher drives a native student', async () => {
    const s = new NativeTrainableStudent(native.engine!.createMlp({ inputDim: 8, hiddenDims: [16], numClasses: 4, dropout: 0.2, seed: 8 }));
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    await distill(s, teacher, train, {
      epochs: 3,
      batchSize: 64,
      optimizer: { kind: 'sgd', learningRate: 0.05, momentum: 0.9 },
      maxNorm: 2,
      validation: { source: valid },
      onProgress: () => counts.push(tf.memory().numTensors),
      progress: false,
    });
    expect(counts).toHaveLength(3 * 4 + 3);
    expect(new Set(counts)).toEqual(new Set([before]));
    expect(tf.memory().numTensors).toBe(before);
  });

  it("applies Keras MaxNorm(axis=0) exactly as distillation's tensor version", () => {
    const s = new NativeTrainableStudent(native.engine!.createMlp({ inputDim: 30, hiddenDims: [20], numClasses: 5, seed: 1 }));
    // Random weights with columns both above and below the bound.
    const w = s.getWeights().map((a, i) => randomArray(a.length, 10 + i, -0.6, 0.6));
    s.setWeights(w);
    const vars = w.map((a, i) => tf.variable(tf.tensor(a, s.weightShapes()[i])));
    applyMaxNorm(vars, 1);
    s.applyMaxNorm(1);
    const got = s.getWeights();
    let clipped = 0;
    vars.forEach((v, i) => {
      const want = v.dataSync() as Float32Array;
      expectClose(got[i], want, 1e-6, 1e-7, `maxNorm weight ${i}`);
      want.forEach((x, j) => (clipped += x !== w[i][j] ? 1 : 0));
      v.dispose();
    });
    expect(clipped).toBeGreaterThan(0);
    expect(got[1]).toEqual(w[1]); // biases untouched
  });

  it('createStudent gives a native student that saves as a TF.js model MlpClassifier reads', async () => {
    const c = createStudent({ engine: 'native', inputDim: 8, hiddenSizes: [16], numClasses: 4, dropout: 0.2, seed: 3 });
    expect(c.engine).toBe('native');
    expect(c.student).toBeInstanceOf(NativeTrainableStudent);
    await distill(c.student, teacher, train, { epochs: 2, batchSize: 32, optimizer: { kind: 'sgd', learningRate: 0.05 }, progress: false });
    const back = MlpClassifier.fromLayersModel(c.toLayersModel());
    expect(back.config.dropout).toBe(0.2);
    const x = tf.tensor2d(valid.features, [valid.size, 8]);
    const [a, b] = [c.classifier.logits(x), back.logits(x)];
    expectClose(a.dataSync(), b.dataSync(), 1e-5, 1e-6, 'logits');
    tf.dispose([x, a, b]);
    const p = c.provenance();
    expect(p.backend).toBe('native');
    expect(p.threads).toBeGreaterThan(0);
    // Starting from given weights: the same logits as the tfjs model they came from.
    const src = mlp(12);
    const d = createStudent({ engine: 'native', inputDim: 8, hiddenSizes: [16], numClasses: 4, initialWeights: src.toLayersModel() });
    expectClose(frameLogits(d.classifier), frameLogits(src), 1e-5, 1e-6, 'initial logits');
  });
});

function frameLogits(c: { logits(x: tf.Tensor2D): tf.Tensor2D }): Float32Array {
  return tf.tidy(() => c.logits(tf.tensor2d(valid.features, [valid.size, 8])).dataSync() as Float32Array);
}

class TfjsWeights {
  constructor(private readonly c: MlpClassifier) {}
  get(): Float32Array[] {
    return this.c.trainableVariables().map((v) => Float32Array.from(v.dataSync() as Float32Array));
  }
}
