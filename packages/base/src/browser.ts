// The browser entry of @kdasr/base (the `browser` export condition): everything that needs no Node built-in.
// Node-only I/O (atomic writes, provenance, sidecar files, locks) is in src/index.ts alone.
export { Rng } from './rng.js';
export { ArrayDataset, batchesByGather, type ArrayDatasetInit, type BatchOptions, type BatchSource, type Dataset, type HostBatch } from './dataset.js';
export { numFrames, frameStartSample, frameCenterSec, timeToFrame, secondsToSamples, samplesToSeconds, windowShiftSamples, windowLengthSamples, type FrameOptions } from './frames.js';
export { parseSidecar, sidecarSchema, SIDECAR_FILE, type Sidecar } from './sidecar.js';
export type { Provenance, RuntimeReport } from './provenance.js';
export { validateId, assertSafeId, idProblem, unsafeIdMessage, UnsafeIdError, SAFE_ID_HINT, type IdSource } from './ids.js';
