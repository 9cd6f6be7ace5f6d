// Training throughput of the wasm backend: stock kernels vs the patched matMul kernels vs patched + threads.
//
// Model S of /work/shared/notes/performance.md: 440 → 4×512 ReLU → 1000 logits, batch 256, softmax cross-entropy,
// momentum SGD, forward with fused matMul+bias+ReLU and gradients from tf.variableGrads (as the distillation
// trainer does). Each configuration runs in its own node process: the thread count is fixed when the wasm module
// starts, and a fresh process keeps one configuration's memory state from colouring the next.
//
//   cd packages/core && npm run bench            (or: node --conditions=@kdasr/source --import tsx bench/train-mlp.ts)
//   BENCH_SECONDS=20 npm run bench               (longer timing per configuration: steadier numbers)
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initRuntime, Rng, type RuntimeInfo } from '../src/index.js';

const LAYERS = [440, 512, 512, 512, 512, 1000];
const BATCH = 256;
const INFER_BATCH = 1024;
const WEIGHTS = LAYERS.slice(1).reduce((s, n, i) => s + LAYERS[i] * n, 0);
// Per frame: forward 2·W multiply-adds, backward 4·W (dx and dW per layer) — the convention of performance.md.
const TRAIN_FLOP_PER_FRAME = 6 * WEIGHTS;
const INFER_FLOP_PER_FRAME = 2 * WEIGHTS;

interface Config {
  label: string;
  patchKernels: boolean;
  threads: number;
}

interface Result {
  config: Config;
  info: Pick<RuntimeInfo, 'backend' | 'threads' | 'patchedKernels' | 'threadsReason'>;
  trainSteps: number;
  trainFramesPerSec: number;
  /** CPU seconds per wall second while training (≈ threads on an idle machine). */
  trainCpuPerWall: number;
  inferFramesPerSec: number;
  finalLoss: number;
}

function randomTensor(rng: Rng, shape: number[], scale: number): tf.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = (rng.next() * 2 - 1) * scale;
  return tf.tensor(v, shape);
}

/**
 * Runs `step` until `seconds` have passed (at least `minSteps` times). Returns steps, elapsed seconds, and the
 * process's CPU seconds (all threads) per elapsed second: below the thread count means the machine was busy.
 */
function timeLoop(step: () => void, seconds: number, minSteps: number): { steps: number; elapsed: number; cpuPerWall: number } {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  let steps = 0;
  while (steps < minSteps || performance.now() - t0 < seconds * 1000) {
    step();
    steps++;
  }
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  return { steps, elapsed, cpuPerWall: (cpu.user + cpu.system) / 1e6 / elapsed };
}

