// Fuzz distill's checkpoint resume (state.json, student.bin, optimizer.bin are outside bytes on resume): truncated,
// bit-flipped and adversarial state (huge, negative, fractional counts, NaN learning rate) and damaged weights.
// Every outcome is a resumed run or an Error naming the checkpoint, never a RangeError, a hang or NaN weights.
// Seed-pinned; KDASR_FUZZ_RUNS / KDASR_FUZZ_SEED make a longer run (tools/fuzz-long.sh).
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArrayDataset, Rng, initRuntime } from '@kdasr/core';
import { MlpClassifier, ModelTeacher, distill } from './index.js';

const runs = (n: number) => Number(process.env.KDASR_FUZZ_RUNS ?? n);
const seed = Number(process.env.KDASR_FUZZ_SEED ?? 20261207);
const root = mkdtempSync(join(tmpdir(), 'kdasr-ckpt-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const rng = new Rng(5);
const train = new ArrayDataset({ features: Float32Array.from({ length: 40 * 3 }, () => rng.normal()), featureDim: 3, numClasses: 2, labels: Int32Array.from({ length: 40 }, (_, i) => i % 2) });
const opts = { epochs: 1, batchSize: 16, optimizer: { kind: 'sgd' as const, learningRate: 0.05, momentum: 0.9 }, seed: 3, progress: false };
const student = () => new MlpClassifier({ inputDim: 3, hiddenSizes: [4], numClasses: 2, seed: 9 });
let teacher: ModelTeacher;
const good = join(root, 'good');
let state: Buffer;

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
  teacher = new ModelTeacher(new MlpClassifier({ inputDim: 3, hiddenSizes: [4], numClasses: 2, seed: 1 }));
  await distill(student(), teacher, train, { ...opts, checkpointDir: good });
  state = readFileSync(join(good, 'state.json'));
});

let n = 0;
async function resume(files: Record<string, Uint8Array | string>): Promise<'ok' | 'error'> {
  const dir = join(root, `case-${n++}`);
  cpSync(good, dir, { recursive: true });
  for (const [f, b] of Object.entries(files)) writeFileSync(join(dir, f), b);
  const t0 = performance.now();
  try {
    const s = student();
    await distill(s, teacher, train, { ...opts, epochs: 2, checkpointDir: dir });
    for (const v of s.trainableVariables()) for (const x of v.dataSync()) expect(Number.isFinite(x)).toBe(true);
    return 'ok';
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== Error) throw e;
    // A finite but absurd learning rate is a valid checkpoint: training then stops with its divergence message.
    expect(e.message, e.message).toMatch(/(checkpoint|state\.json|the student diverged)/);
    return 'error';
  } finally {
    rmSync(dir, { recursive: true, force: true });
    expect(performance.now() - t0).toBeLessThan(10_000);
  }
}

describe('distill checkpoint fuzz', () => {
  it('resumes the untouched checkpoint', async () => expect(await resume({})).toBe('ok'));

  it('truncated state.json and weights', async () => {
    await fc.assert(fc.asyncProperty(fc.nat({ max: state.length - 3 }), async (cut) => void expect(await resume({ 'state.json': state.subarray(0, cut) })).toBe('error')), { seed, numRuns: runs(15) });
    const w = readFileSync(join(good, 'student.bin'));
    await fc.assert(fc.asyncProperty(fc.nat({ max: w.length - 1 }), async (cut) => void expect(await resume({ 'student.bin': w.subarray(0, cut) })).toBe('error')), { seed, numRuns: runs(8) });
  });

  it('adversarial state fields and NaN weights', async () => {
    const weird = fc.constantFrom<unknown>(-1, 0.5, 2 ** 53, 1e308, null, 'x', [], {}, 1e9, 7);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('epochsDone', 'batchSize', 'learningRate', 'optimizer.slots', 'optimizer.step', 'variableShapes', 'history', 'badEpochs', 'best'), weird, async (field, v) => {
        const j = JSON.parse(state.toString('utf8'));
        const path = field.split('.');
        let o = j;
        for (const p of path.slice(0, -1)) o = o[p];
        o[path[path.length - 1]] = v;
        await resume({ 'state.json': JSON.stringify(j) });
      }),
      { seed, numRuns: runs(30) },
    );
    const w = Uint8Array.from(readFileSync(join(good, 'student.bin')));
    new Float32Array(w.buffer)[2] = NaN;
    expect(await resume({ 'student.bin': w })).toBe('error');
    expect(await resume({ 'state.json': '{"format":"kdasr-distill-checkpoint","version":1,"optimizer":{"slots":1e9}}' })).toBe('error');
  });
});
