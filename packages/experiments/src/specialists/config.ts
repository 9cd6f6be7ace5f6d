/**
 * The specialists recipe's declarative config (zod) and its presets, one config per task. Each stage hashes only
 * the slice it reads, so editing e.g. the distil-back temperature reruns that stage (and the report) alone.
 */
import { z } from 'zod';

const posInt = z.number().int().positive();
const rate = z.number().min(0).lt(1);

export const SPECIALISTS_TASK_NAMES = ['speech', 'mnist-pairs', 'synthetic'] as const;
export type SpecialistsTaskName = (typeof SPECIALISTS_TASK_NAMES)[number];
/** What `--task all` runs (synthetic is for tests and must be asked for by name). */
export const ALL_TASKS: SpecialistsTaskName[] = ['speech', 'mnist-pairs'];

export const SPECIALISTS_PRESET_NAMES = ['smoke', 'quick', 'medium'] as const;
export type SpecialistsPresetName = (typeof SPECIALISTS_PRESET_NAMES)[number];

const trainingSchema = z.strictObject({
  epochs: posInt,
  batchSize: posInt,
  /** Adam's learning rate. */
  learningRate: z.number().positive(),
});

export const dataSchema = z.discriminatedUnion('kind', [
  /** Two MNIST digits side by side, 100 classes; dev pairs from held-out training images. */
  z.strictObject({ kind: z.literal('mnist-pairs'), trainPairs: posInt, devPairs: posInt, testPairs: posInt, devImages: posInt.default(6000) }),
  /** Frame classification of the ASR recipe's synthesised corpus (its data stages, into its directory). */
  z.strictObject({
    kind: z.literal('speech'),
    asrPreset: z.enum(['smoke', 'quick', 'medium']),
    /** The ASR recipe directory holding (or to hold) the corpus, features and labels; default exp/asr-<asrPreset>. */
    asrExpDir: z.string().optional(),
  }),
  /** Gaussian groups of confusable classes (tests). */
  z.strictObject({
    kind: z.literal('synthetic'),
    groups: posInt,
    perGroup: posInt,
    dim: posInt,
    trainPerClass: posInt,
    devPerClass: posInt,
    testPerClass: posInt,
  }),
]);

export const clusteringSchema = z
  .strictObject({
    method: z.enum(['covariance-kmeans', 'confusion-kmeans', 'spectral']),
    /** Number of clusters, or targetSize (k = round(C / targetSize)). */
    k: posInt.optional(),
    targetSize: posInt.optional(),
    /** Specialists taken from this clustering: its most confusable clusters first. */
    maxSpecialists: z.number().int().min(0),
    /** Clusters outside [minSize, maxSize] get no specialist (k-means can leave one huge cluster). */
    minSize: posInt.default(2),
    maxSize: posInt.optional(),
  })
  .refine((c) => (c.k === undefined) !== (c.targetSize === undefined), { message: 'give exactly one of k and targetSize' });

