// The browser entry of @kdasr/audio-features (the `browser` export condition): WAV decoding, resampling, fbank /
// MFCC, deltas, CMVN and splicing, and the feature pipeline on samples or WAV bytes. No Node built-in is reached
// from here; WAV files on disk, feature archives and .npy I/O are in src/index.ts alone.
export { decodeWav, encodeWav, parseWavHeader, WavError, type WavAudio, type WavInfo, type WavReadOptions, type WavFileReadOptions, type EncodeWavOptions, type WavSampleFormat } from './wav.js';
export { resample, type ResampleOptions } from './resample.js';
export {
  FbankConfigSchema,
  MfccConfigSchema,
  WindowTypeSchema,
  parseFbankConfig,
  parseMfccConfig,
  normalizeOptionNames,
  type FbankConfig,
  type FbankOptions,
  type MfccConfig,
  type MfccOptions,
  type WindowType,
} from './config.js';
export { Fbank, Mfcc, fbank, mfcc, melBank, melScale, featureWindow, dctMatrix, type FeatureMatrix, type MelBank, type ComputeOptions } from './fbank.js';
export {
  addDeltas,
  deltaScales,
  CmvnStats,
  CmvnStatsByKey,
  applyCmvn,
  cmvnUtterance,
  splice,
  spliceFrame,
  PAPER_CONTEXT,
  type DeltaOptions,
  type CmvnOptions,
  type CmvnStatsJson,
  type SpliceOptions,
} from './postprocess.js';
export { WaveformFeatureExtractor, FeaturePipelineConfigSchema, parsePipelineConfig, type FeaturePipelineConfig, type ExtractResult } from './pipeline.js';
