import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrayDataset, Rng, initRuntime, type HostBatch, type Teacher } from '@kdasr/core';
import { EnsembleTeacher, StoredLogitsTeacher, softmaxRowsHost, writeTeacherLogits, type SoftTargetKernel } from './index.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const [N, C, M] = [61, 7, 3];
const rng = new Rng(21);
const ds = new ArrayDataset({ features: new Float32Array(N), featureDim: 1, numClasses: C, source: 'target-cache test' });
const memberLogits = Array.from({ length: M }, () => Float32Array.from({ length: N * C }, () => rng.normal(0, 4)));

async function store(z: Float32Array, topK?: number): Promise<string> {
  const dir = join(mkdtempSync(join(tmpdir(), 'kdasr-target-cache-')), 'logits');
  dirs.push(join(dir, '..'));
  const standIn: Teacher = {
    numClasses: C,
    logits: (b: HostBatch) => tf.tensor2d(Float32Array.from({ length: b.size * C }, (_, i) => z[b.indices[Math.floor(i / C)] * C + (i % C)]), [b.size, C]),
    probabilities: () => {
      throw new Error('unused');
    },
  };
  // Chunks of 16 rows: batches cross chunk boundaries.
  await writeTeacherLogits(dir, standIn, ds, { chunkRows: 16, batchSize: 10, ...(topK ? { topK, tailTemperature: 2 } : {}) });
  return dir;
}

/** The per-batch computation written out independently: gather, softmax per member, float32 mean. */
function reference(members: StoredLogitsTeacher[], indices: Int32Array, T: number, combine: 'arithmetic' | 'geometric'): Float32Array {
  const z = members.map((m) => m.gatherLogits(indices));
  const mean = (xs: Float32Array[]) => {
    const acc = Float32Array.from(xs[0]);
    for (const x of xs.slice(1)) x.forEach((v, i) => (acc[i] += v));
    return acc.map((v) => v / xs.length);
  };
  return combine === 'geometric' ? softmaxRowsHost(mean(z), C, T) : mean(z.map((x) => softmaxRowsHost(x, C, T)));
}

