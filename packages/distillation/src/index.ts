// Public entry of @kdasr/distillation: everything other packages may use is exported here.
export {
  softmaxWithTemperature,
  softmaxRowsHost,
  logSoftmaxWithTemperature,
  softTargetCrossEntropy,
  klDivergence,
  hardCrossEntropy,
  logitMatchingLoss,
  distillationLoss,
  type Labels,
  type SoftTargetInput,
  type SoftObjective,
  type DistillationLossInput,
  type DistillationLossParts,
} from './losses.js';
export { MlpClassifier, describeMlpLayers, type MlpConfig, type MlpLayersDescription, type RandomStateful } from './mlp.js';
export { ModelTeacher, EnsembleTeacher, BatchTargetsTeacher, hasHostTargetsInto, type EnsembleCombine, type HostTargetsInto } from './teachers.js';
export { predictLogits, frameAccuracy, argmaxRows, type PredictedLogits } from './inference.js';
export {
  distill,
  parseDistillOptions,
  distillOptionsSchema,
  applyMaxNorm,
  type DistillOptions,
  type DistillResult,
  type EpochRecord,
  type ProgressEvent,
} from './distill.js';
export { StepOptimizer, type OptimizerConfig } from './optimizer.js';
export {
  TfjsTrainableStudent,
  isTrainableStudent,
  applyMaxNormHost,
  type TrainableStudent,
  type StepTargets,
  type StepLoss,
  type OptimizerState,
  type LossSettings,
} from './trainable.js';
export {
  writeTeacherLogits,
  StoredLogitsTeacher,
  sparsifyRow,
  topKIndices,
  TEACHER_LOGITS_INDEX,
  type TeacherLogitsIndex,
  type WriteTeacherLogitsOptions,
} from './stored-logits.js';
export { SoftTargetCache, isRowLogitsSource, usesSoftTargetKernel, type RowLogitsSource, type SoftTargetCacheOptions, type SoftTargetKernel, type SoftTargetKernelUser } from './target-cache.js';
export {
  IndexSubset,
  unlabelledTransferSet,
  subsetTransferSet,
  omitClasses,
  adjustBiases,
  adjustBiasesHost,
  withBiasAdjustment,
  searchBiasAdjustment,
  type BiasSearchResult,
} from './transfer.js';
