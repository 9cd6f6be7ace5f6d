/** Result shapes of the specialists recipe's stages (results/<stage>.json), read by the report. */
import { type DistillResult } from '@kdasr/distillation';
import { type CombineMethod, type SpecialistMetrics } from '@kdasr/specialists';


// Result shapes (results/<stage>.json).

export interface DataResult {
  task: string;
  description: string;
  numClasses: number;
  inputDim: number;
  sizes: { train: number; dev: number; test: number };
  classNames: string[];
  groupOfClass?: string[];
  /** Training examples per class. */
  trainCounts: number[];
}

export interface GeneralistResult {
  engine: 'native' | 'tfjs';
  engineReason?: string;
  devAccuracy: number;
  testAccuracy: number;
  examplesSeen: number;
  history: DistillResult['history'];
  seconds: number;
}

export interface ChosenSubset {
  subset: number[];
  names: string[];
  /** Index in config.clusterings of the clustering it came from. */
  clustering: number;
  method: string;
  /** Mean positive covariance between distinct classes of the subset (how confusable it is). */
  score: number;
  /** Share of training examples whose class is in the subset. */
  trainShare: number;
}

export interface ClustersResult {
  covarianceExamples: number;
  clusterings: { method: string; k: number; sizes: number[]; inertia: number; subsets: number[][]; used: number }[];
  chosen: ChosenSubset[];
  /** Classes covered by at least one specialist, and the largest coverage. */
  coveredClasses: number;
  maxCoverage: number;
  seconds: number;
}

export interface SpecialistRecord {
  index: number;
  dir: string;
  subset: number[];
  dustbinOffset: number;
  priorInSubset: number;
  examplesSeen: number;
  epochs: number;
  finalLoss: number;
  seconds: number;
  calibration?: unknown;
}

export interface SpecialistsResult {
  kind: 'hard' | 'soft';
  engine: string;
  processes: 'in-process' | 'child';
  specialists: SpecialistRecord[];
  totalExamplesSeen: number;
  seconds: number;
}

export interface CombineResult {
  methods: Partial<Record<CombineMethod, SpecialistMetrics & { nll: number; seconds: number }>>;
  generalistNll: number;
  eq5: { criterion: string; gradTolerance: number; maxIterations: number; meanIterations: number; maxIterations_: number; notConverged: number; meanActive: number; withActive: number };
  topN: number;
  specialistRows: number;
  seconds: number;
}

export interface SingleModelResult {
  /** Metrics against the generalist: combined* fields are this model's. */
  metrics: SpecialistMetrics;
  epochs: number;
  examplesSeen: number;
  seconds: number;
  devAccuracy?: number;
  /** Test accuracy after each epoch (baseline only), so other budgets can be read off. */
  testAccuracyByEpoch?: number[];
  extraEpochsExact?: number;
  teacher?: { method: string; temperature: number; cached: boolean; rowsComputed: number; /** Rows where the Eq. 5 solver hit maxIterations (absent in older results). */ notConverged?: number };
  enabled: boolean;
}

export interface SoftResult {
  enabled: boolean;
  soft?: SpecialistsResult;
  /** Eq. 5 with the soft-target specialists (their dustbin offsets per config.softSpecialists.correction). */
  softMetrics?: SpecialistMetrics & { nll: number };
  /** Eq. 5 with the hard-target specialists, dustbin offset re-fitted on dev (isolates the calibration's effect). */
  hardCalibratedMetrics?: SpecialistMetrics & { nll: number };
  hardCalibrationOffsets?: number[];
  /** Test examples where the Eq. 5 solver hit maxIterations, per evaluation (absent in older results). */
  eq5NotConverged?: { soft: number; hardCalibrated: number };
  seconds: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Stages.
