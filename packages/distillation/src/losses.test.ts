import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, type HostBatch, type Teacher } from '@kdasr/core';
import {
  EnsembleTeacher,
  distillationLoss,
  hardCrossEntropy,
  klDivergence,
  logSoftmaxWithTemperature,
  logitMatchingLoss,
  softTargetCrossEntropy,
  softmaxRowsHost,
  softmaxWithTemperature,
  type SoftObjective,
} from './index.js';

interface GoldenCase {
  name: string;
  student: string;
  teacher: string | null;
  teacherKind: 'probs' | 'logits';
  labels: number[] | null;
  temperature: number;
  softWeight: number;
  hardWeight: number;
  scaleByTemperatureSquared: boolean;
  softObjective: SoftObjective;
  expected: { total: number; soft: number; hard: number };
  grad: string;
}
interface Golden {
  torch: string;
  arrays: Record<string, { offset: number; shape: number[] }>;
  cases: GoldenCase[];
  ensemble: { members: string; results: { temperature: number; arithmetic: string; geometric: string }[] };
}

const golden = JSON.parse(readFileSync(new URL('./__fixtures__/distillation-golden.json', import.meta.url), 'utf8')) as Golden;
const bin = readFileSync(new URL('./__fixtures__/distillation-golden.bin', import.meta.url));
const all = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
function arr(name: string): { data: Float32Array; shape: number[] } {
  const a = golden.arrays[name];
  if (!a) throw new Error(`fixture array ${name} missing`);
  const size = a.shape.reduce((p, d) => p * d, 1);
  return { data: all.subarray(a.offset, a.offset + size), shape: a.shape };
}
function t2(name: string): tf.Tensor2D {
  const a = arr(name);
  return tf.tensor2d(a.data, a.shape as [number, number]);
}
function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}
/** Relative-to-scale closeness: float32 arithmetic vs a float64 reference. */
function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const scale = Math.max(maxAbs(expected), 1e-6);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  expect(worst / scale, `${what}: worst abs error ${worst} vs scale ${scale}`).toBeLessThan(rtol);
}

beforeAll(async () => {
  // The cpu backend: deterministic numerics for golden and resume tests.
  await initRuntime({ backend: 'cpu' });
});

