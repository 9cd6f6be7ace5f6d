// Benchmark (not a test): one epoch of a member (hard labels) against one epoch of a student (soft targets from an
// arithmetic ensemble of stored member logits at T = 2, plus the hard term), both through distill() on the native
// engine, on the same frames with the same architecture, interleaved in one process. Sizes are the quick ASR
// preset's (440 -> 2x384 -> 216, 4 members, batch 256, dropout 0.1, Adam), on fewer frames so a round takes seconds.
//   npm run bench:student -w @kdasr/native [-- --frames N --rounds R --threads N --profile]
// --profile also times the teacher's target computation alone (hostProbabilities over the epoch's batches): per
// batch, the cache filled by the JS loop, by the engine's softmaxMean kernel (what a native student uses), and hits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { ArrayDataset, Rng, type HostBatch, type Teacher } from '@kdasr/core';
import { EnsembleTeacher, StoredLogitsTeacher, distill, writeTeacherLogits, type DistillOptions, type ProgressEvent, type SoftTargetKernel } from '@kdasr/distillation';
import { createStudent } from '../src/index.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const frames = arg('frames', 16384);
const rounds = arg('rounds', 3);
const profile = process.argv.includes('--profile');
// --threads N: BLAS and elementwise threads (default: the engine's, all cores). With 1, process CPU time is the
// cost of the work alone, which a loaded machine does not inflate the way it inflates wall time.
const threads = arg('threads', 0);
const [inputDim, hidden, numClasses, members, batchSize, temperature] = [440, [384, 384], 216, 4, 256, 2];

await tf.setBackend('cpu');
const rng = new Rng(7);
const features = Float32Array.from({ length: frames * inputDim }, () => rng.normal(0, 1));
const labels = Int32Array.from({ length: frames }, () => Math.floor(rng.next() * numClasses));
const train = new ArrayDataset({ features, featureDim: inputDim, numClasses, labels, source: 'bench' });

