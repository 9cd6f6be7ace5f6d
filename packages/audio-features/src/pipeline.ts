/**
 * WAV file -> feature matrix in one call, driven by a serialisable config (what the CLI's --config holds
 * and what an archive records).
 */
import { z } from 'zod';
import { Rng } from '@kdasr/core';
import { Fbank, Mfcc, type FeatureMatrix } from './fbank.js';
import { normalizeOptionNames } from './config.js';
import { addDeltas } from './postprocess.js';
import { readWav } from './wav.js';

export const FeaturePipelineConfigSchema = z
  .object({
    kind: z.enum(['fbank', 'mfcc']).default('fbank'),
    /** Options for the chosen kind (our names, torchaudio's or Kaldi's); sampleRateHz is taken from the audio. */
    options: z.record(z.string(), z.unknown()).default({}),
    /**
     * Multiply [-1, 1] samples by this before the front end. 32768 reproduces Kaldi's numbers on 16-bit PCM
     * (Kaldi reads integers); 1 reproduces torchaudio.compliance.kaldi on torchaudio.load output.
     */
    waveformScale: z.number().positive().default(32768),
    /** Resample every file to this rate first (windowed sinc); absent: features at each file's own rate. */
    targetSampleRateHz: z.number().int().positive().optional(),
    channel: z.union([z.number().int().nonnegative(), z.literal('mix')]).default('mix'),
    /** Append Kaldi deltas (order 2, window 2 = add-deltas defaults). */
    deltas: z.object({ order: z.number().int().min(1).default(2), window: z.number().int().min(1).default(2) }).nullable().default(null),
  })
  .strict();
export type FeaturePipelineConfig = z.infer<typeof FeaturePipelineConfigSchema>;

/**
 * Parse a pipeline config. A bare option object (e.g. {"num_mel_bins": 80}) is taken as fbank options, so
 * a torchaudio/Kaldi option dump can be used as --config directly.
 */
export function parsePipelineConfig(o: unknown = {}): FeaturePipelineConfig {
  const obj = (o && typeof o === 'object' ? o : {}) as Record<string, unknown>;
  const pipelineKeys = Object.keys(FeaturePipelineConfigSchema.shape);
  const isPipeline = Object.keys(obj).every((k) => pipelineKeys.includes(k));
  const r = FeaturePipelineConfigSchema.safeParse(isPipeline ? obj : { kind: 'fbank', options: obj });
  if (!r.success) throw new Error(`feature config: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  const { sampleRateHz } = normalizeOptionNames(r.data.options);
  if (sampleRateHz !== undefined)
    throw new Error('feature config: options.sampleRateHz is taken from the audio; use targetSampleRateHz to resample');
  // Validate the options now rather than on the first file.
  makeComputer(r.data, 16000);
  return r.data;
}

type Computer = Fbank | Mfcc;
function makeComputer(c: FeaturePipelineConfig, rate: number): Computer {
  const opts = { ...normalizeOptionNames(c.options), sampleRateHz: rate };
  return c.kind === 'mfcc' ? new Mfcc(opts) : new Fbank(opts);
}

export interface ExtractResult {
  features: FeatureMatrix;
  durationSec: number;
  sampleRateHz: number;
}

/** Holds one computer per sample rate, so a corpus reuses precomputed windows, mel banks and FFT plans. */
export class FeatureExtractor {
  readonly config: FeaturePipelineConfig;
  private computers = new Map<number, Computer>();

  constructor(config: unknown = {}) {
    this.config = parsePipelineConfig(config);
  }

  computer(rate: number): Computer {
    let c = this.computers.get(rate);
    if (!c) this.computers.set(rate, (c = makeComputer(this.config, rate)));
    return c;
  }

  /** Features from mono samples in [-1, 1] at `sampleRateHz`. `rng` drives dither (when enabled). */
  fromSamples(samples: Float32Array, sampleRateHz: number, rng?: Rng): FeatureMatrix {
    const scale = this.config.waveformScale;
    const x = scale === 1 ? samples : samples.map((v) => v * scale);
    let m = this.computer(sampleRateHz).compute(x, { rng });
    if (this.config.deltas) m = addDeltas(m, this.config.deltas);
    return m;
  }

  fromFile(path: string, opts: { rng?: Rng } = {}): ExtractResult {
    const a = readWav(path, { channel: this.config.channel, targetSampleRateHz: this.config.targetSampleRateHz });
    const features = this.fromSamples(a.samples, a.sampleRateHz, opts.rng);
    if (features.numFrames === 0)
      throw new Error(`${path}: ${a.durationSec.toFixed(3)} s of audio is shorter than one frame; drop it or use snipEdges=false`);
    return { features, durationSec: a.durationSec, sampleRateHz: a.sampleRateHz };
  }
}
