import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime, type ArrayDataset, type BatchOptions, type Dataset, type HostBatch } from '@kdasr/core';
import { gaussianGroupsTask } from '@kdasr/specialists';
import type { FrameTask } from '../asr/data.js';
import { SPECIALISTS_PRESETS, type SpecialistsRecipeInput } from './config.js';
import { runSpecialistsRecipe, type SpecialistsRecipeOptions } from './recipe.js';
import type { TaskResults } from './report.js';

const dir = mkdtempSync(join(tmpdir(), 'kdasr-specialists-recipe-'));
const smoke = SPECIALISTS_PRESETS.smoke.synthetic;

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(options: Partial<SpecialistsRecipeOptions> & { outDir: string }) {
  const logs: string[] = [];
  const r = await runSpecialistsRecipe({ preset: 'smoke', task: 'synthetic', engine: 'tfjs', log: (l) => logs.push(l), ...options });
  return { r, logs, statuses: Object.fromEntries(r.tasks[0].outcomes.map((o) => [o.name, o.status])) };
}

describe('specialists recipe, synthetic smoke task (tfjs engine, cpu backend)', () => {
  const out = join(dir, 'synthetic');
  const command = 'kdasr experiment specialists --preset smoke --task synthetic';

  it('runs every stage and reports Tables 2-4 beside the paper, the beyond-the-paper systems, results.json and plots', async () => {
    const { r, logs, statuses } = await run({ outDir: out, command });
    expect(Object.values(statuses).every((s) => s === 'ran')).toBe(true);
    expect(Object.keys(statuses)).toEqual(['data', 'generalist', 'clusters', 'specialists', 'combine', 'baseline', 'distil-back', 'soft-specialists', 'report']);
    expect(logs.some((l) => /^\[synthetic\] generalist: epoch 2\/2 loss [\d.]+, dev accuracy/.test(l))).toBe(true);
    expect(logs.some((l) => /hard specialist 1\/4 \(4 classes\): 2 epochs.*ETA/.test(l))).toBe(true);
    expect(r.resultsFile).toBe(join(out, 'RESULTS.md'));

    const md = readFileSync(join(out, 'RESULTS.md'), 'utf8');
    expect(md).toContain(`Command: \`${command}\``);
    // Table 2: the paper's example clusters and ours, with class names (g<group>c<class>).
    expect(md).toContain('Tea party; Easter; Bridal shower');
    expect(md).toMatch(/- covariance-kmeans, 4 classes, [\d.]+% of training examples: (g(\d)c\d; ){3}g\dc\d\n/);
    // Table 3 and 4 beside the paper's rows.
    expect(md).toMatch(/\| Paper: baseline \(JFT\) \| 43\.1% \| 25\.0% \|/);
    expect(md).toMatch(/\| Paper: \+ 61 specialist models \| 45\.9% \| 26\.1% \|/);
    expect(md).toMatch(/\| Ours: \+ 4 specialist models \(Eq\. 5\) \| [\d.]+% \| [\d.]+% \|/);
    expect(md).toMatch(/\| 1 \| 141,993 \| \+1421 \| \+3\.4% \| \d+ \| [+-]\d+ \| [+-][\d.]+% \|/);
    expect(md).toMatch(/\| 9 \| 4,706 \| \+208 \| \+16\.6% \| 0 \|/);
    expect(md).toMatch(/Compute-matched generalist: \+ 3 epoch\(s\)/);
    expect(md).toMatch(/Distilled back: one generalist-shaped model trained 1 epoch/);
    expect(md).toMatch(/Specialists with the generalist's soft targets/);
    expect(md).toMatch(/Convergence criterion: .*max_j \|∂f\/∂z_j\| < gradTolerance/);
    expect(md).toMatch(/training engine tfjs \(requested\); tfjs backend cpu/);
    expect(md).toMatch(/\| \*\*total\*\* \| \*\*[\d.]+ s\*\* \|/);

    const top = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { tasks: TaskResults[] };
    const t = top.tasks[0];
    const eq5 = t.combine.methods.eq5!;
    // The planted groups are what the generalist confuses: the specialists must help (deterministic for the seed).
    expect(eq5.combinedAccuracy).toBeGreaterThan(eq5.generalistAccuracy);
    expect(eq5.conditional.examples).toBe(480);
    expect(t.combine.eq5.notConverged).toBe(0);
    // Cap hits of the other Eq. 5 runs (distil-back teacher, soft-specialists evaluations) are counted and reported.
    const caps = t.soft!.eq5NotConverged!;
    const teacher = (t.distilBack as { teacher: { notConverged: number; rowsComputed: number } }).teacher;
    expect(Number.isInteger(caps.soft) && Number.isInteger(caps.hardCalibrated) && Number.isInteger(teacher.notConverged)).toBe(true);
    expect(md).toContain(`Cap hits elsewhere: the distil-back teacher ${teacher.notConverged} of ${teacher.rowsComputed.toLocaleString('en-US')} training rows it computed; soft-target specialists ${caps.soft} and re-calibrated hard specialists ${caps.hardCalibrated} test examples.`);
    expect(t.specialists.totalExamplesSeen).toBe(t.specialists.specialists.reduce((s, x) => s + x.examplesSeen, 0));
    expect(t.provenance.gitCommit).toBeTruthy();
    expect(t.config.seed).toBe(1);
    for (const f of ['cluster-sizes.svg', 'gain-by-coverage.svg']) expect(readFileSync(join(out, 'synthetic', 'plots', f), 'utf8')).toMatch(/^<svg[^]*<\/svg>\s*$/);
    expect(readFileSync(join(out, 'synthetic', 'plots', 'gain-by-coverage.svg'), 'utf8')).toContain('paper (JFT)');
    const sidecar = JSON.parse(readFileSync(join(out, 'synthetic', 'models', 'specialists-hard', '000', 'kdasr.json'), 'utf8'));
    expect(sidecar.kind).toBe('kdasr-specialist');
    expect(sidecar.metrics.subset).toEqual(t.clusters.chosen[0].subset);
    expect(existsSync(join(out, 'synthetic', 'models', 'distil-back', 'model.json'))).toBe(true);
  });

  it('resumes: a second run skips every stage, and a changed setting reruns only the stages that read it', async () => {
    const again = await run({ outDir: out, command });
    expect(Object.values(again.statuses).every((s) => s === 'skipped')).toBe(true);
    const changed: SpecialistsRecipeInput = { ...smoke, distilBack: { ...smoke.distilBack, epochs: 2 } };
    const third = await run({ outDir: out, command, configs: { synthetic: changed } });
    expect(third.statuses).toEqual({
      data: 'skipped',
      generalist: 'skipped',
      clusters: 'skipped',
      specialists: 'skipped',
      combine: 'skipped',
      baseline: 'skipped',
      'distil-back': 'ran',
      'soft-specialists': 'skipped',
      report: 'ran',
    });
    const t = (JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { tasks: TaskResults[] }).tasks[0];
    expect((t.distilBack as { epochs: number }).epochs).toBe(2);
  });

  it('each specialist resumes on its own: a rerun of the stage retrains only the missing one', async () => {
    const changed: SpecialistsRecipeInput = { ...smoke, distilBack: { ...smoke.distilBack, epochs: 2 } };
    rmSync(join(out, 'synthetic', 'models', 'specialists-hard', '002'), { recursive: true });
    const { logs, statuses } = await run({ outDir: out, configs: { synthetic: changed }, stage: 'specialists', stopStage: 'specialists', force: true });
    expect(statuses.specialists).toBe('ran');
    expect(statuses.combine).toBe('not-in-range');
    expect(logs).toContain('[synthetic] hard specialists: 3 of 4 already trained, reused');
    expect(logs.filter((l) => /hard specialist \d\/4/.test(l))).toEqual([expect.stringMatching(/^\[synthetic\] hard specialist 3\/4 /)]);
  });
});

/** A FrameTask-shaped speech task (what the ASR recipe's prepareAsrFrameTask returns), built from synthetic data. */
class FakeFrames implements Dataset {
  readonly size: number;
  readonly featureDim: number;
  readonly numClasses: number;
  constructor(private readonly ds: ArrayDataset) {
    this.size = ds.size;
    this.featureDim = ds.featureDim;
    this.numClasses = ds.numClasses;
  }
  gather(indices: Int32Array): HostBatch {
    return this.ds.gather(indices);
  }
  batches(options: BatchOptions): Iterable<HostBatch> {
    return this.ds.batches(options);
  }
  labels(): Int32Array {
    return Int32Array.from(this.ds.labels!);
  }
}

describe('specialists recipe, speech task through the FrameTask interface (fake corpus)', () => {
  it('loads the splits from the speech loader and names the classes by phone state in Table 2', async () => {
    const phones = ['aa', 'ae', 'ih', 'iy', 'sil'];
    const g = gaussianGroupsTask({ groups: 5, perGroup: 3, dim: 10, trainPerClass: 50, testPerClass: 20, seed: 4 });
    // Examples cycle through the classes, so the first 600 hold 40 per class and the rest 10.
    const train = g.train.subset(Int32Array.from({ length: 600 }, (_, i) => i));
    const dev = g.train.subset(Int32Array.from({ length: 150 }, (_, i) => 600 + i));
    const classNames = Array.from({ length: 15 }, (_, k) => `${phones[Math.floor(k / 3)]}.${k % 3} [L=#]`);
    const requests: unknown[] = [];
    const loader = async (o: { preset: string; expDir?: string }) => {
      requests.push(o);
      return {
        name: 'speech-tied-states',
        description: 'fake corpus for tests',
        train: new FakeFrames(train),
        dev: new FakeFrames(dev),
        test: new FakeFrames(g.test),
        numClasses: 15,
        inputDim: 10,
        classNames,
        phoneOfClass: classNames.map((n) => n.split('.')[0]),
      } as unknown as FrameTask;
    };
    const config: SpecialistsRecipeInput = {
      ...SPECIALISTS_PRESETS.smoke.speech,
      data: { kind: 'speech', asrPreset: 'smoke', asrExpDir: join(dir, 'asr') },
      clusterings: [{ method: 'covariance-kmeans', k: 5, maxSpecialists: 2 }],
      baseline: { enabled: false },
      softSpecialists: { enabled: false },
    };
    const out = join(dir, 'speech');
    const r = await runSpecialistsRecipe({ preset: 'smoke', task: 'speech', outDir: out, engine: 'auto', log: () => {}, configs: { speech: config }, speechLoader: loader });
    expect(requests).toEqual([{ preset: 'smoke', expDir: join(dir, 'asr'), log: expect.any(Function) }]);
    expect(r.tasks[0].outcomes.every((o) => o.status === 'ran')).toBe(true);
    const md = readFileSync(join(out, 'speech', 'RESULTS.md'), 'utf8');
    expect(md).toContain('Task: fake corpus for tests.');
    expect(md).toMatch(/- covariance-kmeans, \d+ classes, [\d.]+% of training examples: (aa|ae|ih|iy|sil)\.\d \[L=#\]; /);
    expect(md).not.toContain('Compute-matched generalist:');
    const top = readFileSync(join(out, 'RESULTS.md'), 'utf8');
    expect(top).toMatch(/\| speech \| 15 \| 2 \| [\d.]+% \| [\d.]+% \|/);
  });
});

describe('specialists recipe, specialists in child processes', () => {
  it('trains the specialists as separate processes and combines them like in-process ones', async () => {
    const config: SpecialistsRecipeInput = {
      ...smoke,
      clusterings: [{ method: 'covariance-kmeans', k: 6, maxSpecialists: 2 }],
      specialists: { ...smoke.specialists, processes: 'child', concurrency: 2 },
      softSpecialists: { enabled: false },
      distilBack: { ...smoke.distilBack, enabled: false },
      baseline: { enabled: false },
    };
    const out = join(dir, 'child');
    const { statuses } = await run({ outDir: out, configs: { synthetic: config }, stopStage: 'combine' });
    expect(statuses.combine).toBe('ran');
    const spec = JSON.parse(readFileSync(join(out, 'synthetic', 'results', 'specialists.json'), 'utf8'));
    expect(spec.processes).toBe('child');
    expect(spec.specialists).toHaveLength(2);
    expect(spec.specialists[0].examplesSeen).toBeGreaterThan(0);
    const comb = JSON.parse(readFileSync(join(out, 'synthetic', 'results', 'combine.json'), 'utf8'));
    expect(comb.methods.eq5.combinedAccuracy).toBeGreaterThan(0);
    expect(existsSync(join(out, 'RESULTS.md'))).toBe(false);
  }, 120_000);
});
