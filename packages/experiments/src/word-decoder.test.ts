import { describe, expect, it } from 'vitest';
import { inventoryOf } from './lang.js';
import { makeLang } from './make-lang.js';
import { WORD_DECODE_DEFAULTS, WordDecoder } from './word-decoder.js';

/** Log-likelihoods that put every frame firmly on one pdf: silence, then each word's states in order, then silence. */
function sequence(pdfs: number[], numPdfs: number, framesPerState = 3): { numFrames: number; numPdfs: number; data: Float32Array } {
  const numFrames = pdfs.length * framesPerState;
  const data = new Float32Array(numFrames * numPdfs).fill(-20);
  pdfs.forEach((p, i) => {
    for (let k = 0; k < framesPerState; k++) data[(i * framesPerState + k) * numPdfs + p] = 0;
  });
  return { numFrames, numPdfs, data };
}

describe('WordDecoder', () => {
  const lang = makeLang({ words: ['yes', 'no'], wholeWordStates: 3, statesPerSilence: 3 });
  const inv = inventoryOf(lang);
  const sil = [0, 1, 2].map((s) => inv.classId('sil', s));
  const word = (w: string) => [0, 1, 2].map((s) => inv.classId(w, s));
  const lm = ['yes no', 'no yes', 'yes yes', 'no no'];

  it('recovers the word sequence the frames spell, with Kaldi-style hyp and ref lines', () => {
    const dec = new WordDecoder(lang, inv, undefined, lm, WORD_DECODE_DEFAULTS);
    const ll = sequence([...sil, ...word('no'), ...sil, ...word('yes'), ...sil], inv.numClasses);
    const r = dec.decodeUtterance('utt1', 'no yes', ll);
    expect(r.hyp).toBe('utt1 no yes');
    expect(r.ref).toBe('utt1 no yes');
    expect(r.reachedFinal).toBe(true);
  });

  it('follows the acoustics, not a fixed answer: swapping the words swaps the hypothesis', () => {
    const dec = new WordDecoder(lang, inv, undefined, lm, WORD_DECODE_DEFAULTS);
    const ll = sequence([...sil, ...word('yes'), ...word('no'), ...sil], inv.numClasses);
    expect(dec.decodeUtterance('u', 'yes no', ll).hyp).toBe('u yes no');
  });
});
