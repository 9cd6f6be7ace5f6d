import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrayDataset, Rng, SIDECAR_FILE, type HostBatch, type Teacher, initRuntime } from '@kdasr/core';
import {
  EnsembleTeacher,
  MlpClassifier,
  ModelTeacher,
  StoredLogitsTeacher,
  distill,
  predictLogits,
  sparsifyRow,
  topKIndices,
  writeTeacherLogits,
} from './index.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'kdasr-logits-'));
  dirs.push(d);
  return d;
};
beforeAll(async () => {
  // The cpu backend: deterministic numerics for golden and resume tests.
  await initRuntime({ backend: 'cpu' });
});
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function data(n: number, dim: number, classes: number, seed: number): ArrayDataset {
  const rng = new Rng(seed);
  return new ArrayDataset({
    features: Float32Array.from({ length: n * dim }, () => rng.normal()),
    featureDim: dim,
    numClasses: classes,
    labels: Int32Array.from({ length: n }, (_, i) => i % classes),
  });
}

describe('writeTeacherLogits / StoredLogitsTeacher (dense)', () => {
  const ds = data(50, 6, 5, 1);
  let model: MlpClassifier;
  beforeAll(() => {
    model = new MlpClassifier({ inputDim: 6, hiddenSizes: [8], numClasses: 5, seed: 4 });
  });

  it('round-trips logits in chunks with random access, checksums and a sidecar', async () => {
    const dir = join(tmp(), 'logits');
    const progress: number[] = [];
    const index = await writeTeacherLogits(dir, model, ds, { chunkRows: 7, batchSize: 16, onProgress: (d) => progress.push(d), config: { teacher: 'mlp' } });
    expect(index.chunks).toHaveLength(8);
    expect(index.chunks[7].rows).toBe(1);
    expect(progress).toEqual([16, 32, 48, 50]);
    expect(JSON.parse(readFileSync(join(dir, SIDECAR_FILE), 'utf8')).kind).toBe('teacher-logits');
    const full = predictLogits(model, ds).logits;
    const t = StoredLogitsTeacher.open(dir, { cacheChunks: 2 });
    expect(t.numExamples).toBe(50);
    const idx = Int32Array.from([49, 0, 13, 14, 7, 6, 49]);
    const got = t.gatherLogits(idx);
    idx.forEach((e, r) => {
      for (let j = 0; j < 5; j++) expect(got[r * 5 + j]).toBe(full[e * 5 + j]);
    });
    // LRU of 2 chunks: 49→c7, 0→c0, 13→c1 (evicts c7), 14→c2, 7→c1, 6→c0 (reloaded), 49→c7 (reloaded).
    expect(t.chunkLoads).toBe(6);
    // 'all' holds every chunk: the same access pattern loads each touched chunk once (c7, c0, c1, c2).
    const all = StoredLogitsTeacher.open(dir, { cacheChunks: 'all' });
    all.gatherLogits(idx);
    expect(all.chunkLoads).toBe(4);
    const batch = ds.gather(Int32Array.from([3, 44]));
    const p = t.probabilities(batch, 2);
    const q = new ModelTeacher(model).probabilities(batch, 2);
    const [pd, qd] = [p.dataSync(), q.dataSync()];
    pd.forEach((x, i) => expect(Math.abs(x - qd[i])).toBeLessThan(1e-6));
    // The host path (used by native students) gives the same distribution without tensors.
    t.hostProbabilities(batch, 2).forEach((x, i) => expect(Math.abs(x - qd[i])).toBeLessThan(1e-6));
    tf.dispose([p, q]);
    expect(() => t.gatherLogits(Int32Array.from([50]))).toThrow('example index 50 out of range [0, 50)');
  });

  it('detects a corrupt chunk and leaves no directory when writing fails', async () => {
    const dir = join(tmp(), 'logits');
    await writeTeacherLogits(dir, model, ds, { chunkRows: 10 });
    const f = join(dir, 'chunk-000002.bin');
    const b = readFileSync(f);
    b[5] ^= 0xff;
    writeFileSync(f, b);
    const t = StoredLogitsTeacher.open(dir);
    expect(() => t.gatherLogits(Int32Array.from([21]))).toThrow(/checksum mismatch for .*chunk-000002\.bin/);
    expect(() => t.gatherLogits(Int32Array.from([1]))).not.toThrow();

    const failing: Teacher = {
      numClasses: 5,
      probabilities: () => {
        throw new Error('unused');
      },
      logits: (batch: HostBatch) => {
        if (batch.indices[0] >= 20) throw new Error('teacher crashed');
        return tf.zeros([batch.size, 5]) as tf.Tensor2D;
      },
    };
    const dir2 = join(tmp(), 'never');
    await expect(writeTeacherLogits(dir2, failing, ds, { batchSize: 10 })).rejects.toThrow('teacher crashed');
    expect(existsSync(dir2)).toBe(false);
    expect(readdirSync(join(dir2, '..'))).toEqual([]);
  });

  it('refuses teachers without logits and mismatched class counts', async () => {
    const arith = new EnsembleTeacher([new ModelTeacher(model)]);
    await expect(writeTeacherLogits(join(tmp(), 'x'), arith, ds)).rejects.toThrow('has no logits()');
    const wrong = new MlpClassifier({ inputDim: 6, hiddenSizes: [], numClasses: 3 });
    await expect(writeTeacherLogits(join(tmp(), 'x'), wrong, ds)).rejects.toThrow('source has 5 classes but the teacher has 3');
    await expect(writeTeacherLogits(join(tmp(), 'x'), model, ds, { topK: 5 })).rejects.toThrow('topK must be an integer in [1, 4] for 5 classes, got 5');
  });

  it('drives distill() on shuffled batches by example index', async () => {
    const dir = join(tmp(), 'logits');
    await writeTeacherLogits(dir, model, ds, { chunkRows: 16 });
    const stored = StoredLogitsTeacher.open(dir);
    const a = new MlpClassifier({ inputDim: 6, hiddenSizes: [8], numClasses: 5, seed: 7 });
    const b = new MlpClassifier({ inputDim: 6, hiddenSizes: [8], numClasses: 5, seed: 7 });
    const opts = { epochs: 2, batchSize: 8, optimizer: { kind: 'sgd' as const, learningRate: 0.1 }, temperature: 3, progress: false };
    const ra = await distill(a, stored, ds, opts);
    const rb = await distill(b, new ModelTeacher(model), ds, opts);
    expect(ra.history[1].loss).toBeCloseTo(rb.history[1].loss, 5);
    const logitStudent = new MlpClassifier({ inputDim: 6, hiddenSizes: [8], numClasses: 5, seed: 7 });
    const rl = await distill(logitStudent, stored, ds, { ...opts, lossKind: 'logit-matching' });
    expect(rl.history[1].softLoss).toBeLessThan(rl.history[0].softLoss);
  });
});

