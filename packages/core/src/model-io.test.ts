import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { initRuntime } from './runtime.js';
import { loadModel, saveModel } from './model-io.js';
import { makeSidecar, writeDirAtomic, writeFileAtomic } from '@kdasr/base';

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
});

function smallModel(): tfl.Sequential {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ inputShape: [4], units: 3, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }) }));
  m.add(tfl.layers.dense({ units: 2, kernelInitializer: tfl.initializers.glorotUniform({ seed: 2 }) }));
  return m;
}

describe('saveModel / loadModel', () => {
  it('round-trips a model in the TF.js layers format with its sidecar, without leaking tensors', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'kdasr-model-')), 'm');
    const model = smallModel();
    const x = tf.tensor2d([1, -2, 3, 0.5, 0, 1, -1, 2], [2, 4]);
    const before = (model.predict(x) as tf.Tensor).arraySync() as number[][];
    await saveModel(model, dir, makeSidecar('test-model', { hidden: 3 }, 7, { accuracy: 0.5 }));
    expect(readdirSync(dir).sort()).toEqual(['kdasr.json', 'model.json', 'weights.bin']);
    const modelJson = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(modelJson.format).toBe('layers-model');
    expect(modelJson.weightsManifest[0].paths).toEqual(['weights.bin']);

    const start = tf.memory().numTensors;
    const { model: loaded, sidecar } = await loadModel(dir);
    const y = loaded.predict(x) as tf.Tensor;
    const after = y.arraySync() as number[][];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expect(after[i][j]).toBeCloseTo(before[i][j], 6);
    expect(sidecar?.kind).toBe('test-model');
    expect(sidecar?.seed).toBe(7);
    expect(sidecar?.config).toEqual({ hidden: 3 });
    expect(sidecar?.provenance.backend).toBe('cpu');
    expect(sidecar?.provenance.gitCommit).toMatch(/^([0-9a-f]{40}(-dirty)?|unknown)$/);
    y.dispose();
    loaded.dispose();
    expect(tf.memory().numTensors).toBe(start);
    x.dispose();
    model.dispose();
  });

  it('names the missing file and the fix', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdasr-model-'));
    await expect(loadModel(dir)).rejects.toThrow(/model\.json does not exist.*saveModel/);
    writeFileSync(join(dir, 'model.json'), '{"modelTopology": {}, "weightsManifest": [{"paths": ["weights.bin"], "weights": []}]}');
    await expect(loadModel(dir)).rejects.toThrow(/weights file .*weights\.bin.* is missing/);
    writeFileSync(join(dir, 'model.json'), '{not json');
    await expect(loadModel(dir)).rejects.toThrow(/not valid JSON/);
  });
});

describe('atomic writes', () => {
  it('leaves the old directory in place when filling the new one fails', async () => {
    const root = mkdtempSync(join(tmpdir(), 'kdasr-atomic-'));
    const dir = join(root, 'artifact');
    await writeDirAtomic(dir, (tmp) => writeFileAtomic(join(tmp, 'a.txt'), 'first'));
    await expect(
      writeDirAtomic(dir, (tmp) => {
        writeFileAtomic(join(tmp, 'a.txt'), 'half');
        throw new Error('interrupted');
      }),
    ).rejects.toThrow('interrupted');
    expect(readFileSync(join(dir, 'a.txt'), 'utf8')).toBe('first');
    // No temporary directories are left behind.
    expect(readdirSync(root)).toEqual(['artifact']);
    await writeDirAtomic(dir, (tmp) => writeFileAtomic(join(tmp, 'b.txt'), 'second'));
    expect(existsSync(join(dir, 'a.txt'))).toBe(false);
    expect(readFileSync(join(dir, 'b.txt'), 'utf8')).toBe('second');
    expect(readdirSync(root)).toEqual(['artifact']);
  });

  it('writes files whole and leaves no temporary file behind', () => {
    const root = mkdtempSync(join(tmpdir(), 'kdasr-atomic-'));
    writeFileAtomic(join(root, 'sub', 'x.json'), '{"a":1}');
    expect(readFileSync(join(root, 'sub', 'x.json'), 'utf8')).toBe('{"a":1}');
    expect(readdirSync(join(root, 'sub'))).toEqual(['x.json']);
  });
});
