/** One result the page keeps in `window.kdasr.results` (app/main.ts writes it; browser-session.ts reads it). */
export interface PageResult {
  name: string;
  source: 'file' | 'microphone';
  words: string[];
  reachedFinal: boolean;
  durationSec: number;
  numFrames: number;
  featuresMs: number;
  forwardMs: number;
  decodeMs: number;
  error?: string;
}
