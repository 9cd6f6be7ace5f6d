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

/**
 * Kaldi's hybrid-decoding defaults (decode.sh: --acwt 0.1, --beam 13). Frame posteriors are strongly correlated
 * across frames, so unscaled acoustics overwhelm the LM (insertions) and make the beam, which is measured in
 * scaled units, ten times narrower: on FSDD acoustic scale 1 / beam 16 left 28 of 63 test utterances without a
 * final state and gave 58.7% WER where 0.1 / 13 gives 4.3% (packages/experiments/README.md).
 */
export const WORD_DECODE_DEFAULTS: WordDecodeSettings = { acousticScale: 0.1, lmWeight: 1, wordInsertionPenalty: 0, beam: 13, priorScale: 1, silenceProb: 0.5 };

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

  /**
   * Decode one utterance's log-likelihoods; `text` is its reference transcript. `overrides` changes search settings
   * for this call (e.g. an acoustic scale being tuned); the graph's silence probability is fixed at construction.
   */
  decodeUtterance(id: string, text: string, loglikes: LoglikeMatrix, overrides: Partial<Pick<WordDecodeSettings, 'acousticScale' | 'lmWeight' | 'wordInsertionPenalty' | 'beam'>> = {}): UtteranceDecode {
    const s = { ...this.settings, ...overrides };
    const r = decode(this.decoder, loglikes, { acousticScale: s.acousticScale, lmWeight: s.lmWeight, wordInsertionPenalty: s.wordInsertionPenalty, beam: s.beam });
    return { hyp: `${id} ${r.words.join(' ')}`.trim(), ref: `${id} ${wordsOf(text).join(' ')}`, reachedFinal: r.reachedFinal };
  }
}
