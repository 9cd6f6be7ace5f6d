import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { ArrayDataset, Rng, initRuntime, makeSidecar, saveModel } from '@kdasr/core';
import { MlpClassifier, predictLogits } from '@kdasr/distillation';
import { loadSpecialist, readDatasetFiles, runSpecialistJob, runSpecialistJobsInChildProcesses, writeDatasetFiles, type SpecialistJob } from './jobs.js';
import { trainSpecialist } from './specialist.js';

const dir = mkdtempSync(join(tmpdir(), 'kdasr-specialists-'));
let generalist: MlpClassifier;
let data: ArrayDataset;
let job: SpecialistJob;

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
  const rng = new Rng(1);
  const n = 300;
  const labels = Int32Array.from({ length: n }, () => rng.int(6));
  const features = Float32Array.from({ length: n * 6 }, (_, i) => rng.normal() + (i % 6 === labels[Math.floor(i / 6)] ? 2 : 0));
  data = new ArrayDataset({ features, featureDim: 6, numClasses: 6, labels });
  generalist = new MlpClassifier({ inputDim: 6, hiddenSizes: [8], numClasses: 6, seed: 2 });
  await saveModel(generalist.toLayersModel(), join(dir, 'generalist'), makeSidecar('generalist', generalist.config, 2));
  job = {
    config: { subset: [2, 3], seed: 4, training: { epochs: 2, batchSize: 32, optimizer: { kind: 'adam', learningRate: 0.01 } } },
    generalistDir: join(dir, 'generalist'),
    data: writeDatasetFiles(join(dir, 'data'), data),
    outDir: join(dir, 'spec-in-process'),
    backend: 'cpu',
  };
});

afterAll(() => {
  generalist?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('serialisable specialist jobs', () => {
  it('round-trips the dataset files', () => {
    const back = readDatasetFiles(job.data);
    expect(back.size).toBe(data.size);
    expect(Array.from(back.labels!)).toEqual(Array.from(data.labels!));
    expect(Math.abs(back.features[17] - data.features[17])).toBeLessThan(1e-7);
  });

  it('a job run in-process equals trainSpecialist on the same config, and saves a loadable specialist', async () => {
    const before = tf.memory().numTensors;
    const res = await runSpecialistJob(job);
    expect(tf.memory().numTensors).toBe(before);
    expect(res.subset).toEqual([2, 3]);
    const loaded = await loadSpecialist(job.outDir);
    expect(loaded.subset).toEqual([2, 3]);
    expect(loaded.dustbinOffset).toBeCloseTo(res.dustbinOffset, 12);
    const direct = await trainSpecialist(generalist, data, job.config);
    const a = predictLogits(loaded.model, data).logits;
    const b = predictLogits(direct.model, data).logits;
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-4);
    loaded.model.dispose();
    direct.model.dispose();
  });

  it('runs jobs in child processes and gets the same specialist', async () => {
    const [res] = await runSpecialistJobsInChildProcesses([{ ...job, outDir: join(dir, 'spec-child') }], { workDir: join(dir, 'jobs') });
    expect(res.subset).toEqual([2, 3]);
    const child = await loadSpecialist(join(dir, 'spec-child'));
    const inProc = await loadSpecialist(job.outDir);
    const a = predictLogits(child.model, data).logits;
    const b = predictLogits(inProc.model, data).logits;
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-4);
    child.model.dispose();
    inProc.model.dispose();
    await expect(
      runSpecialistJobsInChildProcesses([{ ...job, generalistDir: join(dir, 'missing') }], { workDir: join(dir, 'jobs-bad') }),
    ).rejects.toThrow(/exited with 1.*does not exist/s);
  });
});
