import { z } from 'zod';

const posInt = z.number().int().positive();

export const NetSchema = z.object({
  /** Hidden layer widths (ReLU). */
  hidden: z.array(posInt).min(1),
  inputDropout: z.number().min(0).lt(1).default(0),
  hiddenDropout: z.number().min(0).lt(1).default(0),
  /** Max L2 norm of each unit's incoming weight vector (the dropout paper's constraint); absent = none. */
  maxNorm: z.number().positive().optional(),
});

export const TrainSchema = z.object({
  epochs: posInt,
  batchSize: posInt,
  learningRate: z.number().positive(),
  /** Adam is robust across the many short runs; `sgd` uses momentum 0.9 (the paper's era). */
  optimizer: z.enum(['adam', 'sgd']).default('adam'),
  /** Learning rate multiplied by this after every epoch (1 = constant); short runs converge better with decay. */
  lrDecay: z.number().positive().max(1).default(1),
  /** Stop after this many epochs without a better validation error (the best epoch's weights are kept). */
  patience: posInt.optional(),
});

export const BiasSearchSchema = z.object({
  /** Candidate bias changes, searched on the validation set. */
  min: z.number(),
  max: z.number(),
  step: z.number().positive(),
});

export const PresetSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    seed: z.number().int().nonnegative(),
    data: z.object({
      /** Examples carved from the 60k training set for validation (seeded random split). */
      validationSize: posInt,
      /** Use only this many of the remaining training examples (seeded subset); absent = all. */
      trainLimit: posInt.optional(),
      /** Evaluate on only the first N test examples; absent = all 10,000 (the paper's figures are on all). */
      testLimit: posInt.optional(),
    }),
    teacher: z.object({ net: NetSchema, train: TrainSchema, jitter: z.number().int().min(0).max(4) }),
    small: z.object({ net: NetSchema, train: TrainSchema }),
    distilled: z.object({ temperature: z.number().positive(), train: TrainSchema }),
    /** Distilled nets of several widths at several temperatures; each group trains with its own settings. */
    sweep: z.array(
      z.object({
        /** Width of both hidden layers. */
        hidden: posInt,
        temperatures: z.array(z.number().positive()).min(1),
        train: TrainSchema,
      }),
    ),
    omit3: z.object({ temperature: z.number().positive(), train: TrainSchema, bias: BiasSearchSchema }),
    only78: z.object({ temperature: z.number().positive(), train: TrainSchema, bias: BiasSearchSchema }),
  })
  .strict();

export type NetConfig = z.infer<typeof NetSchema>;
export type TrainConfig = z.infer<typeof TrainSchema>;
export type MnistPreset = z.infer<typeof PresetSchema>;
export type PresetName = 'smoke' | 'quick' | 'paper';
export const PRESET_NAMES: PresetName[] = ['smoke', 'quick', 'paper'];

type PresetInput = z.input<typeof PresetSchema>;

const smoke: PresetInput = {
  name: 'smoke',
  description: 'seconds; tiny subsets and nets, for tests (numbers are meaningless)',
  seed: 1,
  data: { validationSize: 300, trainLimit: 600, testLimit: 500 },
  teacher: { net: { hidden: [64, 64], inputDropout: 0.2, hiddenDropout: 0.5, maxNorm: 3.5 }, jitter: 2, train: { epochs: 2, batchSize: 100, learningRate: 2e-3 } },
  small: { net: { hidden: [32, 32] }, train: { epochs: 2, batchSize: 100, learningRate: 2e-3 } },
  distilled: { temperature: 20, train: { epochs: 2, batchSize: 100, learningRate: 2e-3 } },
  sweep: [{ hidden: 16, temperatures: [1, 4], train: { epochs: 1, batchSize: 100, learningRate: 2e-3 } }],
  omit3: { temperature: 20, train: { epochs: 1, batchSize: 100, learningRate: 2e-3 }, bias: { min: -2, max: 6, step: 0.5 } },
  only78: { temperature: 20, train: { epochs: 2, batchSize: 50, learningRate: 2e-3 }, bias: { min: -12, max: 2, step: 0.5 } },
};