describe('top-k sparse form', () => {
  it('topKIndices finds the k largest', () => {
    const rng = new Rng(3);
    const row = Float32Array.from({ length: 200 }, () => rng.normal());
    const want = Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, 9).sort((a, b) => a - b);
    expect(Array.from(topKIndices(row, 9)).sort((a, b) => a - b)).toEqual(want);
  });

  /** Softmax at T in float64. */
  const softmax = (z: ArrayLike<number>, T: number) => {
    let m = -Infinity;
    for (let i = 0; i < z.length; i++) m = Math.max(m, z[i] / T);
    const e = Array.from(z, (x) => Math.exp(x / T - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  };

  /**
   * Over rows of N(0, σ²) logits: mean KL(full ‖ top-k), worst |Δp| over all classes, and the worst error on what
   * the fill is designed to keep (top-k probabilities and the tail's total mass).
   */
  function approxError(C: number, k: number, sigma: number, T: number, rows = 40, tau = 1) {
    const rng = new Rng(1000 + C + k);
    let kl = 0;
    let worst = 0;
    let kept = 0;
    for (let r = 0; r < rows; r++) {
      const z = Float32Array.from({ length: C }, () => rng.normal(0, sigma));
      const s = sparsifyRow(z, k, tau);
      const approx = new Float32Array(C).fill(s.fill);
      s.indices.forEach((j, i) => (approx[j] = s.values[i]));
      const p = softmax(z, T);
      const q = softmax(approx, T);
      const top = new Set(s.indices);
      let tailP = 0;
      let tailQ = 0;
      for (let j = 0; j < C; j++) {
        if (p[j] > 0) kl += (p[j] * Math.log(p[j] / q[j])) / rows;
        worst = Math.max(worst, Math.abs(p[j] - q[j]));
        if (top.has(j)) kept = Math.max(kept, Math.abs(p[j] - q[j]));
        else {
          tailP += p[j];
          tailQ += q[j];
        }
      }
      kept = Math.max(kept, Math.abs(tailP - tailQ));
    }
    return { kl, worst, kept };
  }

  it('keeps top-k probabilities and tail mass exactly at T = 1 and approximately above (README figures)', () => {
    const table: string[] = [];
    for (const [C, k, sigma] of [
      [1000, 10, 3],
      [1000, 50, 3],
      [14000, 50, 3],
      [1000, 50, 8],
    ]) {
      for (const T of [1, 2, 5]) {
        const e = approxError(C, k, sigma, T, C > 5000 ? 8 : 40);
        table.push(`| ${C} | ${k} | ${sigma} | ${T} | ${e.kl.toExponential(2)} | ${e.worst.toExponential(2)} | ${e.kept.toExponential(2)} |`);
        if (T === 1) expect(e.kept).toBeLessThan(1e-6);
        else expect(e.kept).toBeGreaterThan(1e-4);
        // Bounds pinned from the measured figures (README) with headroom.
        expect(e.kl).toBeLessThan(1.3);
      }
    }
    // Filling for the training temperature (tailTemperature = T) makes the kept quantities exact at that T.
    for (const T of [2, 5]) {
      const e = approxError(1000, 50, 3, T, 40, T);
      table.push(`| 1000 | 50 | 3 | ${T} (τ=${T}) | ${e.kl.toExponential(2)} | ${e.worst.toExponential(2)} | ${e.kept.toExponential(2)} |`);
      expect(e.kept).toBeLessThan(1e-6);
      expect(e.kl).toBeLessThan(approxError(1000, 50, 3, T, 40, 1).kl);
    }
    console.log('| C | k | σ | T | mean KL | max abs dp | max error on kept quantities |\n' + table.join('\n'));
    // More stored classes, less error.
    expect(approxError(1000, 50, 3, 2).kl).toBeLessThan(approxError(1000, 10, 3, 2).kl);
  });

  it('round-trips through the artifact and matches the in-memory sparsification', async () => {
    const rng = new Rng(5);
    const C = 30;
    const logits = Float32Array.from({ length: 20 * C }, () => rng.normal(0, 3));
    const ds = new ArrayDataset({ features: new Float32Array(20), featureDim: 1, numClasses: C, teacherLogits: logits });
    const carrier: Teacher = {
      numClasses: C,
      probabilities: () => {
        throw new Error('unused');
      },
      logits: (b: HostBatch) => tf.tensor2d(b.teacherLogits!, [b.size, C]),
    };
    const dir = join(tmp(), 'sparse');
    const index = await writeTeacherLogits(dir, carrier, ds, { topK: 4, chunkRows: 6 });
    expect(index.layout).toBe('topk');
    const t = StoredLogitsTeacher.open(dir);
    const got = t.gatherLogits(Int32Array.from([13, 2]));
    [13, 2].forEach((e, r) => {
      const s = sparsifyRow(logits.subarray(e * C, (e + 1) * C), 4);
      const top = new Set(s.indices);
      for (let j = 0; j < C; j++) expect(got[r * C + j]).toBeCloseTo(top.has(j) ? logits[e * C + j] : s.fill, 5);
    });
    // The sparse artifact is smaller than dense would be: 4 values + 4 indices + 1 fill per row instead of 30.
    expect(index.chunks.reduce((s, c) => s + c.bytes, 0)).toBe(20 * (4 + 4 + 1) * 4);
  });
});