const dir = mkdtempSync(join(tmpdir(), 'kdasr-bench-student-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
try {
  const stored: StoredLogitsTeacher[] = [];
  for (let m = 0; m < members; m++) {
    // Stand-in member: fixed random logits per example (a trained member's logits cost the same to read back).
    const z = Float32Array.from({ length: frames * numClasses }, () => rng.normal(0, 3));
    const standIn: Teacher = {
      numClasses,
      logits: (b: HostBatch) => tf.tensor2d(Float32Array.from({ length: b.size * numClasses }, (_, i) => z[b.indices[Math.floor(i / numClasses)] * numClasses + (i % numClasses)]), [b.size, numClasses]),
      probabilities: () => {
        throw new Error('unused');
      },
    };
    const out = join(dir, `member-${m}`);
    await writeTeacherLogits(out, standIn, train, { chunkRows: 16384, batchSize: 1024 });
    stored.push(StoredLogitsTeacher.open(out, { cacheChunks: 'all', verifyChecksums: true }));
  }
  const common: DistillOptions = { epochs: 2, batchSize, optimizer: { kind: 'adam', learningRate: 1e-3 }, seed: 3, progress: false };
  const make = () => createStudent({ engine: 'native', inputDim, hiddenSizes: hidden, numClasses, dropout: 0.1, seed: 11 });
  const phases = ['fwd gemm', 'fwd elementwise', 'loss', 'dA gemm', 'dW gemm', 'relu back', 'update'];
  const phaseMs = { member: new Array<number>(phases.length).fill(0), student: new Array<number>(phases.length).fill(0) };
  // Two epochs each: the student's first fills the teacher's target cache (a fresh ensemble per run, as each
  // temperature is for a student of a recipe), its second reads it back.
  // Per epoch: [wall seconds, process CPU seconds] (CPU from distill's epoch events).
  const run = async (which: 'member' | 'student'): Promise<[number, number][]> => {
    const s = make();
    if (threads > 0) s.nativeEngine!.setThreads({ blas: threads, elementwise: threads });
    const before = s.nativeEngine!.info().phaseWallMs;
    const cpu: number[] = [];
    let last = process.cpuUsage();
    const onProgress = (e: ProgressEvent) => {
      if (e.phase !== 'epoch') return;
      const d = process.cpuUsage(last);
      cpu.push((d.user + d.system) / 1e6);
      last = process.cpuUsage();
    };
    const r =
      which === 'member'
        ? await distill(s.student, undefined, train, { ...common, onProgress })
        : await distill(s.student, new EnsembleTeacher(stored, { combine: 'arithmetic' }), train, { ...common, onProgress, temperature, hardWeight: 0.5, softWeight: 1 });
    s.nativeEngine!.info().phaseWallMs.forEach((v, i) => (phaseMs[which][i] += v - before[i]));
    return r.history.map((h, e) => [h.seconds, cpu[e]]);
  };
  const targets = (ensemble: EnsembleTeacher) => {
    const t0 = performance.now();
    for (const b of train.batches({ batchSize, rng: new Rng(5) })) ensemble.hostProbabilities!(b, temperature);
    return (performance.now() - t0) / 1000;
  };
  // Warm-up: JIT, scratch allocation, chunk loads.
  await run('member');
  await run('student');
  const member: [number, number][][] = [[], []];
  const student: [number, number][][] = [[], []];
  const prof = { uncached: [] as number[], fill: [] as number[], hit: [] as number[], kernelFill: [] as number[] };
  const kernelStudent = make();
  if (threads > 0) kernelStudent.nativeEngine!.setThreads({ blas: threads, elementwise: threads });
  // The per-batch path (no target cache) for the profile, chunks loaded once here.
  const uncached = new EnsembleTeacher(stored.map((m) => StoredLogitsTeacher.open(m.dir, { cacheChunks: 'all', cacheTemperatures: 0 })), { cacheTemperatures: 0 });
  if (profile) targets(uncached);
  for (let r = 0; r < rounds; r++) {
    (await run('member')).forEach((x, e) => member[e].push(x));
    (await run('student')).forEach((x, e) => student[e].push(x));
    if (profile) {
      prof.uncached.push(targets(uncached));
      const e = new EnsembleTeacher(stored, { combine: 'arithmetic' });
      prof.fill.push(targets(e));
      prof.hit.push(targets(e));
      // The fill as a native student's distill() does it: the engine's softmaxMean kernel.
      const k = new EnsembleTeacher(stored, { combine: 'arithmetic' });
      k.useSoftTargetKernel((kernelStudent.student as { softTargetKernel?: SoftTargetKernel }).softTargetKernel);
      prof.kernelFill.push(targets(k));
    }
  }
  const info = make().nativeEngine!.info();
  console.log(
    `native engine (${threads || info.blasThreads} BLAS thread(s)); ${frames} frames, ${inputDim} -> ${hidden.join('x')} -> ${numClasses}, batch ${batchSize}, ${members} stored members, T=${temperature}; medians of ${rounds} interleaved rounds`,
  );
  for (const e of [0, 1]) {
    const what = e === 0 ? 'epoch 1 (targets computed)' : 'epoch 2 (targets cached)';
    const [wa, wb, ca, cb] = [median(member[e].map((x) => x[0])), median(student[e].map((x) => x[0])), median(member[e].map((x) => x[1])), median(student[e].map((x) => x[1]))];
    console.log(`${what}: wall member ${wa.toFixed(3)} s, student ${wb.toFixed(3)} s, ratio ${(wb / wa).toFixed(2)}x; CPU member ${ca.toFixed(3)} s, student ${cb.toFixed(3)} s, ratio ${(cb / ca).toFixed(2)}x`);
  }
  if (profile) {
    const f = (xs: number[]) => median(xs).toFixed(3);
    console.log(`teacher targets alone, s per epoch (batch gathering included): per batch, uncached ${f(prof.uncached)}; cache fill ${f(prof.fill)} (JS), ${f(prof.kernelFill)} (engine kernel); cache hits ${f(prof.hit)}`);
    for (const w of ['member', 'student'] as const)
      console.log(`${w} native phases, s per epoch: ${phases.map((p, i) => `${p} ${(phaseMs[w][i] / 1000 / (2 * (rounds + 1))).toFixed(3)}`).join(', ')}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