export const specialistsRecipeSchema = z.strictObject({
  /** Preset name (the output directory's suffix). */
  name: z.string(),
  description: z.string(),
  task: z.enum(SPECIALISTS_TASK_NAMES),
  seed: z.number().int().min(0).default(1),
  /** Training engine: native (C + OpenBLAS; an error when it cannot load), tfjs, or auto. */
  engine: z.enum(['native', 'tfjs', 'auto']).default('auto'),
  data: dataSchema,
  generalist: trainingSchema.extend({ hiddenSizes: z.array(posInt), dropout: rate.default(0) }),
  clusterings: z.array(clusteringSchema).min(1),
  /** The paper's specialists (§5.3): hard labels, half of each batch from the subset, dustbin logit raised after. */
  specialists: trainingSchema.extend({
    inSubsetFraction: z.number().gt(0).lt(1).default(0.5),
    dustbinInit: z.enum(['logsumexp-linear', 'mean', 'zeros']).default('logsumexp-linear'),
    correction: z.enum(['prior-ratio', 'paper', 'none', 'calibrated']).default('prior-ratio'),
    /** 'child': each specialist in its own Node process (@kdasr/specialists jobs), `concurrency` at a time. */
    processes: z.enum(['in-process', 'child']).default('in-process'),
    concurrency: posInt.default(1),
  }),
  /** Inference (§5.4). */
  combine: z
    .strictObject({
      /** The generalist's top-n classes activate the specialists (the paper: 1). */
      topN: posInt.default(1),
      /** Eq. 5 solver: stop when max_j |∂/∂z_j| < gradTolerance (else the stall criterion, else maxIterations). */
      gradTolerance: z.number().positive().default(1e-9),
      maxIterations: posInt.default(2000),
    })
    .default({ topN: 1, gradTolerance: 1e-9, maxIterations: 2000 }),
  /** Compute-matched baseline: the generalist trained on for as many example passes as all specialists used. */
  baseline: z.strictObject({ enabled: z.boolean().default(true) }).default({ enabled: true }),
  /** Beyond the paper: the generalist + specialists system distilled back into one generalist-shaped model. */
  distilBack: trainingSchema.extend({
    enabled: z.boolean().default(true),
    temperature: z.number().positive().default(2),
    softWeight: z.number().min(0).default(1),
    hardWeight: z.number().min(0).default(0.5),
    /** Start from the generalist's weights (default) or from a fresh init. */
    init: z.enum(['generalist', 'random']).default('generalist'),
    /** Which combination is the teacher. */
    method: z.enum(['eq5', 'arithmetic', 'geometric']).default('eq5'),
    /** The teacher keeps the combined distributions of the training set after the first epoch when they fit in this. */
    cacheMiB: z.number().min(0).default(1024),
  }),
  /** Beyond the paper (§6.1): specialists also trained on the generalist's soft targets (collapsed onto subset + dustbin). */
  softSpecialists: z
    .strictObject({
      enabled: z.boolean().default(true),
      temperature: z.number().positive().default(2),
      softWeight: z.number().min(0).default(1),
      hardWeight: z.number().min(0).default(0.5),
      /** Dustbin offset; the formula assumes hard labels only, so the default fits it on the dev set. */
      correction: z.enum(['prior-ratio', 'paper', 'none', 'calibrated']).default('calibrated'),
    })
    .default({ enabled: true, temperature: 2, softWeight: 1, hardWeight: 0.5, correction: 'calibrated' }),
  /** Clusters listed in Table 2. */
  table2Rows: posInt.default(8),
});

export type SpecialistsRecipeConfig = z.output<typeof specialistsRecipeSchema>;
export type SpecialistsRecipeInput = z.input<typeof specialistsRecipeSchema>;

type PresetTable = Record<SpecialistsPresetName, Record<SpecialistsTaskName, SpecialistsRecipeInput>>;

