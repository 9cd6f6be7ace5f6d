// Developer tool: how much of a native training step is sgemm. Interleaves full steps with the same sequence of
// bare sgemm calls, so the ratio survives a noisy machine.   node --conditions=@kdasr/source --import tsx bench/profile.ts [S|L] [elementwiseThreads]
import { loadNativeEngine, SgdMomentum } from '../src/index.js';

const r = loadNativeEngine();
if (!r.available) throw new Error(r.reason);
const engine = r.engine;
const which = process.argv[2] ?? 'S';
const ew = Number(process.argv[3] ?? 0);
if (ew > 0) engine.setThreads({ elementwise: ew });
const dims = which === 'L' ? [1320, 1024, 1024, 1024, 1024, 1024, 1024, 4000] : [440, 512, 512, 512, 512, 1000];
const n = 256;
const mlp = engine.createMlp({ inputDim: dims[0], hiddenDims: dims.slice(1, -1), numClasses: dims[dims.length - 1] });
const x = new Float32Array(n * dims[0]).map(() => Math.random());
const labels = Int32Array.from({ length: n }, (_, i) => i % dims[dims.length - 1]);
const opt = new SgdMomentum({ learningRate: 0.001 });
const acts = dims.map((d) => new Float32Array(n * d).fill(0.1));
const dzs = dims.map((d) => new Float32Array(n * d).fill(0.1));
const vel = mlp.weights.map((w) => new Float32Array(w.length));
function gemms(): void {
  const L = dims.length - 1;
  for (let l = 0; l < L; l++) engine.sgemm(acts[l], mlp.weights[l], acts[l + 1], n, dims[l + 1], dims[l]);
  for (let l = L - 1; l >= 0; l--) {
    if (l > 0) engine.sgemm(dzs[l + 1], mlp.weights[l], dzs[l], n, dims[l], dims[l + 1], { transB: true });
    engine.sgemm(acts[l], dzs[l + 1], vel[l], dims[l], dims[l + 1], n, { transA: true, beta: 0.9 });
  }
}
const step = () => mlp.trainStep({ features: x, labels }, { softWeight: 0, hardWeight: 1 }, opt);
const time = (f: () => unknown) => {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
};
step();
gemms();
const before = engine.info();
const a: number[] = [];
const b: number[] = [];
const rounds = which === 'L' ? 8 : 40;
for (let i = 0; i < rounds; i++) {
  a.push(time(step));
  b.push(time(gemms));
}
const med = (xs: number[]) => [...xs].sort((p, q) => p - q)[xs.length >> 1];
const flops = 6 * n * mlp.parameterCount;
console.log(`${which} ew=${engine.info().elementwiseThreads}: step ${med(a).toFixed(2)} ms (${(flops / med(a) / 1e6).toFixed(1)} GFLOP/s), sgemm-only ${med(b).toFixed(2)} ms (${(flops / med(b) / 1e6).toFixed(1)}); step/sgemm ${(med(a) / med(b)).toFixed(3)}; min ${Math.min(...a).toFixed(2)} vs ${Math.min(...b).toFixed(2)}`);
const after = engine.info();
const names = ['fwd gemm', 'fwd elementwise', 'loss', 'dA gemm', 'dW gemm', 'relu back', 'update'];
console.log(
  names.map((nm, i) => `${nm} ${((after.phaseWallMs[i] - before.phaseWallMs[i]) / rounds).toFixed(2)}/${((after.phaseCpuMs[i] - before.phaseCpuMs[i]) / rounds).toFixed(2)}`).join(', '),
  '(ms per step, wall/cpu)',
);
