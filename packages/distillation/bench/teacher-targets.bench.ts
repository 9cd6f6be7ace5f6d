// Teacher targets for a host-side (native) student: the tensor path (per-member tfjs softmax, sum, download) against
// the host path (softmaxRowsHost on the stored logits, summed in place), for a 10-member ensemble of stored logits
// at the speech recipe's sizes. Reports the ratio, both measured here in the same process.
// Run: npm run bench (from packages/distillation). Not a test: numbers depend on the machine.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ArrayDataset, Rng, initRuntime, type HostBatch } from '@kdasr/core';
import { EnsembleTeacher, StoredLogitsTeacher, writeTeacherLogits } from '../src/index.js';

const runtime = await initRuntime({});
const [members, numClasses, numExamples, batchSize, batches] = [10, 600, 20000, 256, 60];
const rng = new Rng(1);
const dir = mkdtempSync(join(tmpdir(), 'kdasr-bench-targets-'));
try {
  const teachers: StoredLogitsTeacher[] = [];
  for (let m = 0; m < members; m++) {
    // A stand-in model that returns fixed random logits for its input rows (the input is the example index).
    const logits = Float32Array.from({ length: numExamples * numClasses }, () => rng.normal(0, 3));
    const ds = new ArrayDataset({ features: Float32Array.from({ length: numExamples }, (_, i) => i), featureDim: 1, numClasses, source: 'bench' });
    const model = {
      inputDim: 1,
      numClasses,
      logits: (x: tf.Tensor2D) => tf.tidy(() => tf.gather(tf.tensor2d(logits, [numExamples, numClasses]), tf.cast(tf.squeeze(x, [1]), 'int32')) as tf.Tensor2D),
      dispose: () => {},
    };
    const out = join(dir, `m${m}`);
    await writeTeacherLogits(out, model as never, ds, { chunkRows: 8192, batchSize: 2048 });
    teachers.push(StoredLogitsTeacher.open(out, { cacheChunks: 'all' }));
  }
  const ensemble = new EnsembleTeacher(teachers, { combine: 'arithmetic' });
  const batchOf = (b: number): HostBatch => {
    const indices = Int32Array.from({ length: batchSize }, (_, i) => (b * 7919 + i * 104729) % numExamples);
    return { size: batchSize, featureDim: 1, numClasses, features: new Float32Array(batchSize), indices };
  };
  const tensorPath = (b: HostBatch) => tf.tidy(() => ensemble.probabilities(b, 2).dataSync() as Float32Array);
  const hostPath = (b: HostBatch) => ensemble.hostProbabilities!(b, 2);
  // Warm up both (chunk loads, JIT) and check they agree.
  const [x, y] = [tensorPath(batchOf(0)), hostPath(batchOf(0))];
  const maxDiff = x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
  for (let b = 1; b < 5; b++) (tensorPath(batchOf(b)), hostPath(batchOf(b)));
  const time = (f: (b: HostBatch) => Float32Array) => {
    const t0 = performance.now();
    for (let b = 0; b < batches; b++) f(batchOf(b));
    return (performance.now() - t0) / batches;
  };
  const msTensor = time(tensorPath);
  const msHost = time(hostPath);
  console.log(`backend ${runtime.backend} (${runtime.threads} thread(s)); ${members} members x ${numClasses} classes, batch ${batchSize}, T=2`);
  console.log(`tensor path: ${msTensor.toFixed(2)} ms/batch`);
  console.log(`host path:   ${msHost.toFixed(2)} ms/batch  (${(msTensor / msHost).toFixed(2)}x faster; max |difference| ${maxDiff.toExponential(1)})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
