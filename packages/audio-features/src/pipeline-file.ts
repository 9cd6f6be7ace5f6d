/** The feature pipeline on WAV files from disk (Node only; pipeline.ts is the part the browser can use). */
import type { Rng } from '@kdasr/base';
import { WaveformFeatureExtractor, type ExtractResult } from './pipeline.js';
import { readWav } from './wav-file.js';

export class FeatureExtractor extends WaveformFeatureExtractor {
  fromFile(path: string, opts: { rng?: Rng } = {}): ExtractResult {
    return this.fromAudio(readWav(path, { channel: this.config.channel, targetSampleRateHz: this.config.targetSampleRateHz }), path, opts);
  }
}
