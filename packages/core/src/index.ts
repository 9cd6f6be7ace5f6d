export { Rng } from './rng.js';
export {
  ArrayDataset,
  batchesByGather,
  type ArrayDatasetInit,
  type BatchOptions,
  type BatchSource,
  type Classifier,
  type Dataset,
  type HostBatch,
  type Teacher,
} from './interfaces.js';
export { writeFileAtomic, writeJsonAtomic, writeDirAtomic } from './atomic.js';
export { provenance, type Provenance } from './provenance.js';
export { saveModel, loadModel, makeSidecar, SIDECAR_FILE, type Sidecar } from './model-io.js';
export { numFrames, frameStartSample, frameCenterSec, timeToFrame, secondsToSamples, samplesToSeconds, windowShiftSamples, windowLengthSamples, type FrameOptions } from './frames.js';
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
export { Logger, Progress, configureLog, logSettings, formatDuration, QUIET_ENV, LOG_JSON_ENV, type LogSettings, type LogSink, type LoggerOptions, type ProgressOptions } from './progress.js';
