/**
 * Word decoding shared by the CLI (`kdasr decode` / `kdasr eval`) and the speech recipe's score stage: one
 * decoding graph (lexicon + bigram LM + HMM topology) built once, then one Viterbi beam search per utterance.
 * Keeping it in one place means a model scored by the recipe and by the CLI goes through the same search.
 */
import type { PhoneticTree, StateInventory } from '@kdasr/acoustic-models';
import { wordsOf } from '@kdasr/corpus';
import { BigramLm, ViterbiDecoder, buildDecodingGraph, decode, type LoglikeMatrix } from '@kdasr/decoding';
import { decodingLexicon, transitionModelOf, type Lang } from './lang.js';

export interface WordDecodeSettings {
  acousticScale: number;
  lmWeight: number;
  wordInsertionPenalty: number;
  beam: number;
  /** Scale of the log-priors subtracted from log-posteriors (applied by the caller when making log-likelihoods). */
  priorScale: number;
  /** Probability of optional silence between words in the decoding graph. */
  silenceProb: number;
}

export const WORD_DECODE_DEFAULTS: WordDecodeSettings = { acousticScale: 1, lmWeight: 1, wordInsertionPenalty: 0, beam: 16, priorScale: 1, silenceProb: 0.5 };

/** One utterance's result as Kaldi text lines (`utt-id word ...`), ready for `computeWer(parseKaldiText(...))`. */
export interface UtteranceDecode {
  hyp: string;
  ref: string;
  /** False when no hypothesis reached a final state within the beam (the best partial path was used). */
  reachedFinal: boolean;
}

export class WordDecoder {
  private readonly decoder: ViterbiDecoder;

  constructor(
    lang: Lang,
    inventory: StateInventory,
    tree: PhoneticTree | undefined,
    lmText: readonly string[],
    readonly settings: WordDecodeSettings,
  ) {
    const graph = buildDecodingGraph({
      lexicon: decodingLexicon(lang),
      lm: BigramLm.train([...lmText]),
      transitionModel: transitionModelOf(lang, inventory, tree),
      silencePhone: lang.silencePhone,
      silenceProb: settings.silenceProb,
    });
    this.decoder = new ViterbiDecoder(graph);
  }

  /** Decode one utterance's (scaled) log-likelihoods; `text` is its reference transcript. */
  decodeUtterance(id: string, text: string, loglikes: LoglikeMatrix): UtteranceDecode {
    const s = this.settings;
    const r = decode(this.decoder, loglikes, { acousticScale: s.acousticScale, lmWeight: s.lmWeight, wordInsertionPenalty: s.wordInsertionPenalty, beam: s.beam });
    return { hyp: `${id} ${r.words.join(' ')}`.trim(), ref: `${id} ${wordsOf(text).join(' ')}`, reachedFinal: r.reachedFinal };
  }
}