export const SPECIALISTS_PRESETS: PresetTable = {
  // Seconds per task, for tests: numbers are meaningless.
  smoke: {
    synthetic: {
      name: 'smoke',
      description: 'tests only: 24 Gaussian classes in 6 confusable groups, 1x24 nets, 2 epochs',
      task: 'synthetic',
      data: { kind: 'synthetic', groups: 6, perGroup: 4, dim: 12, trainPerClass: 60, devPerClass: 20, testPerClass: 30 },
      generalist: { hiddenSizes: [24], epochs: 2, batchSize: 64, learningRate: 0.01 },
      clusterings: [
        { method: 'covariance-kmeans', k: 6, maxSpecialists: 3 },
        { method: 'spectral', k: 3, maxSpecialists: 1 },
      ],
      specialists: { epochs: 2, batchSize: 64, learningRate: 0.01 },
      distilBack: { epochs: 1, batchSize: 64, learningRate: 0.005 },
    },
    'mnist-pairs': {
      name: 'smoke',
      description: 'tests only: 3,000 MNIST pairs, 1x64 nets, 2 epochs',
      task: 'mnist-pairs',
      data: { kind: 'mnist-pairs', trainPairs: 3000, devPairs: 500, testPairs: 500 },
      generalist: { hiddenSizes: [64], epochs: 2, batchSize: 128, learningRate: 0.003 },
      clusterings: [{ method: 'covariance-kmeans', k: 10, maxSpecialists: 3 }],
      specialists: { epochs: 2, batchSize: 128, learningRate: 0.003 },
      distilBack: { epochs: 1, batchSize: 128, learningRate: 0.002 },
    },
    speech: {
      name: 'smoke',
      description: 'tests only: the ASR smoke corpus, 1x32 nets',
      task: 'speech',
      data: { kind: 'speech', asrPreset: 'smoke' },
      generalist: { hiddenSizes: [32], epochs: 2, batchSize: 128, learningRate: 0.003 },
      clusterings: [{ method: 'covariance-kmeans', targetSize: 6, maxSpecialists: 3 }],
      specialists: { epochs: 2, batchSize: 128, learningRate: 0.003 },
      distilBack: { epochs: 1, batchSize: 128, learningRate: 0.002 },
    },
  },
  // Minutes per task on 2 cores (the speech task's corpus synthesis, ~5 min, comes on top unless already there).
  quick: {
    synthetic: {
      name: 'quick',
      description: '80 Gaussian classes in 16 groups of 5, 1x64 nets',
      task: 'synthetic',
      data: { kind: 'synthetic', groups: 16, perGroup: 5, dim: 16, trainPerClass: 300, devPerClass: 50, testPerClass: 100 },
      generalist: { hiddenSizes: [64], epochs: 4, batchSize: 128, learningRate: 0.005 },
      clusterings: [
        { method: 'covariance-kmeans', k: 16, maxSpecialists: 12 },
        { method: 'spectral', k: 6, maxSpecialists: 3 },
      ],
      specialists: { epochs: 4, batchSize: 128, learningRate: 0.003 },
      distilBack: { epochs: 2, batchSize: 128, learningRate: 0.002 },
    },
    'mnist-pairs': {
      name: 'quick',
      description: 'MNIST pairs (100 classes): 100,000 train / 5,000 dev / 10,000 test pairs, 392-256-100 nets',
      task: 'mnist-pairs',
      data: { kind: 'mnist-pairs', trainPairs: 100000, devPairs: 5000, testPairs: 10000 },
      generalist: { hiddenSizes: [256], epochs: 6, batchSize: 128, learningRate: 0.002 },
      clusterings: [
        { method: 'covariance-kmeans', k: 10, maxSpecialists: 10, maxSize: 30 },
        { method: 'confusion-kmeans', k: 12, maxSpecialists: 4, maxSize: 30 },
        { method: 'spectral', k: 8, maxSpecialists: 3, maxSize: 30 },
      ],
      specialists: { epochs: 8, batchSize: 128, learningRate: 0.0005 },
      distilBack: { epochs: 3, batchSize: 128, learningRate: 0.0005 },
    },
    speech: {
      name: 'quick',
      description: 'frame classification of the ASR quick corpus (~0.35 h synthetic speech, its HMM-state targets), 440-2x384 nets',
      task: 'speech',
      data: { kind: 'speech', asrPreset: 'quick' },
      generalist: { hiddenSizes: [384, 384], dropout: 0.1, epochs: 10, batchSize: 256, learningRate: 0.001 },
      clusterings: [
        { method: 'covariance-kmeans', targetSize: 12, maxSpecialists: 12, maxSize: 40 },
        { method: 'confusion-kmeans', targetSize: 18, maxSpecialists: 5, maxSize: 40 },
        { method: 'spectral', targetSize: 24, maxSpecialists: 3, maxSize: 40 },
      ],
      specialists: { epochs: 4, batchSize: 256, learningRate: 0.0005 },
      distilBack: { epochs: 3, batchSize: 256, learningRate: 0.0005 },
    },
  },
  // The numbers of record (tens of minutes to about an hour per task on 2 cores, native engine).
  medium: {
    synthetic: {
      name: 'medium',
      description: '200 Gaussian classes in 40 groups of 5, 1x128 nets',
      task: 'synthetic',
      data: { kind: 'synthetic', groups: 40, perGroup: 5, dim: 24, trainPerClass: 400, devPerClass: 60, testPerClass: 150 },
      generalist: { hiddenSizes: [128], epochs: 6, batchSize: 128, learningRate: 0.003 },
      clusterings: [
        { method: 'covariance-kmeans', k: 40, maxSpecialists: 30 },
        { method: 'spectral', k: 12, maxSpecialists: 6 },
      ],
      specialists: { epochs: 5, batchSize: 128, learningRate: 0.002 },
      distilBack: { epochs: 3, batchSize: 128, learningRate: 0.001 },
    },
    'mnist-pairs': {
      name: 'medium',
      description: 'MNIST pairs (100 classes): 300,000 train / 10,000 dev / 20,000 test pairs, 392-512-512-100 nets',
      task: 'mnist-pairs',
      data: { kind: 'mnist-pairs', trainPairs: 300000, devPairs: 10000, testPairs: 20000 },
      generalist: { hiddenSizes: [512, 512], dropout: 0.1, epochs: 10, batchSize: 128, learningRate: 0.001 },
      clusterings: [
        { method: 'covariance-kmeans', k: 10, maxSpecialists: 10, maxSize: 30 },
        { method: 'confusion-kmeans', k: 12, maxSpecialists: 6, maxSize: 30 },
        { method: 'spectral', k: 8, maxSpecialists: 4, maxSize: 30 },
      ],
      specialists: { epochs: 10, batchSize: 128, learningRate: 0.0003 },
      distilBack: { epochs: 4, batchSize: 128, learningRate: 0.0003 },
    },
    speech: {
      name: 'medium',
      description: 'frame classification of the ASR medium corpus (~1 h synthetic speech, ~600 tied context-dependent states), 440-3x512 nets',
      task: 'speech',
      data: { kind: 'speech', asrPreset: 'medium' },
      generalist: { hiddenSizes: [512, 512, 512], dropout: 0.1, epochs: 12, batchSize: 256, learningRate: 0.001 },
      clusterings: [
        { method: 'covariance-kmeans', targetSize: 20, maxSpecialists: 30, maxSize: 60 },
        { method: 'confusion-kmeans', targetSize: 30, maxSpecialists: 10, maxSize: 60 },
        { method: 'spectral', targetSize: 40, maxSpecialists: 6, maxSize: 60 },
      ],
      specialists: { epochs: 4, batchSize: 256, learningRate: 0.0005 },
      distilBack: { epochs: 3, batchSize: 256, learningRate: 0.0005 },
    },
  },
};

