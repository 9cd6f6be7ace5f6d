// Benchmark (not a test): native engine vs PyTorch (and the tfjs path when @kdasr/core has initRuntime) on the
// frame classifiers of shared/notes/performance.md, plus the raw 2-thread sgemm rate, all in one run.
// Rounds of each engine are interleaved and medians reported, because the machine is shared and noisy:
// compare the ratios, which are measured under the same conditions, more than the absolute rates.
//   npm run bench -w @kdasr/native [-- --quick]
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import * as tf from '@tensorflow/tfjs-core';
import * as core from '@kdasr/core';
import { loadNativeEngine, SgdMomentum, type NativeEngine, type NativeMlp, type TrainBatch, type NativeLossOptions } from '../src/index.js';

const quick = process.argv.includes('--quick');
const BATCH = 256;
const INFER_BATCH = 1024;
const TEMPERATURE = 2;
const PYTHON = process.env.KDASR_BENCH_PYTHON ?? '/usr/bin/python3';

interface ModelSpec {
  name: string;
  dims: number[];
  rounds: number;
  steps: number;
  inferRounds: number;
  inferReps: number;
}
const models: ModelSpec[] = [
  { name: 'S', dims: [440, 512, 512, 512, 512, 1000], rounds: quick ? 3 : 7, steps: quick ? 4 : 10, inferRounds: quick ? 3 : 7, inferReps: quick ? 3 : 8 },
  { name: 'L', dims: [1320, 1024, 1024, 1024, 1024, 1024, 1024, 4000], rounds: quick ? 2 : 5, steps: quick ? 2 : 3, inferRounds: quick ? 2 : 5, inferReps: 2 },
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const weightsOf = (dims: number[]) => dims.slice(0, -1).reduce((s, d, i) => s + d * dims[i + 1], 0);

function randomArray(n: number, seed: number): Float32Array {
  const rng = new core.Rng(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = 2 * rng.next() - 1;
  return a;
}

function softmaxRows(z: Float32Array, c: number): Float32Array {
  const p = new Float32Array(z.length);
  for (let r = 0; r < z.length / c; r++) {
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, z[r * c + j]);
    let s = 0;
    for (let j = 0; j < c; j++) s += (p[r * c + j] = Math.exp(z[r * c + j] - m));
    for (let j = 0; j < c; j++) p[r * c + j] /= s;
  }
  return p;
}

// ------------------------------------------------------------------ PyTorch, as a line-oriented timing server
const TORCH_SERVER = String.raw`# Timing server for bench.ts: PyTorch (Debian python3-torch) trains/infers the same MLPs on request, so the
# benchmark can interleave native and PyTorch rounds on a noisy machine. One JSON command per stdin line.
import json, sys, time
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)  # best measured configuration here: 1 OpenMP thread, OPENBLAS_NUM_THREADS=2 for gemm
torch.manual_seed(0)
nets = {}

def build(dims):
    layers = []
    for i in range(len(dims) - 1):
        layers.append(nn.Linear(dims[i], dims[i + 1]))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)

def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()

reply({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
       "blas": torch.__config__.show().count("BLAS_INFO=open") > 0})
for line in sys.stdin:
    cmd = json.loads(line)
    op = cmd["op"]
    if op == "setup":
        dims, batch, infer = cmd["dims"], cmd["batch"], cmd["inferBatch"]
        model = build(dims)
        opt = torch.optim.SGD(model.parameters(), lr=cmd["lr"], momentum=0.9)
        x = torch.rand(batch, dims[0]) * 2 - 1
        y = torch.randint(0, dims[-1], (batch,))
        T = cmd["temperature"]
        p = torch.softmax(torch.randn(batch, dims[-1]) * 3 / T, 1)
        xi = torch.rand(infer, dims[0]) * 2 - 1
        nets[cmd["name"]] = (model, opt, x, y, p, T, xi)
        reply({"ok": True})
    elif op == "train":
        model, opt, x, y, p, T, _ = nets[cmd["name"]]
        soft = cmd["target"] == "soft"
        times = []
        loss = None
        for _ in range(cmd["steps"]):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            z = model(x)
            if soft:
                loss = -(p * F.log_softmax(z / T, dim=1)).sum(1).mean() * (T * T)
            else:
                loss = F.cross_entropy(z, y)
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t0)
        reply({"times": times, "loss": float(loss)})
    elif op == "infer":
        model, _, _, _, _, _, xi = nets[cmd["name"]]
        times = []
        with torch.inference_mode():
            for _ in range(cmd["reps"]):
                t0 = time.perf_counter()
                model(xi)
                times.append(time.perf_counter() - t0)
        reply({"times": times})
    elif op == "quit":
        break
`;

class TorchServer {
  private proc: ChildProcessWithoutNullStreams;
  private lines: AsyncIterableIterator<string>;
  ready: { torch: string; threads: number } | null = null;
  constructor() {
    // PyTorch's best configuration here (performance.md): 1 OpenMP thread, 2 OpenBLAS threads. OPENBLAS_CORETYPE
    // is inherited as the environment has it, for both engines.
    this.proc = spawn(PYTHON, ['-c', TORCH_SERVER], {
      env: { ...process.env, OPENBLAS_NUM_THREADS: '2', OMP_NUM_THREADS: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc.stderr.on('data', (d) => process.stderr.write(`[torch] ${d}`));
    this.lines = createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }
  async start(): Promise<void> {
    this.ready = JSON.parse(await this.next()) as { torch: string; threads: number };
  }
  private async next(): Promise<string> {
    const r = await this.lines.next();
    if (r.done) throw new Error('the PyTorch process exited');
    return r.value;
  }
  async call<T>(cmd: object): Promise<T> {
    this.proc.stdin.write(JSON.stringify(cmd) + '\n');
    return JSON.parse(await this.next()) as T;
  }
  stop(): void {
    this.proc.stdin.end(JSON.stringify({ op: 'quit' }) + '\n');
  }
}

// ------------------------------------------------------------------ tfjs path (only when core has initRuntime)
interface TfjsBench {
  train(target: 'hard' | 'soft', steps: number): number[];
  infer(reps: number): number[];
  dispose(): void;
}

async function tfjsBench(spec: ModelSpec): Promise<TfjsBench | string> {
  const initRuntime = (core as Record<string, unknown>).initRuntime;
  if (typeof initRuntime !== 'function') return '@kdasr/core does not export initRuntime yet';
  try {
    await (initRuntime as () => Promise<unknown>)();
  } catch (e) {
    return `initRuntime failed: ${(e as Error).message}`;
  }
  const d = spec.dims;
  const C = d[d.length - 1];
  const W = d.slice(0, -1).map((n, i) => tf.variable(tf.tensor2d(randomArray(n * d[i + 1], 10 + i).map((v) => v * Math.sqrt(6 / (n + d[i + 1]))), [n, d[i + 1]])));
  const b = d.slice(1).map((n) => tf.variable(tf.zeros([n])));
  const x = tf.tensor2d(randomArray(BATCH * d[0], 1), [BATCH, d[0]]);
  const y = tf.oneHot(tf.tensor1d(Int32Array.from({ length: BATCH }, (_, i) => (i * 7919) % C), 'int32'), C);
  // The same soft targets as the native and PyTorch rows: teacher probabilities at T, T² on the soft term.
  const soft = tf.tensor2d(softmaxRows(randomArray(BATCH * C, 2).map((v) => (v * 3) / TEMPERATURE), C), [BATCH, C]);
  const xi = tf.tensor2d(randomArray(INFER_BATCH * d[0], 3), [INFER_BATCH, d[0]]);
  const opt = tf.train.momentum(0.01, 0.9);
  const forward = (h: tf.Tensor2D) => {
    W.forEach((w, l) => {
      h = tf.fused.matMul({ a: h, b: w, bias: b[l], activation: l < W.length - 1 ? 'relu' : 'linear' }) as tf.Tensor2D;
    });
    return h;
  };
  const timed = (steps: number, body: () => void) => {
    const times: number[] = [];
    for (let s = 0; s < steps; s++) {
      const t0 = performance.now();
      tf.tidy(body);
      times.push(performance.now() - t0);
    }
    return times;
  };
  return {
    train: (target, steps) =>
      timed(steps, () => {
        const { value, grads } = tf.variableGrads(() => {
          const z = forward(x);
          return (target === 'hard'
            ? tf.losses.softmaxCrossEntropy(y, z)
            : tf.mul(tf.losses.softmaxCrossEntropy(soft, tf.div(z, TEMPERATURE)), TEMPERATURE * TEMPERATURE)) as tf.Scalar;
        });
        opt.applyGradients(grads as tf.NamedTensorMap as Parameters<typeof opt.applyGradients>[0]);
        value.dataSync();
      }),
    infer: (reps) => timed(reps, () => void forward(xi).dataSync()),
    dispose: () => {
      tf.dispose([...W, ...b, x, y, soft, xi]);
      opt.dispose();
    },
  };
}

// ------------------------------------------------------------------ native
function nativeSetup(engine: NativeEngine, spec: ModelSpec) {
  const d = spec.dims;
  const C = d[d.length - 1];
  const mlp = engine.createMlp({ inputDim: d[0], hiddenDims: d.slice(1, -1), numClasses: C, seed: 1 });
  const features = randomArray(BATCH * d[0], 1);
  const labels = Int32Array.from({ length: BATCH }, (_, i) => (i * 7919) % C);
  const teacherProbs = softmaxRows(randomArray(BATCH * C, 2).map((v) => (v * 3) / TEMPERATURE), C);
  const inferX = randomArray(INFER_BATCH * d[0], 3);
  const inferOut = new Float32Array(INFER_BATCH * C);
  return { mlp, features, labels, teacherProbs, inferX, inferOut };
}

function nativeTrain(mlp: NativeMlp, batch: TrainBatch, loss: NativeLossOptions, opt: SgdMomentum, steps: number): number[] {
  const times: number[] = [];
  for (let s = 0; s < steps; s++) {
    const t0 = performance.now();
    mlp.trainStep(batch, loss, opt);
    times.push(performance.now() - t0);
  }
  return times;
}

function sgemmRate(engine: NativeEngine, n: number, reps: number): number {
  const a = randomArray(n * n, 5);
  const b = randomArray(n * n, 6);
  const c = new Float32Array(n * n);
  engine.sgemm(a, b, c, n, n, n);
  const rates: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    engine.sgemm(a, b, c, n, n, n);
    rates.push((2 * n * n * n) / ((performance.now() - t0) / 1000) / 1e9);
  }
  return median(rates);
}

interface Row {
  what: string;
  flopsPerFrame: number;
  native: number[];
  torch: number[];
  tfjs: number[];
  frames: number;
}

async function main(): Promise<void> {
  const started = performance.now();
  const load = loadNativeEngine();
  if (!load.available) {
    console.error(`native engine unavailable: ${load.reason}`);
    process.exit(1);
  }
  const engine = load.engine;
  const info = engine.info();
  console.log(`native: ${info.openblasConfig} (core ${info.openblasCore}), ${info.blasThreads} BLAS + ${info.elementwiseThreads} elementwise threads; OPENBLAS_CORETYPE=${process.env.OPENBLAS_CORETYPE ?? '(unset)'}`);

  let torch: TorchServer | null = null;
  let torchNote = '';
  if (existsSync(PYTHON)) {
    try {
      torch = new TorchServer();
      await torch.start();
      console.log(`pytorch: ${torch.ready!.torch} via ${PYTHON}, ${torch.ready!.threads} OpenMP thread, OPENBLAS_NUM_THREADS=2`);
    } catch (e) {
      torchNote = `PyTorch unavailable (${(e as Error).message})`;
      torch = null;
    }
  } else torchNote = `PyTorch unavailable (no ${PYTHON})`;
  if (torchNote) console.log(torchNote);

  const sgemmRates: number[] = [];
  sgemmRates.push(sgemmRate(engine, 1024, 9));
  const rows: Row[] = [];
  let tfjsNote = '';

  for (const spec of models) {
    const n = nativeSetup(engine, spec);
    const W = weightsOf(spec.dims);
    if (torch)
      await torch.call({ op: 'setup', name: spec.name, dims: spec.dims, batch: BATCH, inferBatch: INFER_BATCH, lr: 0.01, temperature: TEMPERATURE });
    const tfjs = await tfjsBench(spec);
    if (typeof tfjs === 'string') tfjsNote = tfjs;
    else tfjsNote = `@kdasr/core initRuntime() -> tfjs backend '${tf.getBackend()}' (patched kernels, all cores); fewer steps than the other columns`;
    for (const target of ['hard', 'soft'] as const) {
      const row: Row = { what: `${spec.name} train, ${target} targets`, flopsPerFrame: 6 * W, native: [], torch: [], tfjs: [], frames: BATCH };
      const opt = new SgdMomentum({ learningRate: 0.01, momentum: 0.9 });
      const batch: TrainBatch = target === 'hard' ? { features: n.features, labels: n.labels } : { features: n.features, teacherProbs: n.teacherProbs };
      const loss: NativeLossOptions = target === 'hard' ? { softWeight: 0, hardWeight: 1 } : { temperature: TEMPERATURE, softWeight: 1, hardWeight: 0 };
      nativeTrain(n.mlp, batch, loss, opt, 2); // warm-up: first-touch of scratch and optimiser state
      if (torch) await torch.call({ op: 'train', name: spec.name, target, steps: 2 });
      if (typeof tfjs !== 'string') tfjs.train(target, 1); // warm-up: kernel set-up on first use
      for (let r = 0; r < spec.rounds; r++) {
        row.native.push(...nativeTrain(n.mlp, batch, loss, opt, spec.steps));
        if (torch) row.torch.push(...(await torch.call<{ times: number[] }>({ op: 'train', name: spec.name, target, steps: spec.steps })).times.map((t) => t * 1000));
        // tfjs is 5-10x slower: two short rounds give a stable median without dominating the run.
        if (typeof tfjs !== 'string' && r < 2) row.tfjs.push(...tfjs.train(target, spec.name === 'S' ? 3 : 2));
      }
      rows.push(row);
      sgemmRates.push(sgemmRate(engine, 1024, 3));
    }
    const inf: Row = { what: `${spec.name} inference, batch ${INFER_BATCH}`, flopsPerFrame: 2 * W, native: [], torch: [], tfjs: [], frames: INFER_BATCH };
    n.mlp.predictLogits(n.inferX, INFER_BATCH, n.inferOut);
    if (torch) await torch.call({ op: 'infer', name: spec.name, reps: 1 });
    if (typeof tfjs !== 'string') tfjs.infer(1);
    for (let r = 0; r < spec.inferRounds; r++) {
      for (let i = 0; i < spec.inferReps; i++) {
        const t0 = performance.now();
        n.mlp.predictLogits(n.inferX, INFER_BATCH, n.inferOut);
        inf.native.push(performance.now() - t0);
      }
      if (torch) inf.torch.push(...(await torch.call<{ times: number[] }>({ op: 'infer', name: spec.name, reps: spec.inferReps })).times.map((t) => t * 1000));
      if (typeof tfjs !== 'string' && r < 2) inf.tfjs.push(...tfjs.infer(2));
    }
    if (typeof tfjs !== 'string') tfjs.dispose();
    rows.push(inf);
    n.mlp.dispose();
  }
  torch?.stop();
  const sgemm = median(sgemmRates);

  const fps = (ms: number[], frames: number) => (ms.length ? frames / (median(ms) / 1000) : NaN);
  const fmt = (v: number, digits = 0) => (Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
  console.log(`\nraw sgemm 1024³, ${info.blasThreads} threads, same run: ${fmt(sgemm, 1)} GFLOP/s (median of ${sgemmRates.length} samples between phases)`);
  console.log(`batch ${BATCH} (training, momentum SGD; soft = teacher probabilities at T=${TEMPERATURE} with T² scale), medians over interleaved rounds\n`);
  console.log('| workload | native frames/s (GFLOP/s) | PyTorch frames/s (GFLOP/s) | native / PyTorch | native / sgemm rate | tfjs frames/s |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const nf = fps(r.native, r.frames);
    const tf_ = fps(r.torch, r.frames);
    const ng = (nf * r.flopsPerFrame) / 1e9;
    const tg = (tf_ * r.flopsPerFrame) / 1e9;
    console.log(`| ${r.what} | ${fmt(nf)} (${fmt(ng, 1)}) | ${fmt(tf_)} (${fmt(tg, 1)}) | ${fmt(nf / tf_, 2)} | ${fmt(ng / sgemm, 2)} | ${r.tfjs.length ? fmt(fps(r.tfjs, r.frames)) : '–'} |`);
  }
  if (torchNote) console.log(`\n${torchNote}`);
  console.log(`tfjs column: ${tfjsNote}`);
  console.log(`total ${(performance.now() - started) / 1000 | 0} s`);
}

await main();
