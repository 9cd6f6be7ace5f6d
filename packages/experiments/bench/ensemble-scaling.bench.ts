/**
 * Scaling of the ensemble stage over job workers: the preset's members trained with 1 and with 2 single-threaded
 * workers (local job processes, OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=KDASR_THREADS=1), same data, same seeds.
 * Reports wall time, speed-up T1/T2 and efficiency per worker (speed-up / 2), the per-member job times (for the
 * README's cost table) and the machine's load average, since other work on the cores lowers the figure.
 *
 *   npm run bench -- [--preset quick] [--members 4] [--epochs N] [--model JSON (model overrides)] [--dir DIR (reuse its data stages)]
 * e.g. a reduced run: --preset smoke --members 4 --model '{"hiddenLayers":2,"hiddenUnits":384,"contextLeft":5,"contextRight":5,"epochs":4}'
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initRuntime } from '@kdasr/core';
import { LocalRunner } from '@kdasr/jobs';
import { JOB_KINDS_MODULE, asrPreset, runAsrExperiment } from '../src/index.js';

const { values } = parseArgs({ options: { preset: { type: 'string', default: 'quick' }, members: { type: 'string' }, epochs: { type: 'string' }, model: { type: 'string' }, dir: { type: 'string' } } });
const overrides: Record<string, unknown> = {};
if (values.members) overrides.ensemble = { members: Number(values.members) };
if (values.model || values.epochs) overrides.model = { ...(values.model ? JSON.parse(values.model) : {}), ...(values.epochs ? { epochs: Number(values.epochs) } : {}) };
const config = asrPreset(values.preset!, overrides as never);
const single = { OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', KDASR_THREADS: '1' };
const rt = await initRuntime();
const root = values.dir ?? mkdtempSync(join(tmpdir(), 'kdasr-scaling-'));
const data = join(root, 'data-only');
if (!existsSync(join(data, 'done', 'labels.json'))) {
  console.error(`data stages of preset ${config.name} into ${data} ...`);
  await runAsrExperiment({ config, expDir: data, stopStage: 'labels', log: () => {} });
}
const load0 = loadavg()[0];
const runs: { workers: number; seconds: number; memberSeconds: number[] }[] = [];
for (const workers of [1, 2]) {
  const dir = join(root, `workers-${workers}`);
  rmSync(dir, { recursive: true, force: true });
  cpSync(data, dir, { recursive: true });
  const runner = new LocalRunner({ root, kindsModule: JOB_KINDS_MODULE, concurrency: workers, env: single });
  const t0 = performance.now();
  await runAsrExperiment({ config, expDir: dir, stage: 'ensemble', stopStage: 'ensemble', log: () => {}, jobs: { runner, root } });
  const seconds = (performance.now() - t0) / 1000;
  const memberSeconds = Array.from({ length: config.ensemble.members }, (_, i) => (JSON.parse(readFileSync(join(dir, 'models', `member-${i}`, 'job.json'), 'utf8')) as { seconds: number }).seconds);
  runs.push({ workers, seconds, memberSeconds });
  console.error(`${workers} worker(s): ${seconds.toFixed(1)} s`);
}
const [one, two] = runs;
const speedup = one.seconds / two.seconds;
const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
console.log(`ensemble stage, preset ${config.name}: ${config.ensemble.members} members of ${config.model.hiddenLayers}x${config.model.hiddenUnits}, ${config.model.epochs} epochs, engine ${config.engine}, backend ${rt.backend}; ${cpus().length} cores`);
console.log('| workers | wall s | mean member job s | speed-up | efficiency per worker |');
console.log('| --- | --- | --- | --- | --- |');
console.log(`| 1 | ${one.seconds.toFixed(1)} | ${mean(one.memberSeconds).toFixed(1)} | 1.00 | 1.00 |`);
console.log(`| 2 | ${two.seconds.toFixed(1)} | ${mean(two.memberSeconds).toFixed(1)} | ${speedup.toFixed(2)} | ${(speedup / 2).toFixed(2)} |`);
console.log(`load average (1 min) at start ${load0.toFixed(1)}, at end ${loadavg()[0].toFixed(1)}`);
if (!values.dir) rmSync(root, { recursive: true, force: true });
