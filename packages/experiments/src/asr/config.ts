/**
 * The speech recipe's declarative config (zod) and its presets. Everything a stage does is read from here, and
 * each stage hashes only the slice it depends on, so editing e.g. the decode beam reruns decoding alone.
 */
import { z } from 'zod';
import type { FrontendConfigInput } from '@kdasr/acoustic-models';

const posInt = z.number().int().positive();

export const syntheticCorpusSchema = z.strictObject({
  kind: z.literal('synthetic').optional(),
  /** espeak-ng voices (speakers) and utterances per voice (see @kdasr/corpus synthCorpus). */
  speakers: posInt,
  utterancesPerSpeaker: posInt,
  devSpeakers: posInt,
  testSpeakers: posInt,
  speakersPerShard: posInt.default(4),
  /** Only prompts with at most this many words. */
  maxWords: posInt.optional(),
  /** Share of clean utterances (the rest get white/pink/babble noise at 0-20 dB SNR; 35% are reverberated). */
  cleanFraction: z.number().min(0).max(1).default(0.15),
  /** Synthesis worker processes. */
  jobs: posInt.default(2),
});

/**
 * Real recorded speech: the Free Spoken Digit Dataset as connected-digit utterances (@kdasr/corpus importFsdd;
 * FSDD's official split: takes 0-4 are test). Whole-word models: each digit is one "phone" of
 * labels.statesPerPhone states, and the frame targets come from the exact word boundaries of the joined takes.
 */
export const fsddCorpusSchema = z.strictObject({
  kind: z.literal('fsdd'),
  /** FSDD root holding recordings/ (default ../shared/data/fsdd beside the repository). */
  dir: z.string().optional(),
  /** Share of the training utterances held out as dev (early stopping), drawn with the recipe's seed. */
  devFraction: z.number().gt(0).lt(1).default(0.1),
  /** Digits per connected utterance (inclusive range). */
  digitsPerUtterance: z.tuple([posInt, posInt]).default([3, 7]),
});

export const corpusSchema = z.union([fsddCorpusSchema, syntheticCorpusSchema]);
export type SyntheticCorpusConfig = z.output<typeof syntheticCorpusSchema>;
export type FsddCorpusConfig = z.output<typeof fsddCorpusSchema>;

export const labelsSchema = z.strictObject({
  statesPerPhone: posInt.default(3),
  statesPerSilence: posInt.default(3),
  /** Context-dependent tied states: leaves of a phonetic decision tree (null = monophone states). */
  treeLeaves: posInt.nullable().default(null),
  treeMinCount: posInt.default(20),
  /**
   * Kaldi's align → retrain loop inside the labels stage: `passes` times, train a model (the model section's shape,
   * `epochs` epochs) on the current targets and replace them by its forced alignment of every transcript. For
   * corpora with word spans only (FSDD); monophone / whole-word targets only (not with treeLeaves).
   */
  realign: z.strictObject({ passes: posInt, epochs: posInt, acousticScale: z.number().positive().default(1) }).optional(),
});

export const modelSchema = z.strictObject({
  hiddenLayers: z.number().int().min(0),
  hiddenUnits: posInt,
  dropout: z.number().min(0).lt(1).default(0.1),
  /** Frames of context each side (the paper: 20 left, 5 right = 26-frame windows). */
  contextLeft: z.number().int().min(0),
  contextRight: z.number().int().min(0),
  epochs: posInt,
  batchSize: posInt.default(256),
  learningRate: z.number().positive().default(1e-3),
  /** Early stopping on dev frame accuracy (0 = off). */
  patience: z.number().int().min(0).default(3),
});

