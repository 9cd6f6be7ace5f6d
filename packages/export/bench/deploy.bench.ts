// Forward-pass frames/s in Node of one frame classifier as TF.js (the baseline: the backend initRuntime picks,
// KDASR_BACKEND to choose) and as the ONNX export in onnxruntime-node (1 thread and its default), in one process,
// reported as ratios against TF.js. Shapes: FSDD's 3×256 whole-word model and the quick preset's 4×512, both on
// 40-dim fbank with 11-frame context. Batches of 100 frames (a 1 s utterance) and 1000 frames.
// Weights are random (glorot): speed does not depend on them. float16/uint8 TF.js exports dequantize on load,
// so their forward pass is the float32 one; `kdasr export --report` measures them on real data.
// Run: npm run bench (from packages/export). Not a test: numbers depend on the machine.
import { initRuntime, runtimeInfo } from '@kdasr/core';
import { MlpClassifier, describeMlpLayers } from '@kdasr/distillation';
import { classifierRunner, encodeOnnxModel, onnxClassifierModel, onnxRunner, onnxSchema, type DenseWeights, type LogitsRunner } from '../src/index.js';

await initRuntime({});
const info = runtimeInfo()!;
console.log(`tfjs backend ${info.backend}, ${info.threads} thread(s)`);

function dense(mlp: MlpClassifier): DenseWeights[] {
  const d = describeMlpLayers(mlp.toLayersModel(), 'bench');
  return d.dense.map((l, i) => {
    const [k, b] = l.getWeights();
    return { inputDim: k.shape[0], units: k.shape[1]!, kernel: k.dataSync() as Float32Array, bias: b.dataSync() as Float32Array, relu: i < d.dense.length - 1 };
  });
}

async function framesPerSecond(r: LogitsRunner, x: Float32Array, rows: number, minMs = 1500): Promise<number> {
  await r.logits(x, rows); // warm-up
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < minMs) {
    await r.logits(x, rows);
    n++;
  }
  return (n * rows) / ((performance.now() - t0) / 1000);
}

for (const [name, hidden, classes] of [
  ['fsdd 3x256', [256, 256, 256], 83],
  ['quick 4x512', [512, 512, 512, 512], 216],
] as const) {
  const mlp = new MlpClassifier({ inputDim: 440, hiddenSizes: [...hidden], numClasses: classes, seed: 1 });
  const bytes = encodeOnnxModel(onnxSchema(), onnxClassifierModel({ members: [dense(mlp)] }));
  const runners: [string, LogitsRunner][] = [
    [`tfjs ${info.backend}`, classifierRunner(mlp)],
    ['onnxruntime-node 1 thread', await onnxRunner(bytes, { threads: 1 })],
    ['onnxruntime-node default threads', await onnxRunner(bytes)],
  ];
  for (const rows of [100, 1000]) {
    const x = Float32Array.from({ length: rows * 440 }, (_, i) => Math.sin(i * 0.37));
    let base = 0;
    for (const [label, r] of runners) {
      const fps = await framesPerSecond(r, x, rows);
      if (!base) base = fps;
      console.log(`${name}, batch ${rows}: ${label.padEnd(34)} ${Math.round(fps).toString().padStart(9)} frames/s  (${(fps / base).toFixed(2)}x tfjs)`);
    }
  }
  for (const [, r] of runners) await r.dispose();
  mlp.dispose();
}