export function parseSpecialistsConfig(input: unknown, where = 'specialists recipe config'): SpecialistsRecipeConfig {
  const r = specialistsRecipeSchema.safeParse(input);
  if (!r.success)
    throw new Error(
      `${where}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}; see SPECIALISTS_PRESETS in packages/experiments/src/specialists/config.ts`,
    );
  if (r.data.data.kind !== r.data.task) throw new Error(`${where}: task ${r.data.task} with data of kind ${r.data.data.kind}`);
  return r.data;
}

/** The validated config of a preset for a task. */
export function specialistsPreset(preset: string, task: string): SpecialistsRecipeConfig {
  if (!(SPECIALISTS_PRESET_NAMES as readonly string[]).includes(preset))
    throw new Error(`unknown specialists preset "${preset}"; choose one of ${SPECIALISTS_PRESET_NAMES.join(', ')}`);
  if (!(SPECIALISTS_TASK_NAMES as readonly string[]).includes(task))
    throw new Error(`unknown specialists task "${task}"; choose one of ${SPECIALISTS_TASK_NAMES.join(', ')}`);
  return parseSpecialistsConfig(SPECIALISTS_PRESETS[preset as SpecialistsPresetName][task as SpecialistsTaskName], `preset ${preset}, task ${task}`);
}
