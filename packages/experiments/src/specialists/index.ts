// The specialists recipe (§5 of the paper): what packages/experiments/src/index.ts re-exports.
export {
  runSpecialistsRecipe,
  specialistsStages,
  specialistsTaskList,
  collectSpecialistsTaskResults,
  writeSpecialistsTopLevel,
  SPECIALISTS_STAGE_NAMES,
  EQ5_CRITERION,
  type SpecialistsRecipeOptions,
  type SpecialistsRecipeResult,
  type SpecialistsTaskRun,
  type SpecialistsTaskSelection,
} from './recipe.js';
export {
  SPECIALISTS_PRESETS,
  SPECIALISTS_PRESET_NAMES,
  SPECIALISTS_TASK_NAMES,
  ALL_TASKS as SPECIALISTS_ALL_TASKS,
  specialistsPreset,
  parseSpecialistsConfig,
  specialistsRecipeSchema,
  type SpecialistsRecipeConfig,
  type SpecialistsRecipeInput,
  type SpecialistsPresetName,
  type SpecialistsTaskName,
} from './config.js';
export { loadTask as loadSpecialistsTask, type LoadedTask as SpecialistsLoadedTask, type SpeechTaskLoader } from './tasks.js';
export {
  renderResults as renderSpecialistsResults,
  renderTaskReport as renderSpecialistsTaskReport,
  SPECIALISTS_PAPER_TABLE2,
  SPECIALISTS_PAPER_TABLE3,
  SPECIALISTS_PAPER_TABLE4,
  type TaskResults as SpecialistsTaskResults,
} from './report.js';
