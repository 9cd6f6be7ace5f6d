export { NativeMlp, type NativeMlpConfig, type TrainBatch, type Gradients } from './mlp.js';
export { SgdMomentum, Adam, type SgdOptions, type AdamOptions, type NativeOptimizer } from './optimizers.js';
export { resolveLoss, type NativeLossOptions, type LossParts, type ResolvedLoss } from './losses.js';
export {
  NativeEngine,
  loadNativeEngine,
  resolveEngine,
  toLayersModel,
  engineKindSchema,
  type EngineKind,
  type NativeEngineLoad,
  type ResolvedEngine,
} from './engine.js';
export { NativeClassifier } from './classifier.js';
export { cpuSupportsNativeBuild, defaultAddonPath, type NativeInfo } from './loader.js';
export { NativeTrainableStudent, createStudent, type CreateStudentOptions, type CreatedStudent } from './student.js';