describe('golden losses and gradients vs PyTorch ' + golden.torch, () => {
  it('has the expected coverage', () => {
    const names = golden.cases.map((c) => c.name);
    for (const T of [1, 2, 5, 20]) {
      expect(names).toContain(`soft-only/logits/T${T}/T2`);
      expect(names).toContain(`combined/logits/T${T}/noT2`);
    }
    for (const k of ['hard-only', 'logit-matching', 'extreme/combined/T1', 'c14000/combined/T5', 'kl/probs-with-zeros'])
      expect(names).toContain(k);
  });

  for (const c of golden.cases) {
    it(c.name, () => {
      const z = t2(c.student);
      const teacher = c.teacher ? t2(c.teacher) : undefined;
      const labels = c.labels ? Int32Array.from(c.labels) : undefined;
      const input = {
        ...(teacher ? (c.teacherKind === 'probs' ? { teacherProbs: teacher } : { teacherLogits: teacher }) : {}),
        labels,
        temperature: c.temperature,
        softWeight: c.softWeight,
        hardWeight: c.hardWeight,
        scaleByTemperatureSquared: c.scaleByTemperatureSquared,
        softObjective: c.softObjective,
      };
      const parts = distillationLoss({ studentLogits: z, ...input });
      const got = [parts.total, parts.soft, parts.hard].map((s) => s.dataSync()[0]);
      const want = [c.expected.total, c.expected.soft, c.expected.hard];
      const big = c.name.startsWith('c14000') || c.name.startsWith('extreme');
      expectClose(got, want, big ? 2e-5 : 2e-6, `${c.name} loss [total, soft, hard]`);
      const g = tf.grad((x: tf.Tensor) => distillationLoss({ studentLogits: x as tf.Tensor2D, ...input }).total)(z);
      expectClose(g.dataSync(), arr(c.grad).data, big ? 1e-4 : 1e-5, `${c.name} gradient`);
      tf.dispose([z, teacher, parts.total, parts.soft, parts.hard, g]);
    });
  }

  it('applies T² to the soft term identically with and without the hard term', () => {
    for (const T of [1, 2, 5, 20]) {
      const withLabels = golden.cases.find((c) => c.name === `combined/logits/T${T}/T2`)!;
      const without = golden.cases.find((c) => c.name === `combined-unlabelled/logits/T${T}/T2`)!;
      expect(withLabels.expected.total - 0.5 * withLabels.expected.hard).toBeCloseTo(without.expected.total, 9);
      expect(without.expected.total).toBeCloseTo(T * T * without.expected.soft, 9);
    }
  });

  it('standalone soft CE, KL, hard CE and logit matching agree with the reference parts', () => {
    const c = golden.cases.find((x) => x.name === 'combined/logits/T5/noT2')!;
    const z = t2(c.student);
    const v = t2(c.teacher!);
    const ce = softTargetCrossEntropy({ studentLogits: z, teacherLogits: v, temperature: 5 });
    expect(ce.dataSync()[0]).toBeCloseTo(c.expected.soft, 5);
    const hard = hardCrossEntropy(z, Int32Array.from(c.labels!));
    expect(hard.dataSync()[0]).toBeCloseTo(c.expected.hard, 5);
    const klc = golden.cases.find((x) => x.name === 'kl/logits/T5')!;
    expect(klDivergence({ studentLogits: z, teacherLogits: v, temperature: 5 }).dataSync()[0]).toBeCloseTo(klc.expected.soft, 6);
    const lmc = golden.cases.find((x) => x.name === 'logit-matching')!;
    expect(logitMatchingLoss(z, v).dataSync()[0]).toBeCloseTo(lmc.expected.soft, 3);
    tf.dispose([z, v, ce, hard]);
  });

  /** The golden ensemble's members, each made into a teacher by `make(itsLogits, n, C)`, and a batch of its n rows. */
  function goldenMembers(make: (logits: Float32Array, n: number, C: number) => Teacher) {
    const m = arr(golden.ensemble.members);
    const [M, n, C] = m.shape;
    const members = Array.from({ length: M }, (_, i) => make(m.data.slice(i * n * C, (i + 1) * n * C), n, C));
    const batch = { size: n, featureDim: 1, numClasses: C, features: new Float32Array(n), indices: new Int32Array(n) };
    return { members, batch, C };
  }

  it('ensembles: arithmetic and geometric combinations match', () => {
    const { members, batch } = goldenMembers((logits, n, C) => ({
      numClasses: C,
      logits: () => tf.tensor2d(logits, [n, C]),
      probabilities: (_b: HostBatch, T: number) => softmaxWithTemperature(tf.tensor2d(logits, [n, C]), T),
    }));
    for (const r of golden.ensemble.results) {
      const a = new EnsembleTeacher(members, { combine: 'arithmetic' }).probabilities(batch, r.temperature);
      expectClose(a.dataSync(), arr(r.arithmetic).data, 1e-6, `arithmetic T${r.temperature}`);
      const geo = new EnsembleTeacher(members, { combine: 'geometric' });
      const g = geo.probabilities(batch, r.temperature);
      expectClose(g.dataSync(), arr(r.geometric).data, 1e-6, `geometric T${r.temperature}`);
      // logits() of the geometric ensemble give the same distribution at T.
      const viaLogits = softmaxWithTemperature(geo.logits!(batch), r.temperature);
      expectClose(viaLogits.dataSync(), g.dataSync(), 1e-6, 'geometric logits');
      tf.dispose([a, g, viaLogits]);
    }
    expect(new EnsembleTeacher(members).logits).toBeUndefined();
  });

  it('ensembles on the host path (members with host logits) match the same golden values', () => {
    const noTensors = () => {
      throw new Error('the host path must not make tensors');
    };
    const { members, batch, C } = goldenMembers((logits, _n, C) => ({
      numClasses: C,
      probabilities: noTensors,
      logits: noTensors,
      hostLogits: () => Float32Array.from(logits),
      hostProbabilities: (_b: HostBatch, T: number) => softmaxRowsHost(Float32Array.from(logits), C, T),
    }));
    const before = tf.memory().numTensors;
    for (const r of golden.ensemble.results) {
      expectClose(new EnsembleTeacher(members, { combine: 'arithmetic' }).hostProbabilities!(batch, r.temperature), arr(r.arithmetic).data, 1e-6, `host arithmetic T${r.temperature}`);
      expectClose(new EnsembleTeacher(members, { combine: 'geometric' }).hostProbabilities!(batch, r.temperature), arr(r.geometric).data, 1e-6, `host geometric T${r.temperature}`);
    }
    expect(tf.memory().numTensors).toBe(before);
    // Without a host path on every member there is none on the ensemble (the tensor path is used instead).
    const noHost: Teacher = { numClasses: C, probabilities: (b, T) => members[0].probabilities(b, T) };
    expect(new EnsembleTeacher([members[0], noHost]).hostProbabilities).toBeUndefined();
  });
});

