// Public entry of @kdasr/mnist: MNIST-format IDX reading, jitter augmentation, the §3 experiment.
export {
  parseIdx,
  parseImagesAndLabels,
  readIdxPair,
  encodeIdx,
  isGzip,
  maybeGunzip,
  IDX1_UBYTE_MAGIC,
  IDX3_UBYTE_MAGIC,
  type IdxArray,
  type IdxImages,
} from './idx.js';
export {
  loadMnist,
  locateIdxFiles,
  verifyFiles,
  knownSourceDir,
  mnistDataDir,
  sha256,
  KNOWN_SOURCES,
  MNIST_RAW_SHA256,
  IDX_BASENAMES,
  FILE_ROLES,
  SOURCE_ALIASES,
  type FileRole,
  type KnownSource,
  type LoadOptions,
  type MnistData,
  type Verification,
} from './sources.js';
export { imagesToDataset, trainValidationSplit, takeSubset, filterByClass, classCounts } from './data.js';
export { JitterSource, shiftImage, type JitterOptions } from './jitter.js';
export { countErrors, searchSharedBias, type ErrorCount, type BiasSearchResult } from './evaluate.js';
export { getPreset, PresetSchema, PRESET_NAMES, type MnistPreset, type PresetName, type NetConfig, type TrainConfig } from './config.js';
export { runMnistExperiment, type ExperimentOptions, type ExperimentResults } from './experiment.js';
export { tableRows, textTable, formatDuration, type StepResult, type ExperimentSummary } from './report.js';
export { linePlotSpec, renderSvg, writePlot, markdownTable, type Series, type PlotOptions, type VegaLiteSpec } from './plots.js';
