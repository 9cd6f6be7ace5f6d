// The public entry of @kdasr/audio-features: everything between a WAV file and a classifier's input matrix.
export {
  readWav,
  decodeWav,
  encodeWav,
  parseWavHeader,
  WavFile,
  WavError,
  type WavAudio,
  type WavInfo,
  type WavReadOptions,
  type WavFileReadOptions,
  type EncodeWavOptions,
  type WavSampleFormat,
} from './wav.js';
export { resample, type ResampleOptions } from './resample.js';
