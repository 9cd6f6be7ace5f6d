/**
 * Feature configuration: zod schemas with Kaldi's option names in camelCase (units in the name where they
 * help: frameLengthMs, lowFreqHz). `normalizeOptionNames` also accepts torchaudio keyword names
 * (frame_length, num_mel_bins, sample_frequency) and Kaldi flags (frame-length, num-mel-bins), so a config can
 * be pasted from either.
 *
 * Defaults are Kaldi's (compute-fbank-feats / compute-mfcc-feats) except: dither 0 (reproducible features;
 * Kaldi's default is 1.0) and numMelBins 40 for fbank (Kaldi and torchaudio: 23). torchaudio differs from
 * Kaldi in energyFloor (torchaudio 1.0, Kaldi 0.0: we use 0.0) and MFCC useEnergy (torchaudio false, Kaldi true:
 * we use true).
 */
import { z } from 'zod';

export const WindowTypeSchema = z.enum(['povey', 'hamming', 'hanning', 'rectangular', 'blackman']);
export type WindowType = z.infer<typeof WindowTypeSchema>;

const frontEnd = {
  /** Sample rate of the waveform (Kaldi --sample-frequency, torchaudio sample_frequency). */
  sampleRateHz: z.number().positive().default(16000),
  frameLengthMs: z.number().positive().default(25),
  frameShiftMs: z.number().positive().default(10),
  /** Gaussian dither amplitude in waveform units (Kaldi default 1.0 on int16-scale audio; ours 0). */
  dither: z.number().nonnegative().default(0),
  /** Seed for the dither noise (a core Rng); callers can pass their own Rng per utterance instead. */
  ditherSeed: z.number().int().nonnegative().default(0),
  removeDcOffset: z.boolean().default(true),
  preemphasisCoefficient: z.number().min(0).max(1).default(0.97),
  windowType: WindowTypeSchema.default('povey'),
  blackmanCoeff: z.number().default(0.42),
  snipEdges: z.boolean().default(true),
  roundToPowerOfTwo: z.boolean().default(true),
  lowFreqHz: z.number().nonnegative().default(20),
  /** Upper edge of the mel bank; <= 0 means Nyquist + highFreqHz (Kaldi --high-freq). */
  highFreqHz: z.number().default(0),
  /** Floor on the log-energy column, as a linear energy (Kaldi --energy-floor; 0 = no floor). */
  energyFloor: z.number().nonnegative().default(0),
  /** Energy before preemphasis and windowing (Kaldi --raw-energy). */
  rawEnergy: z.boolean().default(true),
};

export const FbankConfigSchema = z
  .object({
    ...frontEnd,
    numMelBins: z.number().int().min(3).default(40),
    useLogFbank: z.boolean().default(true),
    /** Power (true) or magnitude (false) spectrum into the mel bank. */
    usePower: z.boolean().default(true),
    /** Prepend the log frame energy as column 0. */
    useEnergy: z.boolean().default(false),
  })
  .strict();
export type FbankConfig = z.infer<typeof FbankConfigSchema>;
export type FbankOptions = z.input<typeof FbankConfigSchema>;

export const MfccConfigSchema = z
  .object({
    ...frontEnd,
    numMelBins: z.number().int().min(3).default(23),
    numCeps: z.number().int().min(1).default(13),
    cepstralLifter: z.number().nonnegative().default(22),
    /** Replace C0 with the log frame energy (Kaldi default true; torchaudio's default is false). */
    useEnergy: z.boolean().default(true),
  })
  .strict();
export type MfccConfig = z.infer<typeof MfccConfigSchema>;
export type MfccOptions = z.input<typeof MfccConfigSchema>;

/** torchaudio / Kaldi names -> ours. Kaldi flags are matched after turning '-' into '_'. */
const ALIASES: Record<string, string> = {
  sample_frequency: 'sampleRateHz',
  samp_freq: 'sampleRateHz',
  frame_length: 'frameLengthMs',
  frame_shift: 'frameShiftMs',
  dither: 'dither',
  remove_dc_offset: 'removeDcOffset',
  preemphasis_coefficient: 'preemphasisCoefficient',
  preemph_coeff: 'preemphasisCoefficient',
  window_type: 'windowType',
  blackman_coeff: 'blackmanCoeff',
  snip_edges: 'snipEdges',
  round_to_power_of_two: 'roundToPowerOfTwo',
  low_freq: 'lowFreqHz',
  high_freq: 'highFreqHz',
  energy_floor: 'energyFloor',
  raw_energy: 'rawEnergy',
  num_mel_bins: 'numMelBins',
  use_log_fbank: 'useLogFbank',
  use_power: 'usePower',
  use_energy: 'useEnergy',
  num_ceps: 'numCeps',
  cepstral_lifter: 'cepstralLifter',
};

/** Rename torchaudio/Kaldi option names to ours; unknown names pass through (and the strict schema rejects them). */
export function normalizeOptionNames(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    const key = ALIASES[k.replace(/^--/, '').replace(/-/g, '_')] ?? k;
    if (key in out) throw new Error(`feature config: option ${k} given twice (as ${key})`);
    out[key] = v;
  }
  return out;
}

function parse<S extends z.ZodType>(schema: S, what: string, o: unknown): z.infer<S> {
  const r = schema.safeParse(o && typeof o === 'object' ? normalizeOptionNames(o as Record<string, unknown>) : o);
  if (!r.success) {
    const msgs = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`${what} config: ${msgs.join('; ')}`);
  }
  return r.data;
}

export function parseFbankConfig(o: unknown = {}): FbankConfig {
  return parse(FbankConfigSchema, 'fbank', o);
}
export function parseMfccConfig(o: unknown = {}): MfccConfig {
  return parse(MfccConfigSchema, 'mfcc', o);
}
