// The public entry of @kdasr/audio-features: everything between a WAV file and a classifier's input matrix.
export { readWav, WavFile } from './wav-file.js';
export {
  decodeWav,
  encodeWav,
  parseWavHeader,
  WavError,
  type WavAudio,
  type WavInfo,
  type WavReadOptions,
  type WavFileReadOptions,
  type EncodeWavOptions,
  type WavSampleFormat,
} from './wav.js';
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
export { FeatureArchive, FeatureArchiveWriter, crc32, ARCHIVE_DATA, ARCHIVE_INDEX, type ArchiveEntry, type ArchiveIndex, type ArchiveWriterOptions } from './archive.js';
export { writeNpy, readNpy, npyHeader } from './npy.js';
export { FeatureExtractor } from './pipeline-file.js';
export { WaveformFeatureExtractor, FeaturePipelineConfigSchema, parsePipelineConfig, type FeaturePipelineConfig, type ExtractResult } from './pipeline.js';
export {
  KaldiMatrixReader,
  KaldiArkWriter,
  KaldiArkError,
  readKaldiScp,
  parseKaldiMatrixHeader,
  decodeKaldiMatrix,
  encodeKaldiFloatMatrix,
  encodeKaldiDoubleMatrix,
  kaldiCmvnStats,
  writeKaldiFeatureDir,
  type KaldiMatrixHeader,
  type KaldiMatrixKind,
  type KaldiScpEntry,
  type KaldiExportOptions,
} from './kaldi-ark.js';
export {
  readAudioSource,
  featuresFromSource,
  readCommandWav,
  runAudioCommand,
  kaldiPipeCommand,
  kaldiSegmentSamples,
  segmentEndSec,
  AudioCommandError,
  type AudioSource,
  type SampleFeatureComputer,
} from './audio-source.js';
