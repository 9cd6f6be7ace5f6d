/**
 * Where a recording's audio comes from: a WAV file, or a shell command that writes a WAV to stdout (Kaldi's
 * piped `wav.scp` entries, `sox in.flac -t wav - |`; lhotse's `command` sources). Also Kaldi's
 * `extract-segments` rule for turning a segment's start/end times into sample indices.
 *
 * Node-only (child_process, fs).
 */
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import type { Rng } from '@kdasr/core';
import type { FeatureMatrix } from './fbank.js';
import type { ExtractResult, FeaturePipelineConfig } from './pipeline.js';
import { resample } from './resample.js';
import { decodeWav, WavError, type WavAudio, type WavFileReadOptions } from './wav.js';
import { readWav } from './wav-file.js';

export type AudioSource = { type: 'file'; path: string } | { type: 'command'; command: string };

/** The WAV bytes a command writes to stdout can be large (hours of audio); cap what one command may produce. */
const MAX_COMMAND_BYTES = 4 * 1024 ** 3 - 1;

/** A piped source that failed: names the utterance (or recording) and the command, with its stderr. */
export class AudioCommandError extends Error {
  constructor(readonly what: string, readonly command: string, problem: string) {
    super(`${what}: the command \`${command}\` ${problem}`);
    this.name = 'AudioCommandError';
  }
}

/**
 * A WAV written to a pipe cannot have its header fixed afterwards: a writer that does not know the length up
 * front declares a placeholder data size (0, 0xFFFFFFFF, or sox's 0x7FFFF000) and the samples run to the end of
 * the stream, which is how Kaldi reads it. The command exited 0, so the bytes present are all there is.
 */
function patchStreamedSizes(b: Uint8Array): Uint8Array {
  if (b.length < 12) return b;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = 12;
  while (pos + 8 <= b.length) {
    const id = String.fromCharCode(b[pos], b[pos + 1], b[pos + 2], b[pos + 3]);
    const size = v.getUint32(pos + 4, true);
    if (id === 'data') {
      const present = b.length - pos - 8;
      if (size === 0 || size > present) {
        const out = new Uint8Array(b);
        new DataView(out.buffer).setUint32(pos + 4, present, true);
        return out;
      }
      return b;
    }
    pos += 8 + size + (size & 1);
  }
  return b;
}

