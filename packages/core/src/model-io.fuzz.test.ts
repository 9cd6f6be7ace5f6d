// Fuzz loadModel (a TF.js layers model directory is outside bytes): truncated and bit-flipped model.json and
// weights.bin, adversarial manifests (weight paths that leave the directory, huge or negative shapes, other dtypes)
// and random JSON. Every outcome is the saved weights exactly or an Error naming model.json, never a RangeError,
// a hang or a model with wrong weights. Seed-pinned; KDASR_FUZZ_RUNS / KDASR_FUZZ_SEED make a longer run.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeSidecar } from '@kdasr/base';
import { loadModel, saveModel } from './model-io.js';
import { initRuntime } from './runtime.js';

const runs = (n: number) => Number(process.env.KDASR_FUZZ_RUNS ?? n);
const seed = Number(process.env.KDASR_FUZZ_SEED ?? 20261207);
const root = mkdtempSync(join(tmpdir(), 'kdasr-model-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const good = join(root, 'good');
let modelJson: Buffer;
let weights: Buffer;
let want: number[][];

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
  const m = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [3], units: 4, activation: 'relu' }), tfl.layers.dense({ units: 2 })] });
  await saveModel(m, good, makeSidecar('fuzz', {}, 1));
  want = m.getWeights().map((w) => Array.from(w.dataSync()));
  modelJson = readFileSync(join(good, 'model.json'));
  weights = readFileSync(join(good, 'weights.bin'));
});

let n = 0;
async function load(json?: Uint8Array | string, bin?: Uint8Array): Promise<'ok' | 'error'> {
  const dir = join(root, `case-${n++}`);
  cpSync(good, dir, { recursive: true });
  if (json !== undefined) writeFileSync(join(dir, 'model.json'), json);
  if (bin !== undefined) writeFileSync(join(dir, 'weights.bin'), bin);
  const t0 = performance.now();
  try {
    const { model } = await loadModel(dir);
    const got = model.getWeights().map((w) => Array.from(w.dataSync()));
    model.dispose();
    // A flip inside the float bytes is undetectable (the format has no checksum): then only the shapes must hold.
    if (bin === undefined) expect(got).toEqual(want);
    else expect(got.map((w) => w.length)).toEqual(want.map((w) => w.length));
    return 'ok';
  } catch (e) {
    if (!(e instanceof Error) || e.constructor !== Error) throw e;
    expect(e.message, e.message).toMatch(new RegExp(`^loadModel: ${dir}/(model\\.json|kdasr\\.json)`));
    return 'error';
  } finally {
    rmSync(dir, { recursive: true, force: true });
    expect(performance.now() - t0).toBeLessThan(5000);
  }
}

describe('loadModel fuzz', () => {
  it('loads the saved model', async () => expect(await load()).toBe('ok'));

  it('truncated model.json and weights.bin', async () => {
    await fc.assert(fc.asyncProperty(fc.nat({ max: 10_000 }), async (cut) => void expect(await load(modelJson.subarray(0, cut % modelJson.length))).toBe('error')), { seed, numRuns: runs(25) });
    await fc.assert(fc.asyncProperty(fc.nat({ max: 10_000 }), async (cut) => void expect(await load(undefined, weights.subarray(0, cut % weights.length))).toBe('error')), { seed, numRuns: runs(15) });
  });

  it('bit flips in model.json', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(), fc.nat({ max: 6 })), { minLength: 1, maxLength: 3 }), async (fs) => {
        const b = Uint8Array.from(modelJson);
        for (const [at, bit] of fs) b[at % b.length] ^= 1 << bit;
        await load(b);
      }),
      { seed, numRuns: runs(60) },
    );
  });

  it('adversarial manifests', async () => {
    const weird = fc.constantFrom<unknown>('../../etc/passwd', '/abs/weights.bin', '.hidden', '', null, 5, [2 ** 31, 2 ** 31], [-1, 4], [1e308], [0.5, 2], 'float16', 'string', 'complex64', { dtype: 'uint8' });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('paths.0', 'weights.0.shape', 'weights.1.dtype', 'weights.0.name', 'weights.2.quantization', 'weights', 'paths'), weird, async (field, v) => {
        const j = JSON.parse(modelJson.toString('utf8'));
        const path = field.split('.');
        let o = j.weightsManifest[0];
        for (const p of path.slice(0, -1)) o = o[p];
        o[path[path.length - 1]] = v;
        expect(await load(JSON.stringify(j))).toBe('error');
      }),
      { seed, numRuns: runs(50) },
    );
    const j = JSON.parse(modelJson.toString('utf8'));
    j.weightsManifest[0].paths[0] = '../../escape';
    cpSync(good, join(root, 'x'), { recursive: true });
    writeFileSync(join(root, 'x', 'model.json'), JSON.stringify(j));
    await expect(loadModel(join(root, 'x'))).rejects.toThrow(/paths entry "\.\.\/\.\.\/escape" contains "\/"/);
  });

  it('random JSON as model.json', async () => {
    await fc.assert(fc.asyncProperty(fc.jsonValue(), async (v) => void expect(await load(JSON.stringify(v))).toBe('error')), { seed, numRuns: runs(40) });
  });
});