describe("Eq. 4: at high T with zero-mean logits the soft gradient approaches (z − v)/(N·T²)", () => {
  it('relative error shrinks as T grows', () => {
    const B = 3;
    const N = 10;
    const raw = (seed: number) => Float32Array.from({ length: B * N }, (_, i) => Math.sin(seed * 7.1 + i * 1.37) * 2);
    const zeroMean = (a: Float32Array) => {
      for (let r = 0; r < B; r++) {
        let m = 0;
        for (let j = 0; j < N; j++) m += a[r * N + j] / N;
        for (let j = 0; j < N; j++) a[r * N + j] -= m;
      }
      return a;
    };
    const zd = zeroMean(raw(1));
    const vd = zeroMean(raw(2));
    const z = tf.tensor2d(zd, [B, N]);
    const v = tf.tensor2d(vd, [B, N]);
    const errs: number[] = [];
    for (const T of [2, 10, 50, 200]) {
      const g = tf.grad((x: tf.Tensor) => softTargetCrossEntropy({ studentLogits: x as tf.Tensor2D, teacherLogits: v, temperature: T }))(z);
      const gd = g.dataSync();
      let num = 0;
      let den = 0;
      for (let i = 0; i < B * N; i++) {
        // Batch mean divides by B as well.
        const approx = (zd[i] - vd[i]) / (N * T * T * B);
        num += (gd[i] - approx) ** 2;
        den += approx ** 2;
      }
      errs.push(Math.sqrt(num / den));
      g.dispose();
    }
    console.log(`Eq. 4 relative error at T = 2, 10, 50, 200: ${errs.map((e) => e.toExponential(2)).join(", ")}`);
    for (let i = 1; i < errs.length; i++) expect(errs[i]).toBeLessThan(errs[i - 1]);
    expect(errs[0]).toBeGreaterThan(0.05);
    expect(errs[errs.length - 1]).toBeLessThan(0.01);
    // O(1/T): 100× the temperature, roughly 100× less error.
    expect(errs[3]).toBeLessThan(errs[0] / 50);
    tf.dispose([z, v]);
  });
});

