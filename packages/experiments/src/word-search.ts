/**
 * The word search behind WordDecoder: one decoding graph (lexicon + bigram LM + HMM topology) built once, then one
 * Viterbi beam search per utterance. It needs no Node built-in (the browser entry exports it), so a page decodes
 * with the same graph and search as `kdasr decode`.
 */
import type { PhoneticTree, StateInventory } from '@kdasr/acoustic-models';
import { BigramLm, ViterbiDecoder, buildDecodingGraph, decode, type DecodeResult, type LoglikeMatrix } from '@kdasr/decoding';
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

/**
 * Kaldi's hybrid-decoding defaults (decode.sh: --acwt 0.1, --beam 13). Frame posteriors are strongly correlated
 * across frames, so unscaled acoustics overwhelm the LM (insertions) and make the beam, which is measured in
 * scaled units, ten times narrower: on FSDD acoustic scale 1 / beam 16 left 28 of 63 test utterances without a
 * final state and gave 58.7% WER where 0.1 / 13 gives 4.3% (packages/experiments/README.md).
 */
export const WORD_DECODE_DEFAULTS: WordDecodeSettings = { acousticScale: 0.1, lmWeight: 1, wordInsertionPenalty: 0, beam: 13, priorScale: 1, silenceProb: 0.5 };

export type SearchOverrides = Partial<Pick<WordDecodeSettings, 'acousticScale' | 'lmWeight' | 'wordInsertionPenalty' | 'beam'>>;

export class WordSearch {
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

  /**
   * Search one utterance's log-likelihoods. `overrides` changes search settings for this call (e.g. an acoustic
   * scale being tuned); the graph's silence probability is fixed at construction.
   */
  search(loglikes: LoglikeMatrix, overrides: SearchOverrides = {}): DecodeResult {
    const s = { ...this.settings, ...overrides };
    return decode(this.decoder, loglikes, { acousticScale: s.acousticScale, lmWeight: s.lmWeight, wordInsertionPenalty: s.wordInsertionPenalty, beam: s.beam });
  }
}
