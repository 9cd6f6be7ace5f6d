// @kdasr/core: the tensor runtime. Everything tensor-free (atomic I/O, provenance, RNG, frames, host datasets,
// ids, locks) is in @kdasr/base and re-exported here, so imports from core keep working; a process that does
// not need tensors imports @kdasr/base and never loads tfjs.
export * from '@kdasr/base';
export { type Classifier, type Teacher } from './interfaces.js';
export { saveModel, loadModel } from './model-io.js';
export {
  initRuntime,
  runtimeInfo,
  requireRuntime,
  BACKENDS,
  BACKEND_ENV,
  THREADS_ENV,
  MAX_WASM_THREADS,
  type Backend,
  type BackendRequest,
  type RuntimeInfo,
  type RuntimeOptions,
  type TensorflowPackages,
} from './runtime.js';
export {
  patchWasmMatMulKernels,
  restoreStockWasmMatMulKernels,
  wasmMatMulKernelsPatched,
  stockWasmKernelFunc,
  PATCHED_WASM_KERNELS,
  type PatchedWasmKernel,
} from './wasm-kernels.js';
export { PATCHED_WASM_VERSION, WASM_UNPATCHED_ENV } from './wasm-package.js';