function batches(epoch: number): HostBatch[] {
  return [...ds.batches({ batchSize: 9, rng: new Rng(epoch) })];
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

describe('SoftTargetCache (stored-logit teachers)', () => {
  let dense: string[];
  let topk: string[];
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' });
    dense = await Promise.all(memberLogits.map((z) => store(z)));
    topk = await Promise.all(memberLogits.map((z) => store(z, 3)));
  });

  for (const layout of ['dense', 'topk'] as const)
    for (const combine of ['arithmetic', 'geometric'] as const)
      it(`${layout} ${combine}: the cached path equals the per-batch one within 1e-6 over epochs and temperatures`, () => {
        const open = (cacheTemperatures: number) => (layout === 'dense' ? dense : topk).map((d) => StoredLogitsTeacher.open(d, { cacheChunks: 2, cacheTemperatures }));
        const cached = new EnsembleTeacher(open(1), { combine });
        const uncached = new EnsembleTeacher(open(0), { combine, cacheTemperatures: 0 });
        const plain = open(0);
        expect(cached.targetCache).toBeDefined();
        expect(uncached.targetCache).toBeUndefined();
        // T = 2 twice (hits), then 5 (evicts 2), then 2 again (recomputed).
        for (const [epoch, T] of [[0, 2], [1, 2], [2, 5], [3, 2]] as const) {
          const before = cached.targetCache!.rowsComputed;
          for (const b of batches(epoch)) {
            const got = cached.hostProbabilities!(b, T);
            expect(maxDiff(got, uncached.hostProbabilities!(b, T))).toBeLessThan(1e-6);
            expect(maxDiff(got, reference(plain, b.indices, T, combine))).toBeLessThan(1e-6);
            // The caller owns the result: overwriting it must not reach the cache.
            got.fill(-1);
          }
          // Each epoch draws every example once: the first at a temperature computes all rows, a repeat none.
          expect(cached.targetCache!.rowsComputed - before).toBe(epoch === 1 ? 0 : N);
        }
        if (combine === 'geometric') {
          const b = batches(4)[0];
          expect(maxDiff(cached.hostLogits!(b), uncached.hostLogits!(b))).toBeLessThan(1e-6);
          // The tensor path (tfjs students) agrees with the cached host path.
          const p = cached.probabilities(b, 2);
          expect(maxDiff(p.dataSync() as Float32Array, cached.hostProbabilities!(b, 2))).toBeLessThan(1e-6);
          p.dispose();
        }
      });

  it('a SoftTargetKernel computes the missing rows of each batch once (duplicates too); cache off, every row', () => {
    // An independent kernel in JS, counting the rows it is asked for.
    let rows = 0;
    const kernel: SoftTargetKernel = (members, offset, k, c, T, combine, out) => {
      rows += k;
      const ms = members.map((z) => z.slice(offset * c, (offset + k) * c));
      const mean = (xs: Float32Array[]) => xs.reduce((acc, x) => acc.map((v, i) => v + x[i] / xs.length), new Float32Array(k * c));
      out.set(combine === 'geometric' ? softmaxRowsHost(mean(ms), c, T) : mean(ms.map((x) => softmaxRowsHost(x, c, T))));
    };
    for (const combine of ['arithmetic', 'geometric'] as const) {
      const cached = new EnsembleTeacher(dense.map((d) => StoredLogitsTeacher.open(d, { cacheChunks: 2 })), { combine });
      cached.useSoftTargetKernel(kernel);
      const plain = dense.map((d) => StoredLogitsTeacher.open(d, { cacheChunks: 2, cacheTemperatures: 0 }));
      rows = 0;
      const dup = { ...batches(0)[0], indices: Int32Array.from([4, 9, 4, 60, 9]), size: 5 };
      expect(maxDiff(cached.hostProbabilities!(dup, 2), reference(plain, dup.indices, 2, combine))).toBeLessThan(1e-6);
      // Dense members, chunks of 16 rows: the whole chunks of examples 4 and 9 (rows 0-15) and 60 (48-60), once each.
      expect(rows).toBe(16 + 13);
      expect(cached.targetCache!.rowsComputed).toBe(16 + 13);
      for (const b of batches(1)) expect(maxDiff(cached.hostProbabilities!(b, 2), reference(plain, b.indices, 2, combine))).toBeLessThan(1e-6);
      expect(rows).toBe(N);
      expect(cached.targetCache!.rowsComputed).toBe(N);
    }
    // Top-k members have no dense blocks: the missing rows are gathered, each once.
    const sparse = new EnsembleTeacher(topk.map((d) => StoredLogitsTeacher.open(d, { cacheChunks: 2 })));
    sparse.useSoftTargetKernel(kernel);
    rows = 0;
    const dup = { ...batches(0)[0], indices: Int32Array.from([4, 9, 4, 60, 9]), size: 5 };
    expect(maxDiff(sparse.hostProbabilities!(dup, 2), reference(topk.map((d) => StoredLogitsTeacher.open(d, { cacheTemperatures: 0 })), dup.indices, 2, 'arithmetic'))).toBeLessThan(1e-6);
    expect(rows).toBe(3);
    // One member, cache off: each call computes its rows, into a caller buffer.
    const single = StoredLogitsTeacher.open(dense[0], { cacheChunks: 2, cacheTemperatures: 0 });
    single.useSoftTargetKernel(kernel);
    rows = 0;
    const b = batches(2)[0];
    const buf = new Float32Array(b.size * C);
    expect(single.hostProbabilitiesInto(b, 5, buf)).toBe(buf);
    expect(maxDiff(buf, softmaxRowsHost(single.gatherLogits(b.indices), C, 5))).toBeLessThan(1e-6);
    single.hostProbabilities(b, 5);
    expect(rows).toBe(2 * b.size);
    // A failing kernel leaves the rows to compute again.
    const broken = new EnsembleTeacher(dense.map((d) => StoredLogitsTeacher.open(d, { cacheChunks: 2 })));
    broken.useSoftTargetKernel(() => {
      throw new Error('kernel failed');
    });
    expect(() => broken.hostProbabilities!(b, 2)).toThrow('kernel failed');
    broken.useSoftTargetKernel(undefined);
    expect(maxDiff(broken.hostProbabilities!(b, 2), reference(dense.map((d) => StoredLogitsTeacher.open(d, { cacheTemperatures: 0 })), b.indices, 2, 'arithmetic'))).toBeLessThan(1e-6);
  });

  it('hostProbabilitiesInto fills a caller buffer with the same values and checks its size', () => {
    const members = dense.map((d) => StoredLogitsTeacher.open(d, { cacheChunks: 'all' }));
    const e = new EnsembleTeacher(members);
    const buf = new Float32Array(9 * C + 5).fill(7);
    for (const b of batches(6)) {
      const got = e.hostProbabilitiesInto!(b, 2, buf);
      expect(got).toBe(buf);
      expect(maxDiff(got.subarray(0, b.size * C), e.hostProbabilities!(b, 2))).toBeLessThan(1e-6);
      expect(maxDiff(members[0].hostProbabilitiesInto(b, 2, buf).subarray(0, b.size * C), members[0].hostProbabilities(b, 2))).toBeLessThan(1e-6);
    }
    expect(() => e.hostProbabilitiesInto!(batches(0)[0], 2, new Float32Array(C))).toThrow(`the output array holds ${C} values, the batch needs 9 x ${C}`);
  });

  it('a single StoredLogitsTeacher caches its own softmax, equal to the uncached one', () => {
    const t = StoredLogitsTeacher.open(dense[0], { cacheChunks: 'all' });
    const u = StoredLogitsTeacher.open(dense[0], { cacheChunks: 'all', cacheTemperatures: 0 });
    for (const epoch of [0, 1])
      for (const b of batches(epoch)) {
        const want = softmaxRowsHost(u.gatherLogits(b.indices), C, 3);
        expect(maxDiff(t.hostProbabilities(b, 3), want)).toBeLessThan(1e-6);
        expect(maxDiff(u.hostProbabilities(b, 3), want)).toBeLessThan(1e-6);
      }
  });

  it('rejects members over different transfer sets and bad indices, naming them', async () => {
    const short = new ArrayDataset({ features: new Float32Array(N - 1), featureDim: 1, numClasses: C });
    const dir = join(mkdtempSync(join(tmpdir(), 'kdasr-target-cache-')), 'short');
    dirs.push(join(dir, '..'));
    await writeTeacherLogits(dir, { numClasses: C, logits: (b: HostBatch) => tf.zeros([b.size, C]) as tf.Tensor2D, probabilities: () => tf.zeros([1, C]) as tf.Tensor2D }, short);
    const members = [StoredLogitsTeacher.open(dense[0]), StoredLogitsTeacher.open(dir)];
    expect(() => new EnsembleTeacher(members)).toThrow(`member 1 holds ${N - 1} x ${C} logits but member 0 holds ${N} x ${C}`);
    const e = new EnsembleTeacher([StoredLogitsTeacher.open(dense[0]), StoredLogitsTeacher.open(dense[1])]);
    const bad: HostBatch = { ...batches(0)[0], indices: Int32Array.from([0, N]) };
    expect(() => e.hostProbabilities!(bad, 2)).toThrow(`example index ${N} out of range [0, ${N})`);
    expect(() => new EnsembleTeacher([StoredLogitsTeacher.open(dense[0])], { cacheTemperatures: 1.5 })).toThrow('must be an integer >= 0, got 1.5');
  });
});
