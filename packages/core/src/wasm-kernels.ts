// Replacement BatchMatMul and _FusedMatMul kernels for the tfjs 4.22 wasm backend.
//
// Why: in 4.22 the wasm kernels send every matMul with transposeA or transposeB to a naive C++ loop (0.7 and
// 2.8 GFLOP/s) instead of XNNPACK (~26 GFLOP/s untransposed). Backprop is two thirds transposed matMuls
// (dW = hᵀ·dy, dx = dy·Wᵀ), so a training step spent ~98% of its time there. The replacements transpose the
// operand with the wasm Transpose kernel (memory-bound, cheap) and call the stock kernel untransposed, which takes
// the XNNPACK path. Results match the stock kernels within float32 rounding (measured max |Δ| 3e-5).
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';

/** The kernels this module replaces on the wasm backend. */
export const PATCHED_WASM_KERNELS = ['BatchMatMul', '_FusedMatMul'] as const;
export type PatchedWasmKernel = (typeof PATCHED_WASM_KERNELS)[number];

/** The part of the wasm backend the replacements use: freeing the temporary transposed operands. */
interface DisposingBackend {
  disposeData(dataId: object, force?: boolean): boolean;
}

let stockConfigs: Map<PatchedWasmKernel, KernelConfig> | undefined;
let patched = false;

function wasmKernel(name: string): KernelConfig {
  const k = tf.getKernel(name, 'wasm');
  if (!k)
    throw new Error(
      `the wasm kernel '${name}' is not registered: import '@tensorflow/tfjs-backend-wasm' (initRuntime does) before patching`,
    );
  return k;
}

/** Captures the stock configs once, before anything replaces them. */
function stock(): Map<PatchedWasmKernel, KernelConfig> {
  if (!stockConfigs) {
    stockConfigs = new Map();
    for (const name of PATCHED_WASM_KERNELS) stockConfigs.set(name, wasmKernel(name));
  }
  return stockConfigs;
}

/** The stock (unpatched) kernel function, callable whether or not the patch is installed. */
export function stockWasmKernelFunc(name: PatchedWasmKernel): KernelFunc {
  return stock().get(name)!.kernelFunc;
}

/** Swaps the last two axes with the wasm Transpose kernel. The result is backend data the caller must free. */
function swapLastTwo(x: TensorInfo, backend: unknown): TensorInfo {
  const r = x.shape.length;
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  const transpose = wasmKernel('Transpose').kernelFunc;
  return transpose({ inputs: { x }, backend: backend as tf.KernelBackend, attrs: { perm } }) as TensorInfo;
}

function untransposing(name: PatchedWasmKernel): KernelFunc {
  return (args) => {
    const stockFunc = stockWasmKernelFunc(name);
    const attrs = args.attrs as NamedAttrMap & { transposeA?: boolean; transposeB?: boolean };
    const inputs = args.inputs as { a: TensorInfo; b: TensorInfo } & Record<string, TensorInfo>;
    // Non-float32 inputs: let the stock kernel raise its own error.
    if ((!attrs.transposeA && !attrs.transposeB) || inputs.a.dtype !== 'float32' || inputs.b.dtype !== 'float32')
      return stockFunc(args);
    const backend = args.backend as unknown as DisposingBackend;
    const temps: TensorInfo[] = [];
    try {
      let { a, b } = inputs;
      if (attrs.transposeA) temps.push((a = swapLastTwo(a, backend)));
      if (attrs.transposeB) temps.push((b = swapLastTwo(b, backend)));
      return stockFunc({
        inputs: { ...inputs, a, b },
        backend: args.backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
    } finally {
      for (const t of temps) backend.disposeData(t.dataId);
    }
  };
}

/**
 * Replaces the wasm BatchMatMul and _FusedMatMul kernels with the untransposing versions. Idempotent. Works before
 * or after the wasm backend is initialised (the stock setupFunc is kept, so the backend sets up the same way).
 */
export function patchWasmMatMulKernels(): void {
  if (patched) return;
  const configs = stock();
  for (const name of PATCHED_WASM_KERNELS) {
    const config = configs.get(name)!;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...config, kernelFunc: untransposing(name) });
  }
  patched = true;
}

/** Puts the stock kernels back (benchmarks and tests compare the two in one process). Idempotent. */
export function restoreStockWasmMatMulKernels(): void {
  if (!patched) return;
  for (const name of PATCHED_WASM_KERNELS) {
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel(stock().get(name)!);
  }
  patched = false;
}

/** Whether the registered wasm matMul kernels are the patched ones. */
export function wasmMatMulKernelsPatched(): boolean {
  return patched;
}
