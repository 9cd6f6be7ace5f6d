/**
 * Word decoding shared by the CLI (`kdasr decode` / `kdasr eval`) and the speech recipe's score stage (the graph
 * and search are WordSearch's, which the browser page uses too). Keeping it in one place means a model scored by
 * the recipe, by the CLI and in the page goes through the same search.
 */
import { wordsOf } from '@kdasr/corpus';
import type { LoglikeMatrix } from '@kdasr/decoding';
import { WordSearch, type SearchOverrides } from './word-search.js';

export { WORD_DECODE_DEFAULTS, type WordDecodeSettings } from './word-search.js';

/** One utterance's result as Kaldi text lines (`utt-id word ...`), ready for `computeWer(parseKaldiText(...))`. */
export interface UtteranceDecode {
  hyp: string;
  ref: string;
  /** False when no hypothesis reached a final state within the beam (the best partial path was used). */
  reachedFinal: boolean;
}

export class WordDecoder extends WordSearch {
  /** Decode one utterance's log-likelihoods; `text` is its reference transcript (see WordSearch.search for `overrides`). */
  decodeUtterance(id: string, text: string, loglikes: LoglikeMatrix, overrides: SearchOverrides = {}): UtteranceDecode {
    const r = this.search(loglikes, overrides);
    return { hyp: `${id} ${r.words.join(' ')}`.trim(), ref: `${id} ${wordsOf(text).join(' ')}`, reachedFinal: r.reachedFinal };
  }
}