describe('numerics and errors', () => {
  it('is finite for ±1e4 logits and equals the shifted-softmax values', () => {
    const z = tf.tensor2d([[1e4, -1e4, 0]]);
    const lp = logSoftmaxWithTemperature(z, 1).dataSync();
    expect(Array.from(lp).every(Number.isFinite)).toBe(true);
    expect(lp[1]).toBeCloseTo(-2e4, 0);
    const p = softmaxWithTemperature(z, 1e4).dataSync();
    const e = [Math.E, 1 / Math.E, 1];
    const s = e.reduce((a, b) => a + b);
    e.forEach((x, i) => expect(p[i]).toBeCloseTo(x / s, 5));
  });

  it('softmaxRowsHost equals the tensor softmax at T, including ±1e4 logits, and checks its shape', () => {
    const z = Float32Array.from([1e4, -1e4, 0, 0.5, -2, 3, 1, 1, 1]);
    for (const T of [1, 2.5, 1e4]) {
      const want = softmaxWithTemperature(tf.tensor2d(z, [3, 3]), T);
      expectClose(softmaxRowsHost(z, 3, T), want.dataSync(), 1e-6, `T${T}`);
      want.dispose();
    }
    expect(() => softmaxRowsHost(z, 4, 1)).toThrow(/9 values do not make rows of 4 classes/);
    expect(() => softmaxRowsHost(z, 3, 0)).toThrow(/temperature/);
  });

  it('rejects bad temperatures, weights and shapes, naming the value', () => {
    const z = tf.tensor2d([[1, 2, 3]]);
    const v = tf.tensor2d([[1, 2, 3]]);
    const v4 = tf.tensor2d([[1, 2, 3, 4]]);
    for (const T of [0, -1, NaN, Infinity])
      expect(() => distillationLoss({ studentLogits: z, teacherLogits: v, temperature: T })).toThrow(`temperature must be a finite number > 0, got ${T}`);
    expect(() => softmaxWithTemperature(z, -2)).toThrow('got -2');
    expect(() => distillationLoss({ studentLogits: z, teacherLogits: v, softWeight: -0.5 })).toThrow('softWeight must be a finite number >= 0, got -0.5');
    expect(() => distillationLoss({ studentLogits: z, teacherLogits: v, hardWeight: -1 })).toThrow('hardWeight must be a finite number >= 0, got -1');
    expect(() => distillationLoss({ studentLogits: z, teacherLogits: v, softWeight: 0, hardWeight: 0 })).toThrow('both 0');
    expect(() => distillationLoss({ studentLogits: z, teacherLogits: v4 })).toThrow('studentLogits has shape [1, 3] but teacherLogits has shape [1, 4]');
    expect(() => distillationLoss({ studentLogits: z, temperature: 2 })).toThrow('needs teacherProbs or teacherLogits');
    expect(() => hardCrossEntropy(z, Int32Array.from([0, 1]))).toThrow('labels has 2 entries but studentLogits has 1 rows');
    expect(() => hardCrossEntropy(z, Int32Array.from([3]))).toThrow('label 3 at row 0 is outside [0, 3)');
    expect(() => logitMatchingLoss(z, v4)).toThrow('[1, 4]');
    expect(() => distillationLoss({ studentLogits: z, teacherProbs: v, softObjective: 'logit-matching' })).toThrow('needs teacherLogits');
    expect(() => distillationLoss({ studentLogits: tf.tensor1d([1, 2]) as unknown as tf.Tensor2D, teacherLogits: v })).toThrow('must be 2-D');
    tf.dispose([z, v, v4]);
  });

  it('rejects NaN and Inf inputs with the location', () => {
    const z = tf.tensor2d([[1, 2, 3], [4, NaN, 6]]);
    const v = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
    const vi = tf.tensor2d([[1, 2, Infinity], [4, 5, 6]]);
    expect(() => distillationLoss({ studentLogits: z, teacherLogits: v })).toThrow('studentLogits contains NaN at row 1, class 1');
    expect(() => distillationLoss({ studentLogits: v, teacherLogits: vi })).toThrow('teacherLogits contains Infinity at row 0, class 2');
    expect(() => hardCrossEntropy(z, Int32Array.from([0, 1]))).toThrow('NaN');
    // Huge but finite values overflow the cheap sum check; the fallback scan must not raise a false alarm.
    const huge = tf.tensor2d([[3e38, 3e38, 0]]);
    expect(() => distillationLoss({ studentLogits: huge, teacherLogits: huge, temperature: 1e38 })).not.toThrow();
    tf.dispose([z, v, vi, huge]);
  });

  it('excludes unlabelled rows from the hard mean and gives 0 for an all-unlabelled batch', () => {
    const z = tf.tensor2d([[2, 0], [0, 2], [5, -5]]);
    const h = hardCrossEntropy(z, Int32Array.from([0, -1, -1])).dataSync()[0];
    expect(h).toBeCloseTo(Math.log(1 + Math.exp(-2)), 6);
    expect(hardCrossEntropy(z, Int32Array.from([-1, -1, -1])).dataSync()[0] + 0).toBe(0);
    z.dispose();
  });

  it('does not leak tensors', () => {
    const z = tf.tensor2d([[1, 2, 3]]);
    const v = tf.tensor2d([[3, 2, 1]]);
    const before = tf.memory().numTensors;
    const p = distillationLoss({ studentLogits: z, teacherLogits: v, labels: Int32Array.from([1]), temperature: 3 });
    expect(tf.memory().numTensors).toBe(before + 3);
    tf.dispose([p.total, p.soft, p.hard, z, v]);
  });
});
