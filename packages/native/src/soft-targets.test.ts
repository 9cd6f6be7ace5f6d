/**
 * The engine's soft-target kernel (softmaxMean) against distillation's host softmax, and distill() handing it to a
 * stored-logit ensemble: the targets a native student trains on equal the JS loop's within float32 rounding.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrayDataset, Rng, type HostBatch, type Teacher } from '@kdasr/core';
import { EnsembleTeacher, StoredLogitsTeacher, distill, softmaxRowsHost, writeTeacherLogits } from '@kdasr/distillation';
import { nativeForTests, randomArray, useCpuBackend } from '../test-support.js';
import { createStudent, type NativeTrainableStudent } from './index.js';

const native = nativeForTests();

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

function mean(xs: Float32Array[]): Float32Array {
  const acc = Float32Array.from(xs[0]);
  for (const x of xs.slice(1)) x.forEach((v, i) => (acc[i] += v));
  return acc.map((v) => v / xs.length);
}

describe.skipIf(native.skipReason !== null)('softmaxMean (stored-logit soft targets on the engine)', () => {
  beforeAll(() => useCpuBackend());

  it('equals the mean of host softmaxes (arithmetic) and the softmax of the mean (geometric) within 1e-6', () => {
    const mlp = native.engine!.createMlp({ inputDim: 3, hiddenDims: [], numClasses: 4 });
    try {
      for (const [M, rows, C] of [[1, 5, 7], [4, 37, 216], [3, 1, 2]] as const)
        for (const T of [1, 2, 5, 10])
          for (const scale of [1, 30]) {
            // Each member's array holds 2 rows before the ones asked for (rowOffset 2) and 1 after.
            const members = Array.from({ length: M }, (_, m) => randomArray((rows + 3) * C, 100 * M + m + C, -scale, scale));
            const asked = members.map((z) => z.slice(2 * C, (2 + rows) * C));
            for (const combine of ['arithmetic', 'geometric'] as const) {
              const out = new Float32Array(rows * C).fill(Number.NaN);
              mlp.softmaxMean(members, 2, rows, C, T, combine, out);
              const ref = combine === 'geometric' ? softmaxRowsHost(mean(asked), C, T) : mean(asked.map((z) => softmaxRowsHost(z, C, T)));
              expect(maxDiff(out, ref), `${M}x${rows}x${C} T=${T} scale ${scale} ${combine}`).toBeLessThan(1e-6);
            }
          }
    } finally {
      mlp.dispose();
    }
  });

  it('rejects a bad temperature and short arrays', () => {
    const mlp = native.engine!.createMlp({ inputDim: 3, hiddenDims: [], numClasses: 4 });
    try {
      const two = [new Float32Array(4), new Float32Array(4)];
      expect(() => mlp.softmaxMean(two, 0, 2, 2, 0, 'arithmetic', new Float32Array(4))).toThrow(/temperature must be a finite number > 0/);
      expect(() => mlp.softmaxMean([two[0], new Float32Array(3)], 0, 2, 2, 1, 'arithmetic', new Float32Array(4))).toThrow(/array too short/);
      expect(() => mlp.softmaxMean(two, 1, 2, 2, 1, 'arithmetic', new Float32Array(4))).toThrow(/array too short/);
      expect(() => mlp.softmaxMean(two, 0, 2, 2, 1, 'arithmetic', new Float32Array(3))).toThrow(/array too short/);
      expect(() => mlp.softmaxMean([], 0, 2, 2, 1, 'arithmetic', new Float32Array(4))).toThrow(/1\.\.4096 members/);
      expect(() => mlp.softmaxMean([new Float64Array(4) as unknown as Float32Array], 0, 2, 2, 1, 'arithmetic', new Float32Array(4))).toThrow(/expected a Float32Array/);
    } finally {
      mlp.dispose();
    }
  });
});

describe.skipIf(native.skipReason !== null)('distill() with a native student and stored-logit members', () => {
  const [N, C, D, M] = [300, 11, 6, 3];
  let dir: string;
  let stored: string[];
  const rng = new Rng(5);
  const train = new ArrayDataset({ features: randomArray(N * D, 9, -1, 1), featureDim: D, numClasses: C, labels: Int32Array.from({ length: N }, (_, i) => i % C), source: 'soft-targets test' });

  beforeAll(async () => {
    useCpuBackend();
    dir = mkdtempSync(join(tmpdir(), 'kdasr-native-soft-'));
    stored = [];
    for (let m = 0; m < M; m++) {
      const z = Float32Array.from({ length: N * C }, () => rng.normal(0, 3));
      const standIn: Teacher = {
        numClasses: C,
        logits: (b: HostBatch) => tf.tensor2d(Float32Array.from({ length: b.size * C }, (_, i) => z[b.indices[Math.floor(i / C)] * C + (i % C)]), [b.size, C]),
        probabilities: () => {
          throw new Error('unused');
        },
      };
      const out = join(dir, `member-${m}`);
      await writeTeacherLogits(out, standIn, train, { chunkRows: 64, batchSize: 50 });
      stored.push(out);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fills the ensemble\'s target cache with the engine kernel: same targets as the JS loop, and the same student within 1e-5', async () => {
    const open = () => stored.map((d) => StoredLogitsTeacher.open(d, { cacheChunks: 'all' }));
    const opts = { epochs: 2, batchSize: 32, optimizer: { kind: 'adam' as const, learningRate: 1e-3 }, seed: 3, progress: false, temperature: 2, hardWeight: 0.5, softWeight: 1 };
    const make = () => createStudent({ engine: 'native', inputDim: D, hiddenSizes: [8], numClasses: C, seed: 11 }) as unknown as { student: NativeTrainableStudent };
    const withKernel = new EnsembleTeacher(open());
    const a = make();
    const kernel = a.student.softTargetKernel!;
    expect(kernel).toBeDefined();
    let kernelRows = 0;
    const counted = Object.create(a.student, {
      softTargetKernel: { value: (...args: Parameters<typeof kernel>) => ((kernelRows += args[2]), kernel(...args)) },
    }) as typeof a.student;
    await distill(counted, withKernel, train, opts);
    // The kernel computed every row, once (2 epochs at one temperature, N examples; whole chunks of 64 rows).
    expect(withKernel.targetCache!.rowsComputed).toBe(N);
    expect(kernelRows).toBe(N);
    // The same run with the JS loop: a student without the kernel (a copy of its interface minus softTargetKernel).
    const jsTeacher = new EnsembleTeacher(open());
    const b = make();
    const plain = Object.create(b.student, { softTargetKernel: { value: undefined } }) as typeof b.student;
    await distill(plain, jsTeacher, train, opts);
    const batch: HostBatch = [...train.batches({ batchSize: N, rng: new Rng(1) })][0];
    expect(maxDiff(withKernel.hostProbabilities!(batch, 2), jsTeacher.hostProbabilities!(batch, 2))).toBeLessThan(1e-6);
    const wa = a.student.getWeights();
    const wb = b.student.getWeights();
    wa.forEach((w, i) => expect(maxDiff(w, wb[i]), `weight ${i}`).toBeLessThan(1e-5));
  });
});
