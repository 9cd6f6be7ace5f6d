/**
 * The one place that maps seconds <-> samples <-> frame indices. Every package that frames audio (fbank,
 * alignments, decoders, corpus segmenting) goes through here, so a frame index means the same thing
 * everywhere. Framing follows Kaldi's feature-window.cc (NumFrames, FirstSampleOfFrame) exactly,
 * including its integer truncations, because features and alignments from Kaldi/torchaudio must line up.
 */

export interface FrameOptions {
  /** Window length in ms (Kaldi --frame-length, torchaudio frame_length). */
  frameLengthMs: number;
  /** Window shift in ms (Kaldi --frame-shift, torchaudio frame_shift). */
  frameShiftMs: number;
  sampleRateHz: number;
  /**
   * Kaldi --snip-edges: true keeps only frames that fit entirely in the signal; false centres frame t at
   * t*shift + shift/2 and reflects the signal at the edges, giving round(numSamples / shift) frames.
   */
  snipEdges: boolean;
}

function check(opts: FrameOptions): void {
  if (!(opts.sampleRateHz > 0)) throw new Error(`frames: sampleRateHz must be > 0, got ${opts.sampleRateHz}`);
  if (!(opts.frameShiftMs > 0)) throw new Error(`frames: frameShiftMs must be > 0, got ${opts.frameShiftMs}`);
  if (!(opts.frameLengthMs > 0)) throw new Error(`frames: frameLengthMs must be > 0, got ${opts.frameLengthMs}`);
}

/** Window shift in samples, truncated as Kaldi's FrameExtractionOptions::WindowShift does. */
export function windowShiftSamples(opts: Pick<FrameOptions, 'frameShiftMs' | 'sampleRateHz'>): number {
  // Same operation order as Kaldi (samp_freq * 0.001 * ms) so truncation agrees bit for bit.
  const n = Math.trunc(opts.sampleRateHz * 0.001 * opts.frameShiftMs);
  if (n < 1) throw new Error(`frames: frame shift ${opts.frameShiftMs} ms at ${opts.sampleRateHz} Hz is under one sample`);
  return n;
}

/** Window length in samples, truncated as Kaldi's FrameExtractionOptions::WindowSize does. */
export function windowLengthSamples(opts: Pick<FrameOptions, 'frameLengthMs' | 'sampleRateHz'>): number {
  const n = Math.trunc(opts.sampleRateHz * 0.001 * opts.frameLengthMs);
  if (n < 1) throw new Error(`frames: frame length ${opts.frameLengthMs} ms at ${opts.sampleRateHz} Hz is under one sample`);
  return n;
}

/** Number of frames for a signal of numSamples samples: Kaldi's NumFrames(num_samples, opts, flush=true). */
export function numFrames(numSamples: number, opts: FrameOptions): number {
  check(opts);
  if (!(numSamples >= 0) || !Number.isInteger(numSamples)) throw new Error(`frames: numSamples must be a non-negative integer, got ${numSamples}`);
  const shift = windowShiftSamples(opts);
  const length = windowLengthSamples(opts);
  if (opts.snipEdges) return numSamples < length ? 0 : 1 + Math.floor((numSamples - length) / shift);
  return Math.floor((numSamples + Math.floor(shift / 2)) / shift);
}

/**
 * First sample of frame t (Kaldi's FirstSampleOfFrame). Negative, or past the end, for snipEdges=false
 * frames near the edges: those samples are read by reflection.
 */
export function frameStartSample(frame: number, opts: FrameOptions): number {
  check(opts);
  const shift = windowShiftSamples(opts);
  if (opts.snipEdges) return frame * shift;
  const mid = shift * frame + Math.floor(shift / 2);
  return mid - Math.floor(windowLengthSamples(opts) / 2);
}

/** Centre of frame t in seconds (the midpoint of its window). */
export function frameCenterSec(frame: number, opts: FrameOptions): number {
  const start = frameStartSample(frame, opts);
  return (start + windowLengthSamples(opts) / 2) / opts.sampleRateHz;
}

/**
 * Index of the frame whose centre is nearest to time `sec` (clamped to 0 below; callers clamp to the
 * utterance's frame count above). Used to turn alignment times into frame labels.
 */
export function timeToFrame(sec: number, opts: FrameOptions): number {
  check(opts);
  const shift = windowShiftSamples(opts);
  const length = windowLengthSamples(opts);
  const sample = sec * opts.sampleRateHz;
  // Centre of frame t is c0 + t*shift, so invert that and round.
  const c0 = opts.snipEdges ? length / 2 : Math.floor(shift / 2) - Math.floor(length / 2) + length / 2;
  return Math.max(0, Math.round((sample - c0) / shift));
}

export function secondsToSamples(sec: number, sampleRateHz: number): number {
  return Math.round(sec * sampleRateHz);
}

export function samplesToSeconds(samples: number, sampleRateHz: number): number {
  return samples / sampleRateHz;
}
