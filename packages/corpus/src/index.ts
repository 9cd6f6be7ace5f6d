// Public entry of @kdasr/corpus: manifests, lexicon and phone set, validation, speaker splits, espeak-ng
// synthesis with exact alignments, acoustic conditions, and importers (FSDD, Kaldi, LibriSpeech).
export { CorpusError, formatProblem, type Problem } from './problems.js';
export {
  RecordingSchema,
  SupervisionSchema,
  AlignmentSchema,
  WordSegmentSchema,
  PhoneSegmentSchema,
  LexiconEntrySchema,
  PhoneSchema,
  SplitsSchema,
  MANIFEST_FILES,
  parseJsonl,
  readJsonl,
  writeJsonl,
  toJsonl,
  normaliseText,
  wordsOf,
  type Recording,
  type Supervision,
  type Alignment,
  type WordSegment,
  type PhoneSegment,
  type LexiconEntry,
  type Phone,
  type Splits,
  type Lined,
} from './manifest.js';
export {
  Lexicon,
  formatLexiconTxt,
  parseLexiconTxt,
  readLexiconTxt,
  writeLexiconTxt,
  readLexiconJsonl,
  writeLexiconJsonl,
  buildPhoneSet,
  writePhonesJsonl,
  formatPhonesTxt,
  phoneKind,
  SILENCE_PHONE,
} from './lexicon.js';
export { validateCorpus, assertValidCorpus, resolveAudioPath, recordingSource, type ValidateOptions, type ValidationReport } from './validate.js';
export { splitBySpeaker, selectSplit, readSplits, writeSplits, type SplitOptions, type SplitName } from './splits.js';
export { Espeak, getEspeak, EspeakUnavailableError, EVENT, type EspeakEvent, type SynthResult, type VoiceSettings } from './espeak.js';
export { planSpeakers, listVariants, BASE_VOICES, type SpeakerVoice } from './voices.js';
export {
  applyCondition,
  mixAtSnr,
  whiteNoise,
  pinkNoise,
  babbleNoise,
  syntheticRir,
  convolve,
  activePower,
  type Condition,
  type NoiseType,
} from './conditions.js';
export { alignmentFromEvents, synthesiseUtterance, AlignmentError, type SampleAlignment, type UtteranceSpec } from './synth.js';
export { synthCorpus, planCorpus, PRESETS, OUTPUT_RATE_HZ, type Preset, type SynthOptions, type SynthSummary, type CorpusPlan } from './synth-corpus.js';
export { loadGrammar, parseGrammar, generateSentences, grammarVocabulary, writeTextSources, readTextSources, DEFAULT_TEXT_DIR, type Grammar } from './text.js';
export { importFsdd, listFsdd, fsddAvailable, DEFAULT_FSDD_DIR, DIGIT_WORDS, type FsddOptions, type FsddSummary } from './fsdd.js';
export { importKaldiDir, importLibriSpeech, MULTIPLE_SPEAKERS, type ImportResult, type KaldiImportOptions, type LibriSpeechOptions } from './kaldi.js';
export { soxAvailable, wavInfo } from './audio.js';
export { corpusSegments, type SegmentJob } from './segments.js';
export {
  exportLhotse,
  importLhotse,
  toLhotse,
  readLhotseItems,
  findLhotseManifests,
  LHOTSE_FILES,
  type LhotseManifests,
  type LhotseRecording,
  type LhotseSupervision,
  type LhotseAudioSource,
  type LhotseAlignmentItem,
  type LhotseImportOptions,
  type LhotseImportResult,
} from './lhotse.js';
export { readCorpusSplit, type CorpusInput, type CorpusSplit } from './corpus-input.js';
