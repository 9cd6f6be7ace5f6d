// Public entry of @kdasr/experiments: the paper's recipes as declarative configs plus resumable stages.
export { runStages, stageHashes, resolveStageIndex, readDone, hashOf, DONE_DIR, type Stage, type StageContext, type StageOutcome, type RunStagesOptions, type DoneRecord } from './stages.js';
export { inventoryOf, transitionModelOf, decodingLexicon, type Lang } from './lang.js';
export { makeLang } from './make-lang.js';
export { WordDecoder, type UtteranceDecode } from './word-decoder.js';
export { WordSearch, WORD_DECODE_DEFAULTS, type WordDecodeSettings } from './word-search.js';
export { asrPreset, parseAsrConfig, asrRecipeSchema, ASR_PRESETS, ASR_PRESET_NAMES, type AsrRecipeConfig, type AsrRecipeInput, type AsrPresetName } from './asr/config.js';
export { prepareAsrFrameTask, loadAsrData, DATA_STAGES, type FrameTask, type LoadedAsrData } from './asr/data.js';
export { runAsrExperiment, asrStages, type AsrExperimentOptions, type AsrExperimentResult } from './asr/recipe.js';
export { studentSpecs, smallDataIndices, type StudentSpec, type ModelRecord } from './asr/systems.js';
export { readScore, type SystemScore } from './asr/score.js';
export { collectResults, renderMarkdown, formatTables, readResults, PAPER, type AsrResults } from './asr/report.js';
export * from './specialists/index.js';
export { jobKinds, JOB_KINDS_MODULE } from './job-kinds.js';
export { ensembleMemberKind, ensembleMemberJob, ENSEMBLE_MEMBER_KIND, type MemberJobSummary } from './asr/ensemble.js';
export { stageJobs, type StageJobs } from './stages.js';
export * from './pipeline/index.js';
export { readConfigFile, applyOverrides, parseOverride, validateConfig, resolveConfig, resolveCommandConfig, mergeConfig, ConfigError, type ResolveConfigOptions } from './workflow/config-file.js';
export {
  resolveAsrExperimentConfig,
  resolveMnistExperimentConfig,
  resolveSpecialistsExperimentConfigs,
  runSpecialistsExperiment,
  type ExperimentConfigOptions,
  type SpecialistsConfigs,
} from './workflow/experiment-configs.js';
export {
  transferSetSchema,
  loadTransferSet,
  resolveTransferSpec,
  labelledFrames,
  modelDirsOf,
  expDirOf,
  loadTeacherModels,
  type TransferSetSpec,
  type TransferSetInput,
  type TransferSetRecord,
  type LoadedTransferSet,
} from './workflow/transfer-set.js';
export {
  runTeacherLogits,
  writeShardedTeacherLogits,
  parseTeacherLogitsConfig,
  readTeacherLogitsManifest,
  teacherLogitsConfigSchema,
  TRANSFER_FILE,
  type TeacherLogitsConfig,
  type TeacherLogitsConfigInput,
  type TeacherLogitsManifest,
  type TeacherLogitsOptions,
  type TeacherLogitsResult,
  type ShardedLogitsOptions,
} from './workflow/teacher-logits.js';
export {
  runDistill,
  parseDistillConfig,
  distillConfigSchema,
  TransferMixture,
  RoutedTeacher,
  DISTILL_FILE,
  type DistillConfig,
  type DistillConfigInput,
  type DistillRunOptions,
  type DistillRunResult,
  type DistillRow,
} from './workflow/distill.js';