// quick: minutes on 2 cores. 10k training examples, nets narrower than the paper's, few epochs with a decaying
// learning rate. The teacher keeps jitter and max-norm but lighter dropout (0.1 input, 0.3 hidden: heavy dropout
// needs hundreds of epochs), and gets the most epochs, so teacher < distilled < small holds with a wide margin.
const quick: PresetInput = {
  name: 'quick',
  description: 'minutes on 2 cores: 10k training examples, smaller nets, few epochs',
  seed: 1,
  data: { validationSize: 5000, trainLimit: 10000 },
  teacher: {
    net: { hidden: [600, 600], inputDropout: 0.1, hiddenDropout: 0.3, maxNorm: 3.5 },
    jitter: 2,
    train: { epochs: 30, batchSize: 100, learningRate: 2e-3, lrDecay: 0.93, patience: 10 },
  },
  small: { net: { hidden: [400, 400] }, train: { epochs: 15, batchSize: 100, learningRate: 1e-3, lrDecay: 0.9, patience: 5 } },
  distilled: { temperature: 20, train: { epochs: 20, batchSize: 100, learningRate: 1e-3, lrDecay: 0.93, patience: 6 } },
  // 30-unit nets cost little per epoch but learn slowly from soft targets: they get more epochs.
  sweep: [
    { hidden: 300, temperatures: [1, 2.5, 4, 8, 20], train: { epochs: 6, batchSize: 100, learningRate: 2e-3, lrDecay: 0.8 } },
    { hidden: 30, temperatures: [1, 2.5, 4, 8, 20], train: { epochs: 14, batchSize: 100, learningRate: 3e-3, lrDecay: 0.87 } },
  ],
  omit3: { temperature: 20, train: { epochs: 10, batchSize: 100, learningRate: 1e-3, lrDecay: 0.9 }, bias: { min: -4, max: 12, step: 0.25 } },
  only78: { temperature: 20, train: { epochs: 30, batchSize: 100, learningRate: 1e-3, lrDecay: 0.93 }, bias: { min: -16, max: 2, step: 0.25 } },
};

// paper: §3 as published (784-1200-1200-10 teacher with dropout, max-norm and jitter; 784-800-800-10 students;
// 50k train after a 10k validation split). Hours on 2 cores; every step checkpoints and resumes.
const paper: PresetInput = {
  name: 'paper',
  description: 'the paper\u2019s protocol: full nets and data, long training (hours; resumable)',
  seed: 1,
  data: { validationSize: 10000 },
  teacher: {
    net: { hidden: [1200, 1200], inputDropout: 0.2, hiddenDropout: 0.5, maxNorm: 3.5 },
    jitter: 2,
    train: { epochs: 300, batchSize: 100, learningRate: 1e-3, lrDecay: 0.99, patience: 40 },
  },
  small: { net: { hidden: [800, 800] }, train: { epochs: 100, batchSize: 100, learningRate: 1e-3, lrDecay: 0.97, patience: 15 } },
  distilled: { temperature: 20, train: { epochs: 200, batchSize: 100, learningRate: 1e-3, lrDecay: 0.98, patience: 30 } },
  sweep: [800, 300, 30].map((hidden) => ({
    hidden,
    temperatures: [1, 2, 2.5, 3, 4, 6, 8, 12, 20],
    train: { epochs: 60, batchSize: 100, learningRate: 1e-3, lrDecay: 0.95, patience: 10 },
  })),
  omit3: { temperature: 20, train: { epochs: 100, batchSize: 100, learningRate: 1e-3, lrDecay: 0.97 }, bias: { min: -5, max: 15, step: 0.1 } },
  only78: { temperature: 20, train: { epochs: 200, batchSize: 100, learningRate: 1e-3, lrDecay: 0.98 }, bias: { min: -20, max: 2, step: 0.1 } },
};

const PRESETS: Record<PresetName, PresetInput> = { smoke, quick, paper };

/** A preset by name, validated (overrides are merged into the preset before validation: tests, experiments). */
export function getPreset(name: string, overrides: Partial<PresetInput> = {}): MnistPreset {
  if (!(PRESET_NAMES as string[]).includes(name))
    throw new Error(`unknown preset "${name}"; choose one of ${PRESET_NAMES.join(', ')}`);
  const r = PresetSchema.safeParse({ ...PRESETS[name as PresetName], ...overrides });
  if (!r.success) throw new Error(`preset ${name}: ${z.prettifyError(r.error)}`);
  return r.data;
}