async function child(config: Config, seconds: number): Promise<Result> {
  const info = await initRuntime({ backend: 'wasm', threads: config.threads, patchKernels: config.patchKernels });
  const rng = new Rng(1);
  const ws: tf.Variable[] = [];
  const bs: tf.Variable[] = [];
  for (let i = 1; i < LAYERS.length; i++) {
    ws.push(tf.variable(randomTensor(rng, [LAYERS[i - 1], LAYERS[i]], Math.sqrt(6 / (LAYERS[i - 1] + LAYERS[i]))), true, `w${i}`));
    bs.push(tf.variable(tf.zeros([LAYERS[i]]), true, `b${i}`));
  }
  const forward = (x: tf.Tensor2D): tf.Tensor2D => {
    let h = x;
    for (let i = 0; i < ws.length; i++)
      h = tf.fused.matMul({ a: h, b: ws[i] as tf.Tensor2D, bias: bs[i], activation: i < ws.length - 1 ? 'relu' : 'linear' }) as tf.Tensor2D;
    return h;
  };
  const x = randomTensor(rng, [BATCH, LAYERS[0]], 1) as tf.Tensor2D;
  const labels = Int32Array.from({ length: BATCH }, () => Math.floor(rng.next() * LAYERS[LAYERS.length - 1]));
  const y = tf.oneHot(tf.tensor1d(labels, 'int32'), LAYERS[LAYERS.length - 1]);
  const optimizer = tf.train.momentum(0.01, 0.9);
  let loss = NaN;
  const step = () => {
    // minimize = variableGrads + applyGradients, disposing the gradients.
    const value = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, forward(x)) as tf.Scalar, true)!;
    loss = value.dataSync()[0]; // waits for the step, as a training loop reading its loss does
    value.dispose();
  };
  timeLoop(step, 0, 2); // warm-up: XNNPACK operator creation, first-call allocations
  const train = timeLoop(step, seconds, 3);

  const xi = randomTensor(rng, [INFER_BATCH, LAYERS[0]], 1) as tf.Tensor2D;
  const infer = () => tf.tidy(() => forward(xi)).dataSync();
  timeLoop(infer, 0, 1);
  const inference = timeLoop(infer, Math.max(2, seconds / 4), 2);
  return {
    config,
    info: { backend: info.backend, threads: info.threads, patchedKernels: info.patchedKernels, threadsReason: info.threadsReason },
    trainSteps: train.steps,
    trainFramesPerSec: (train.steps * BATCH) / train.elapsed,
    trainCpuPerWall: train.cpuPerWall,
    inferFramesPerSec: (inference.steps * INFER_BATCH) / inference.elapsed,
    finalLoss: loss,
  };
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(results: Result[]): string {
  const base = results[0];
  const header = ['configuration', 'threads', 'train frames/s', 'train GFLOP/s', 'vs stock', 'CPU/wall', 'train frames/CPU-s', 'infer frames/s (b=1024)', 'infer GFLOP/s', 'steps'];
  const rows = results.map((r) => [
    r.config.label,
    String(r.info.threads),
    fmt(r.trainFramesPerSec),
    fmt((r.trainFramesPerSec * TRAIN_FLOP_PER_FRAME) / 1e9, 1),
    `${fmt(r.trainFramesPerSec / base.trainFramesPerSec, 1)}x`,
    fmt(r.trainCpuPerWall, 2),
    fmt(r.trainFramesPerSec / r.trainCpuPerWall),
    fmt(r.inferFramesPerSec),
    fmt((r.inferFramesPerSec * INFER_FLOP_PER_FRAME) / 1e9, 1),
    String(r.trainSteps),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : '-'.repeat(w - 1) + ':')).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  if (!(seconds > 0)) throw new Error(`BENCH_SECONDS is "${process.env.BENCH_SECONDS}"; expected a positive number of seconds`);
  const childArg = process.argv.indexOf('--child');
  if (childArg >= 0) {
    const config = JSON.parse(process.argv[childArg + 1]) as Config;
    console.log(JSON.stringify(await child(config, seconds)));
    return;
  }

  const threads = Math.min(availableParallelism(), 8);
  const configs: Config[] = [
    { label: 'wasm, stock kernels', patchKernels: false, threads: 1 },
    { label: 'wasm, patched kernels', patchKernels: true, threads: 1 },
  ];
  if (threads > 1) configs.push({ label: `wasm, patched kernels, ${threads} threads`, patchKernels: true, threads });

  console.log(
    `MLP ${LAYERS.join('→')} (${fmt(WEIGHTS)} weights), batch ${BATCH}, softmax CE, momentum SGD; ` +
      `${seconds} s of timed steps per configuration; ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} logical cores, ` +
      `load average ${loadavg()[0].toFixed(1)} at start`,
  );
  const self = fileURLToPath(import.meta.url);
  const results: Result[] = [];
  for (const config of configs) {
    process.stderr.write(`running: ${config.label} …\n`);
    const r = spawnSync(process.execPath, [...process.execArgv, self, '--child', JSON.stringify(config)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: (seconds * 3 + 120) * 1000,
    });
    if (r.status !== 0 || r.error)
      throw new Error(`bench child "${config.label}" failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''})`);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as Result;
    if (result.info.threads !== config.threads)
      throw new Error(`"${config.label}" ran ${result.info.threads} threads, not ${config.threads}: ${result.info.threadsReason}`);
    if (!Number.isFinite(result.finalLoss)) throw new Error(`"${config.label}" produced a non-finite loss`);
    results.push(result);
  }
  console.log(table(results));
  console.log(
    `load average ${loadavg()[0].toFixed(1)} at end. CPU/wall is the cores this process got (≈ threads when idle); ` +
      `frames/CPU-s divides it out, so it compares kernels even on a busy machine`,
  );
  const patched = results[1];
  const last = results[results.length - 1];
  console.log(
    `patched/stock training speed-up: ${fmt(patched.trainFramesPerSec / results[0].trainFramesPerSec, 1)}x` +
      (last !== patched ? `; threads add ${fmt(last.trainFramesPerSec / patched.trainFramesPerSec, 2)}x` : ''),
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? `bench: ${e.message}` : e);
  process.exit(1);
});
