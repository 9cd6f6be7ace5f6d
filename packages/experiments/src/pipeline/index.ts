// The CLI's train / align / decode / eval pipelines as library functions (each command is a thin twin of one).
export { InputError, LANG_FILE, readCorpus, frameOptionsOf, readLang, readLmText, selectUtts } from './inputs.js';
export { resumableRun, partialSettings, PARTIAL_FILE, PARTIAL_SETTINGS_FILE, type ResumableOptions } from './resumable.js';
export { trainFromCorpus, type TrainFromCorpusOptions, type TrainFromCorpusResult, type MemberRun } from './train.js';
export { alignCorpus, type AlignCorpusOptions, type AlignCorpusResult } from './align.js';
export {
  decodeCorpus,
  evaluateModel,
  uttLoglikes,
  upgradeDecodeResult,
  decodeSettingsOf,
  type ModelInput,
  type DecodeCorpusOptions,
  type DecodeCorpusResult,
  type EvaluateModelOptions,
  type EvaluateModelResult,
} from './decode.js';
