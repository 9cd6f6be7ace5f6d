import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initRuntime, loadModel } from '@kdasr/core';
import { getPreset } from './config.js';
import { runMnistExperiment } from './experiment.js';
import { loadMnist, type MnistData } from './sources.js';

const out = mkdtempSync(join(tmpdir(), 'kdasr-mnist-smoke-'));
let data: MnistData;
beforeAll(async () => {
  await initRuntime();
  data = loadMnist();
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

const STEPS = ['teacher', 'small', 'distilled', 'sweep-h16-T1', 'sweep-h16-T4', 'omit3', 'omit3-bias', 'only78', 'only78-bias'];

describe('smoke preset end to end', () => {
  it('trains every step, saves every model and the reports, without leaking tensors', async () => {
    const before = tf.memory().numTensors;
    const lines: string[] = [];
    const r = await runMnistExperiment({ preset: getPreset('smoke'), outDir: out, loaded: data, log: (l) => lines.push(l) });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.steps.map((s) => s.id)).toEqual(STEPS);
    expect(r.resumed).toEqual([]);
    expect(r.sizes).toEqual({ train: 600, validation: 300, test: 500 });
    for (const s of r.steps) {
      expect(existsSync(join(out, 'models', s.id, 'model.json')), s.id).toBe(true);
      expect(s.testCount).toBe(500);
      expect(s.testErrors).toBeGreaterThanOrEqual(0);
      expect(s.testErrors).toBeLessThanOrEqual(500);
    }
    // Training worked at all: the supervised nets beat chance (90% error) by a wide margin even here.
    const small = r.steps.find((s) => s.id === 'small')!;
    expect(small.testErrors).toBeLessThan(350);
    const omit = r.steps.find((s) => s.id === 'omit3')!;
    expect(omit.omittedClass).toBe(3);
    expect(omit.omittedCount).toBe(data.test.labels.subarray(0, 500).filter((l) => l === 3).length);
    const bias = r.steps.find((s) => s.id === 'omit3-bias')!;
    expect(bias.biasClasses).toEqual([3]);
    // The bias-adjusted model on disk carries the chosen change in its output bias.
    const a = await loadModel(join(out, 'models', 'omit3'));
    const b = await loadModel(join(out, 'models', 'omit3-bias'));
    const lastBias = (m: typeof a.model) => {
      const w = m.layers[m.layers.length - 1].getWeights();
      return w[1].dataSync();
    };
    const d = Array.from(lastBias(b.model)).map((v, i) => v - lastBias(a.model)[i]);
    expect(d[3]).toBeCloseTo(bias.biasDelta!, 5);
    expect(d.filter((_, i) => i !== 3).every((v) => Math.abs(v) < 1e-6)).toBe(true);
    a.model.dispose();
    b.model.dispose();
    expect(b.sidecar?.kind).toBe('mnist-omit3-bias');

    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(results.complete).toBe(true);
    expect(results.numTensorsLeaked).toBe(0);
    expect(results.steps).toHaveLength(STEPS.length);
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    expect(md).toContain('| system | test errors |');
    expect(md).toContain('kdasr experiment mnist --preset smoke');
    // Default engine 'auto': native where the addon loads, else tfjs; recorded in the reports and sidecars.
    expect(['native', 'tfjs']).toContain(r.engine);
    expect(results.engine).toBe(r.engine);
    expect(md).toContain(`training engine: ${r.engine}`);
    expect(md).toMatch(r.engine === 'native' ? /backend: native \(\d+ threads\)/ : /backend: (wasm|cpu|tensorflow)/);
    const loadedTeacher = await loadModel(join(out, 'models', 'teacher'));
    loadedTeacher.model.dispose();
    const teacherSidecar = loadedTeacher.sidecar!;
    expect(teacherSidecar.metrics?.engine).toBe(r.engine);
    expect(teacherSidecar.provenance.backend === 'native').toBe(r.engine === 'native');
    for (const plot of ['curves', 'sweep']) {
      expect(readFileSync(join(out, `${plot}.svg`), 'utf8')).toMatch(/^<svg[^]*role-mark[^]*<\/svg>\s*$/);
      expect(JSON.parse(readFileSync(join(out, `${plot}.vl.json`), 'utf8')).mark.type).toBe('line');
    }
    expect(r.table).toMatch(/teacher 784-64-64-10.*\n.*small net/);
    expect(lines.some((l) => /teacher epoch 2\/2 .*val err/.test(l))).toBe(true);
    // About 10 s on 2 idle cores; the limit leaves room for a loaded machine.
  }, 180_000);

  it('resumes: a second run reuses every finished step and gives the same table', async () => {
    const first = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    // Interrupted run: one model missing (as if killed during that step).
    rmSync(join(out, 'models', 'only78-bias'), { recursive: true });
    const r = await runMnistExperiment({ preset: getPreset('smoke'), outDir: out, loaded: data, log: () => {} });
    expect(r.resumed).toEqual(STEPS.filter((s) => s !== 'only78-bias'));
    expect(r.steps.map((s) => s.testErrors)).toEqual(first.steps.map((s: { testErrors: number }) => s.testErrors));
  });

  it('refuses to resume into a directory made with another configuration', async () => {
    await expect(runMnistExperiment({ preset: getPreset('smoke', { seed: 2 }), outDir: out, loaded: data, log: () => {} })).rejects.toThrow(
      /different configuration.*--out/,
    );
  });

  it('forces the tfjs engine with engine: tfjs (the fallback path) and records it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdasr-mnist-tfjs-'));
    try {
      const r = await runMnistExperiment({ preset: getPreset('smoke'), outDir: dir, loaded: data, log: () => {}, engine: 'tfjs', only: (id) => id === 'small' });
      expect(r.engine).toBe('tfjs');
      expect(r.steps.map((s) => s.id)).toEqual(['small']);
      const m = await loadModel(join(dir, 'models', 'small'));
      m.model.dispose();
      expect(m.sidecar?.metrics?.engine).toBe('tfjs');
      expect(m.sidecar?.provenance.backend).not.toBe('native');
      expect(readFileSync(join(dir, 'results.md'), 'utf8')).toContain('training engine: tfjs');
      await expect(runMnistExperiment({ preset: getPreset('smoke'), outDir: dir, loaded: data, log: () => {}, engine: 'gpu' })).rejects.toThrow(
        /--engine must be native, tfjs or auto/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
