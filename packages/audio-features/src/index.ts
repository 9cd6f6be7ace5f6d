// The public entry of @kdasr/audio-features (Node): everything between a WAV file and a classifier's input matrix.
// The browser entry (src/browser.ts) holds all that needs no Node built-in; this adds files, archives and commands.
export * from './browser.js';
export { readWav, WavFile } from './wav-file.js';
export { FeatureArchive, FeatureArchiveWriter, crc32, ARCHIVE_DATA, ARCHIVE_INDEX, type ArchiveEntry, type ArchiveIndex, type ArchiveWriterOptions } from './archive.js';
export { writeNpy, readNpy, npyHeader } from './npy.js';
export { FeatureExtractor } from './pipeline-file.js';
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
