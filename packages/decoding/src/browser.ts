// The browser entry of @kdasr/decoding (the `browser` export condition): topologies, the bigram LM, decoding
// graphs, Viterbi search, forced alignment and WER. No Node built-in is reached from here; reading Kaldi text
// and lexicon files is in src/index.ts alone (parse them with src/index.ts in Node, or ship them as JSON).
export type { TextEntry } from './text.js';
export {
  alignWords,
  computeWer,
  formatWerSummary,
  formatAlignmentReport,
  type EditOp,
  type WordAlignment,
  type ErrorCounts,
  type UtteranceScore,
  type WerResult,
  type WerOptions,
} from './wer.js';
export {
  TransitionModel,
  buildPhoneHmm,
  monophonePdfs,
  hmmSpecSchema,
  topologyConfigSchema,
  type HmmSpec,
  type TopologyConfig,
  type PhoneHmm,
  type HmmTransition,
  type PdfOf,
  type PdfMapper,
} from './topology.js';
export { BigramLm, BOS, EOS, UNK, type BigramTrainOptions, type PerplexityResult } from './lm.js';
export type { Lexicon, Pronunciation } from './lexicon.js';
export {
  GraphBuilder,
  buildDecodingGraph,
  buildAlignmentGraph,
  ARC_WORD_START,
  type DecodingGraph,
  type BuiltDecodingGraph,
  type DecodingGraphOptions,
  type AlignmentGraphOptions,
  type SilenceOptions,
  type StateInfo,
  type ArcInit,
} from './graph.js';
export {
  ViterbiDecoder,
  posteriorsToLoglikes,
  frameShiftSeconds,
  type LoglikeMatrix,
  type SearchOptions,
  type SearchResult,
  type WordHit,
  type FrameTiming,
} from './viterbi.js';
export {
  decode,
  forcedAlign,
  tuneLmWeight,
  type DecodeOptions,
  type DecodeResult,
  type TimedWord,
  type AlignOptions,
  type AlignmentResult,
  type PhoneSegment,
  type WordSegment,
  type DevUtterance,
  type TuneOptions,
  type TunePoint,
  type TuneResult,
} from './decode.js';
