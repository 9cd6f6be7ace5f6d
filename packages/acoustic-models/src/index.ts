// Public entry of @kdasr/acoustic-models: the DNN side of the hybrid DNN-HMM system.
export { StateInventory, type StateInventoryConfig, type StateInventoryJson } from './states.js';
export { labelsFromPhoneSegments, uniformLabels, wordsToPhones, boundaryFrame, type TimedPhone, type SegmentLabelOptions, type UniformOptions } from './targets.js';
export {
  Frontend,
  FrameDataset,
  StreamingFrameSource,
  frontendConfigSchema,
  parseFrontendConfig,
  type FrontendConfig,
  type FrontendConfigInput,
  type Utterance,
  type FrameDatasetOptions,
  type StreamingOptions,
} from './dataset.js';
export {
  trainAcousticModel,
  trainEnsemble,
  ensembleTeacher,
  EnsembleClassifier,
  type AcousticClassifier,
  saveAcousticModel,
  loadAcousticModel,
  parseAcousticConfig,
  acousticModelConfigSchema,
  ACOUSTIC_PRESETS,
  ACOUSTIC_MODEL_KIND,
  type AcousticModelConfig,
  type AcousticModelConfigInput,
  type AcousticModelMeta,
  type TrainAcousticOptions,
  type TrainedAcousticModel,
  type LoadedAcousticModel,
} from './train.js';
export { priorsFromCounts, priorsFromPosteriors, logPosteriors, logSoftmaxRows, scaledLoglikes, type FrameScores } from './priors.js';
export { syntheticUtterances, type SyntheticOptions } from './synthetic.js';
export { expectedCalibrationError, phoneConfusions, evaluateFrames, type ClassPhones, type Confusion, type FrameEvaluation } from './metrics.js';
export {
  accumulateTreeStats,
  clusterPhones,
  buildTree,
  segmentContexts,
  treeLabels,
  PhoneticTree,
  BOUNDARY,
  type AlignedUtterance,
  type ContextStat,
  type BuildTreeOptions,
  type TreeJson,
  type TreeQuestion,
} from './tree.js';
export { acousticSidecar, type AcousticSidecar, type AcousticSidecarMeta } from './sidecar.js';
export { readTree, loadModelDir, ensembleMembers, TREE_FILE, ENGINES, type TreeFile, type LoadedModelDir, type EngineChoice, type CombineRule } from './model-dir.js';
export { readAli, readLabels, aliTargets, monoStates, LABELS_FILE, type AliLine } from './alignment-file.js';