/** Run `command` with /bin/sh -c (as Kaldi runs a `wav.scp` entry ending in `|`) and return its stdout. */
export function runAudioCommand(command: string, what: string): Uint8Array {
  const r = spawnSync('/bin/sh', ['-c', command], { maxBuffer: MAX_COMMAND_BYTES, stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = (r.stderr?.toString('utf8') ?? '').trim().split('\n').slice(-5).join(' | ');
  if (r.error) throw new AudioCommandError(what, command, `could not be run: ${r.error.message}`);
  if (r.signal) throw new AudioCommandError(what, command, `was killed by ${r.signal}${stderr ? `: ${stderr}` : ''}`);
  if (r.status !== 0) throw new AudioCommandError(what, command, `exited with status ${r.status}${stderr ? `: ${stderr}` : ''}. Fix: run it by hand in the data dir's working directory and correct the wav.scp line`);
  if (!r.stdout || r.stdout.length === 0) throw new AudioCommandError(what, command, `wrote nothing to stdout${stderr ? ` (stderr: ${stderr})` : ''}; it must write a WAV to stdout (sox: \`-t wav -\`)`);
  return new Uint8Array(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength);
}

/** Decode the WAV a command writes to stdout. Errors name `what` (the utterance or recording) and the command. */
export function readCommandWav(command: string, what: string, opts: WavFileReadOptions = {}): WavAudio {
  const bytes = patchStreamedSizes(runAudioCommand(command, what));
  try {
    return decodeWav(bytes, { ...opts, source: `${what} (output of \`${command}\`)` });
  } catch (e) {
    if (e instanceof WavError) throw new AudioCommandError(what, command, `did not write a readable WAV: ${e.message}`);
    throw e;
  }
}

/** Read a source's audio; `what` names the utterance or recording in errors. */
export function readAudioSource(src: AudioSource, what: string, opts: WavFileReadOptions = {}): WavAudio {
  if (src.type === 'command') return readCommandWav(src.command, what, opts);
  // A directory opens fine and then fails reading with a bare EISDIR: say which path it was.
  let dir = false;
  try {
    dir = statSync(src.path).isDirectory();
  } catch {
    // Missing files get WavFile's own "cannot open" error.
  }
  if (dir) throw new WavError(src.path, 'file', 'is a directory, not a WAV file', 'list the WAV files inside it, one per line');
  return readWav(src.path, opts);
}

/** What featuresFromSource needs of a FeatureExtractor. */
export interface SampleFeatureComputer {
  readonly config: FeaturePipelineConfig;
  fromSamples(samples: Float32Array, sampleRateHz: number, rng?: Rng): FeatureMatrix;
}

/**
 * Features of a file or command source, optionally of one segment of it (cut at the recording's own rate with
 * Kaldi's extract-segments rule, then resampled to the config's target rate). `what` names the utterance in
 * errors; `channel` (a supervision's) overrides the config's.
 */
export function featuresFromSource(
  ex: SampleFeatureComputer,
  src: AudioSource,
  opts: { what: string; segment?: { startSec: number; endSec?: number }; channel?: number; rng?: Rng },
): ExtractResult {
  const a = readAudioSource(src, opts.what, { channel: opts.channel ?? ex.config.channel });
  let samples = a.samples;
  let rate = a.sampleRateHz;
  if (opts.segment) {
    try {
      const { start, end } = kaldiSegmentSamples(opts.segment.startSec, opts.segment.endSec, rate, samples.length);
      samples = samples.subarray(start, end);
    } catch (e) {
      throw new Error(`${opts.what}: ${(e as Error).message}`);
    }
  }
  const durationSec = samples.length / rate;
  const target = ex.config.targetSampleRateHz;
  if (target !== undefined && target !== rate) {
    samples = resample(samples, rate, target);
    rate = target;
  }
  const features = ex.fromSamples(samples, rate, opts.rng);
  if (features.numFrames === 0) throw new Error(`${opts.what}: ${durationSec.toFixed(3)} s of audio is shorter than one frame; drop it or use snipEdges=false`);
  return { features, durationSec, sampleRateHz: rate };
}

/** The shell command of a Kaldi `wav.scp` value ending in `|`, or null for a plain path. */
export function kaldiPipeCommand(spec: string): string | null {
  const s = spec.trim();
  return s.endsWith('|') ? s.slice(0, -1).trim() : null;
}

/**
 * Sample range [start, end) of a segment, as Kaldi's extract-segments computes it: times (double) times the
 * sample rate, truncated toward zero; end -1 (or absent) means the end of the recording; an end past the
 * recording by less than `maxOvershootSec` (Kaldi's --max-overshoot, 0.5) is cut to the end, more is an error.
 */
export function kaldiSegmentSamples(startSec: number, endSec: number | undefined, sampleRateHz: number, numSamples: number, maxOvershootSec = 0.5): { start: number; end: number } {
  // NaN compares false with everything: without this a NaN time would pass every range check below.
  if (!Number.isFinite(startSec) || (endSec !== undefined && !Number.isFinite(endSec))) throw new Error(`segment [${startSec}, ${endSec}] s: times must be finite numbers`);
  if (!(Number.isFinite(sampleRateHz) && sampleRateHz > 0) || !(Number.isSafeInteger(numSamples) && numSamples >= 0)) throw new Error(`segment of a recording of ${numSamples} samples at ${sampleRateHz} Hz: not a valid recording size`);
  // Kaldi keeps the rate as a float (BaseFloat), the times as doubles.
  const rate = Math.fround(sampleRateHz);
  const start = Math.trunc(startSec * rate);
  let end = endSec === undefined || endSec === -1 ? numSamples : Math.trunc(endSec * rate);
  // An end stored as the recording's duration (numSamples / rate) must give numSamples, not one less by rounding.
  if (endSec !== undefined && end === numSamples - 1 && endSec * rate > numSamples - 1e-6) end = numSamples;
  if (start < 0 || start >= numSamples) throw new Error(`segment starts at sample ${start} (${startSec} s), outside the recording's ${numSamples} samples`);
  if (end > numSamples) {
    if (end >= numSamples + Math.trunc(maxOvershootSec * rate))
      throw new Error(`segment ends at sample ${end} (${endSec} s), more than ${maxOvershootSec} s after the recording's end (${numSamples} samples)`);
    end = numSamples;
  }
  if (end <= start) throw new Error(`segment [${startSec}, ${endSec}] s is empty`);
  return { start, end };
}

/**
 * The end time of a segment stored as start + duration, as the decimal a Kaldi `segments` file held: the sum
 * can be off by one ulp, which would move a truncated sample index by one.
 */
export function segmentEndSec(startSec: number, durationSec: number): number {
  return Number((startSec + durationSec).toPrecision(12));
}
