// Public entry of @kdasr/specialists: generalist + specialist models (Hinton, Vinyals & Dean 2015, §5).
export {
  CovarianceAccumulator,
  covarianceFromProbabilities,
  predictionCovariance,
  correlationFromCovariance,
  type CovarianceResult,
} from './covariance.js';
export { miniBatchKMeans, clustersFromAssignment, type KMeansOptions, type KMeansResult } from './kmeans.js';
export {
  clusterClasses,
  spectralEmbedding,
  topEigenvectors,
  confusionMatrix,
  formatClusters,
  type ClusterMethod,
  type ClusterOptions,
  type ClassClustering,
} from './clustering.js';
export {
  createNet,
  netFromMlpClassifier,
  saveNet,
  loadNet,
  resolveNetEngine,
  type Net,
  type NetConfig,
  type HostWeights,
  type EngineRequest,
} from './net.js';
export {
  specialistFromGeneralist,
  specialistInitialWeights,
  trainSpecialistNet,
  calibrateDustbinOffset,
  SubsetTeacher,
  batchLogits,
  type TrainedSpecialistNet,
  type DustbinCalibration,
  specialistView,
  SpecialistBatchSource,
  subsetLabelMap,
  dustbinLogitOffset,
  addToOutputBias,
  trainSpecialist,
  parseSpecialistConfig,
  specialistConfigSchema,
  dustbinInitSchema,
  dustbinCorrectionSchema,
  type DustbinInit,
  type DustbinCorrection,
  type SpecialistConfig,
  type ResolvedSpecialistConfig,
  type TrainedSpecialist,
} from './specialist.js';
export {
  solveEq5,
  solveEq5Reduced,
  eq5Objective,
  expandSpecialist,
  arithmeticCombine,
  geometricCombine,
  combineWithSpecialists,
  topNClasses,
  type SpecialistTerm,
  type SolverOptions,
  type SolveResult,
  type CombineMethod,
  type CombineInput,
  type CombineOutput,
} from './combine.js';
export {
  combineOnSource,
  SpecialistEnsembleTeacher,
  type SpecialistMember,
  type EnsembleOptions,
  type CombinedOnSource,
} from './ensemble.js';
export { specialistMetrics, specialistMetricsFromPredictions, formatCoverageTable, argmaxRow, type CoverageRow, type SpecialistMetrics } from './metrics.js';
export { predictProbabilities } from './predict.js';
export { readIdxUbyte, findMnistDir } from './idx.js';
export { runSpecialistsDemo, gaussianGroupsTask, mnistPairsTask, type DemoTask, type DemoPreset, type DemoResults } from './demo.js';
export {
  specialistJobSchema,
  datasetFilesSchema,
  writeDatasetFiles,
  readDatasetFiles,
  runSpecialistJob,
  runSpecialistJobsInChildProcesses,
  loadSpecialist,
  loadSpecialistNet,
  type SpecialistJob,
  type SpecialistJobResult,
  type DatasetFiles,
} from './jobs.js';