export const asrRecipeSchema = z.strictObject({
  name: z.string(),
  description: z.string(),
  seed: z.number().int().min(0).default(1),
  engine: z.enum(['native', 'tfjs', 'auto']).default('auto'),
  corpus: corpusSchema,
  /** 40 log-mel fbank, 25 ms / 10 ms (Kaldi defaults) unless overridden. */
  features: z.strictObject({ numMelBins: posInt.default(40) }).default({ numMelBins: 40 }),
  labels: labelsSchema.default({ statesPerPhone: 3, statesPerSilence: 3, treeLeaves: null, treeMinCount: 20 }),
  model: modelSchema,
  /** Table 1's ensemble: members differing only in the init (and shuffle) seed. */
  ensemble: z.strictObject({ members: z.number().int().min(2) }),
  distillation: z.strictObject({
    /** Table 1's temperatures; every distilled model keeps the hard term at this weight. */
    temperatures: z.array(z.number().positive()).min(1),
    hardWeight: z.number().min(0).default(0.5),
    /** Student epochs (default: the model's). */
    epochs: posInt.optional(),
  }),
  /** Ablations, each a single student against the ensemble at `temperature`. */
  ablations: z.strictObject({
    temperature: z.number().positive(),
    /** Classes kept per frame for the stored top-k teacher logits ablation. */
    topK: posInt,
    enabled: z.boolean().default(true),
  }),
  /** Table 5: a fraction of the training frames, hard targets vs soft targets from the full-data ensemble. */
  smallData: z.strictObject({
    fraction: z.number().gt(0).lt(1),
    /** Epochs without early stopping (the paper's point: hard targets overfit, soft ones do not). */
    epochs: posInt,
    temperature: z.number().positive(),
    hardWeight: z.number().min(0).default(0.5),
    enabled: z.boolean().default(true),
  }),
  decode: z.strictObject({
    /** Decode at most this many test utterances (all when absent). */
    maxUtterances: posInt.optional(),
    beam: z.number().positive().default(13),
    acousticScale: z.number().positive().default(0.1),
    lmWeight: z.number().min(0).default(1),
    wordInsertionPenalty: z.number().default(0),
    priorScale: z.number().min(0).default(1),
    silenceProb: z.number().min(0).max(1).default(0.5),
    /**
     * Per decoded system, pick the acoustic scale with the lowest WER on the dev utterances (at most
     * maxUtterances of them) and decode test with it (Kaldi's score.sh sweeps LMWT, but on test). Absent:
     * acousticScale for every system.
     */
    tune: z.strictObject({ acousticScales: z.array(z.number().positive()).min(1), maxUtterances: posInt.optional() }).optional(),
  }),
});

export type AsrRecipeConfig = z.output<typeof asrRecipeSchema>;
export type AsrRecipeInput = z.input<typeof asrRecipeSchema>;
export const ASR_PRESET_NAMES = ['smoke', 'quick', 'medium', 'paper', 'fsdd'] as const;
export type AsrPresetName = (typeof ASR_PRESET_NAMES)[number];

// Kaldi's defaults (see WORD_DECODE_DEFAULTS for why not acoustic scale 1).
const commonDecode = { beam: 13, acousticScale: 0.1, lmWeight: 1, wordInsertionPenalty: 0, priorScale: 1, silenceProb: 0.5, tune: { acousticScales: [0.05, 0.1, 0.2, 0.5, 1] } };

