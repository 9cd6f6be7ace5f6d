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