export const ASR_PRESETS: Record<AsrPresetName, AsrRecipeInput> = {
  // Seconds-to-a-minute, for tests: a handful of short utterances, one tiny net (numbers are meaningless).
  smoke: {
    name: 'smoke',
    description: 'tests only: 8 voices x 3 short utterances, 1x32 nets, 2 epochs (numbers meaningless)',
    corpus: { speakers: 8, utterancesPerSpeaker: 3, maxWords: 6, devSpeakers: 2, testSpeakers: 2, speakersPerShard: 4 },
    labels: { treeLeaves: null },
    model: { hiddenLayers: 1, hiddenUnits: 32, dropout: 0, contextLeft: 2, contextRight: 2, epochs: 2, patience: 0, learningRate: 3e-3 },
    ensemble: { members: 2 },
    distillation: { temperatures: [1, 2] },
    ablations: { temperature: 2, topK: 5 },
    smallData: { fraction: 0.3, epochs: 2, temperature: 2 },
    decode: { ...commonDecode, maxUtterances: 3, tune: { acousticScales: [0.1, 1], maxUtterances: 2 } },
  },
  // Under 30 minutes on 2 cores from a clean clone: ~0.3 h of speech, monophone states, 2x256 nets, 4 members.
  quick: {
    name: 'quick',
    description: '~0.35 h of synthetic speech (30 voices), 216 monophone states, 4 members of 2x384, 11-frame context',
    corpus: { speakers: 30, utterancesPerSpeaker: 14, devSpeakers: 3, testSpeakers: 4 },
    labels: { treeLeaves: null },
    model: { hiddenLayers: 2, hiddenUnits: 384, dropout: 0.1, contextLeft: 5, contextRight: 5, epochs: 8, patience: 3 },
    ensemble: { members: 4 },
    distillation: { temperatures: [1, 2, 5, 10] },
    ablations: { temperature: 2, topK: 10 },
    smallData: { fraction: 0.03, epochs: 25, temperature: 2 },
    decode: { ...commonDecode, maxUtterances: 40, tune: { acousticScales: [0.05, 0.1, 0.2, 0.5, 1], maxUtterances: 40 } },
  },
  // The numbers of record on 2 cores (about an hour): ~1 h of speech, ~600 tied states, 10 members of 3x512.
  medium: {
    name: 'medium',
    description: '~1 h of synthetic speech (60 voices), ~600 tied context-dependent states, 10 members of 3x512, 11-frame context',
    corpus: { speakers: 60, utterancesPerSpeaker: 21, devSpeakers: 6, testSpeakers: 6 },
    labels: { treeLeaves: 600 },
    model: { hiddenLayers: 3, hiddenUnits: 512, dropout: 0.1, contextLeft: 5, contextRight: 5, epochs: 10, patience: 3 },
    ensemble: { members: 10 },
    distillation: { temperatures: [1, 2, 5, 10] },
    ablations: { temperature: 2, topK: 20 },
    smallData: { fraction: 0.03, epochs: 30, temperature: 2 },
    decode: { ...commonDecode },
  },
  // Real recorded speech (FSDD, 8 kHz, 6 speakers): whole-word digit models, the official test takes; ~30 min here.
  fsdd: {
    name: 'fsdd',
    description: 'FSDD real speech: connected digits from 3,000 recorded takes (6 speakers, 8 kHz), 8-state whole-word models (83 states) realigned twice, 6 members of 3x256, 11-frame context',
    engine: 'auto',
    corpus: { kind: 'fsdd' },
    labels: { statesPerPhone: 8, statesPerSilence: 3, treeLeaves: null, realign: { passes: 2, epochs: 5 } },
    model: { hiddenLayers: 3, hiddenUnits: 256, dropout: 0.1, contextLeft: 5, contextRight: 5, epochs: 10, patience: 3 },
    ensemble: { members: 6 },
    distillation: { temperatures: [1, 2, 5, 10] },
    ablations: { temperature: 2, topK: 10 },
    smallData: { fraction: 0.03, epochs: 30, temperature: 2 },
    // Whole-word digits with a flat LM: the dev optimum sits below 0.05, so the sweep reaches lower.
    decode: { ...commonDecode, tune: { acousticScales: [0.02, 0.05, 0.1, 0.2, 0.5, 1] } },
  },
  // The paper's shapes (10 members of 8x2560, 26-frame windows, up to 14k tied states): a GPU-class machine.
  paper: {
    name: 'paper',
    description: 'the paper\u2019s shapes: ~10 h of synthetic speech, up to 14,000 tied states, 10 members of 8x2560, 26-frame windows (GPU-class)',
    engine: 'auto',
    corpus: { speakers: 200, utterancesPerSpeaker: 62, devSpeakers: 16, testSpeakers: 16, speakersPerShard: 5 },
    labels: { treeLeaves: 14000 },
    model: { hiddenLayers: 8, hiddenUnits: 2560, dropout: 0.1, contextLeft: 20, contextRight: 5, epochs: 20, patience: 3 },
    ensemble: { members: 10 },
    distillation: { temperatures: [1, 2, 5, 10] },
    ablations: { temperature: 2, topK: 50 },
    smallData: { fraction: 0.03, epochs: 40, temperature: 2 },
    decode: { ...commonDecode },
  },
};

/** A preset by name, with optional overrides (a partial config merged one level deep), validated. */
export function asrPreset(name: string, overrides: Partial<Record<keyof AsrRecipeInput, unknown>> = {}): AsrRecipeConfig {
  if (!(ASR_PRESET_NAMES as readonly string[]).includes(name)) throw new Error(`unknown asr preset "${name}"; choose one of ${ASR_PRESET_NAMES.join(', ')}`);
  const base = ASR_PRESETS[name as AsrPresetName] as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(overrides)) {
    const b = base[k] as Record<string, unknown> | undefined;
    const o = v as Record<string, unknown>;
    // Another corpus kind replaces the preset's corpus instead of merging into it (their fields differ).
    const sameKind = k !== 'corpus' || (o?.kind ?? 'synthetic') === (b?.kind ?? 'synthetic');
    merged[k] = v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && sameKind ? { ...b, ...o } : v;
  }
  return parseAsrConfig(merged, `preset ${name}`);
}

export function parseAsrConfig(input: unknown, where = 'asr recipe config'): AsrRecipeConfig {
  const r = asrRecipeSchema.safeParse(input);
  if (!r.success) throw new Error(`${where}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}; see ASR_PRESETS in packages/experiments/src/asr/config.ts`);
  if (r.data.labels.realign && r.data.labels.treeLeaves !== null)
    throw new Error(`${where}: labels.realign works on monophone / whole-word targets; set labels.treeLeaves to null or drop labels.realign`);
  return r.data;
}

/** The acoustic models' input pipeline: per-utterance mean normalisation, then the model's context window. */
export function frontendOf(c: AsrRecipeConfig): FrontendConfigInput {
  return { splice: { left: c.model.contextLeft, right: c.model.contextRight }, cmvn: { mode: 'utterance', normVars: false } };
}
