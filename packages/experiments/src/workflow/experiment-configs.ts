/**
 * The configs `kdasr experiment mnist|asr|specialists` run: a preset, or a config file (JSON/YAML, e.g. an
 * edited `--print-config` or a run's config.json), then `--set` overrides, validated by each recipe's schema.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeJsonAtomic } from '@kdasr/core';
import { PRESET_NAMES as MNIST_PRESET_NAMES, PresetSchema, getPreset, type MnistPreset } from '@kdasr/mnist';
import { ASR_PRESET_NAMES, asrPreset, asrRecipeSchema, parseAsrConfig, type AsrRecipeConfig } from '../asr/config.js';
import {
  SPECIALISTS_PRESET_NAMES,
  SPECIALISTS_TASK_NAMES,
  parseSpecialistsConfig,
  specialistsPreset,
  specialistsRecipeSchema,
  type SpecialistsRecipeConfig,
  type SpecialistsTaskName,
} from '../specialists/config.js';
import { runSpecialistsRecipe, specialistsTaskList, type SpecialistsRecipeOptions, type SpecialistsRecipeResult, type SpecialistsTaskSelection } from '../specialists/recipe.js';
import { ConfigError, applyOverrides, readConfigFile, resolveConfig, validateConfig } from './config-file.js';

export interface ExperimentConfigOptions {
  /** Preset name (default 'quick'); not together with configFile. */
  preset?: string;
  /** JSON or YAML config file (a `--print-config` output or a run's config.json). */
  configFile?: string;
  /** `key.path=value` overrides, applied after the preset or file. */
  sets?: readonly string[];
}

function pickBase<N extends string>(o: ExperimentConfigOptions, names: readonly N[]): N | undefined {
  if (o.configFile !== undefined) {
    if (o.preset !== undefined) throw new ConfigError(`give --preset or --config, not both (a config file is a whole config; start one from --print-config)`);
    return undefined;
  }
  const p = o.preset ?? 'quick';
  if (!(names as readonly string[]).includes(p)) throw new ConfigError(`--preset must be one of ${names.join(', ')}, got "${p}"`);
  return p as N;
}

/** The ASR recipe config: preset or file, `engine` and `fsddDir` as overrides, then `sets`. */
export function resolveAsrExperimentConfig(o: ExperimentConfigOptions & { engine?: string; fsddDir?: string }): AsrRecipeConfig {
  const preset = pickBase(o, ASR_PRESET_NAMES);
  const base = preset ? asrPreset(preset) : readConfigFile(o.configFile!);
  const kind = (base as { corpus?: { kind?: string } } | undefined)?.corpus?.kind;
  if (o.fsddDir !== undefined && kind !== 'fsdd') throw new ConfigError('--fsdd DIR applies to an FSDD corpus only (--preset fsdd, or corpus.kind "fsdd")');
  const sets = [...(o.engine !== undefined ? [`engine=${o.engine}`] : []), ...(o.fsddDir !== undefined ? [`corpus.dir=${JSON.stringify(resolve(o.fsddDir))}`] : []), ...(o.sets ?? [])];
  const config = resolveConfig(asrRecipeSchema, { base, sets, where: preset ? `preset ${preset}` : `config file ${o.configFile}` });
  try {
    return parseAsrConfig(config, o.configFile ?? `preset ${preset}`);
  } catch (e) {
    throw new ConfigError((e as Error).message);
  }
}

/** The MNIST preset: a preset, a file holding one, or a run's config.json (`{ preset, data, engine? }`). */
export function resolveMnistExperimentConfig(o: ExperimentConfigOptions): { preset: MnistPreset; engine?: 'native' } {
  const name = pickBase(o, MNIST_PRESET_NAMES);
  let data: unknown = name ? getPreset(name) : readConfigFile(o.configFile!);
  let engine: 'native' | undefined;
  // A run's config.json records the preset beside the data checksum (and the engine when native): rerun it as is.
  if (!name && data && typeof data === 'object' && 'preset' in data && 'data' in data) {
    engine = (data as { engine?: string }).engine === 'native' ? 'native' : undefined;
    data = (data as { preset: unknown }).preset;
  }
  const where = name ? `preset ${name}` : `config file ${o.configFile}`;
  const preset = validateConfig(PresetSchema, applyOverrides(data, o.sets ?? []), o.sets?.length ? `${where} with --set ${o.sets.join(' --set ')}` : where);
  return { preset, ...(engine ? { engine } : {}) };
}

export type SpecialistsConfigs = Partial<Record<SpecialistsTaskName, SpecialistsRecipeConfig>>;

/**
 * One config per task, keyed by task name (the shape `--print-config` writes and `--config` reads): the preset's
 * for `task` (default all), or the file's tasks (optionally narrowed by `task`), then `sets` (`speech.seed=2`).
 */
export function resolveSpecialistsExperimentConfigs(o: ExperimentConfigOptions & { task?: string; engine?: string; asrExpDir?: string }): SpecialistsConfigs {
  const preset = pickBase(o, SPECIALISTS_PRESET_NAMES);
  let data: Record<string, unknown>;
  if (preset) {
    data = Object.fromEntries(specialistsTaskList((o.task ?? 'all') as SpecialistsTaskSelection).map((t) => [t, specialistsPreset(preset, t)]));
  } else {
    const raw = readConfigFile(o.configFile!);
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`config file ${o.configFile}: expected an object keyed by task (${SPECIALISTS_TASK_NAMES.join(', ')}), as --print-config writes`);
    data = raw as Record<string, unknown>;
    for (const k of Object.keys(data))
      if (!(SPECIALISTS_TASK_NAMES as readonly string[]).includes(k)) throw new ConfigError(`config file ${o.configFile}: ${k}: unknown task (allowed: ${SPECIALISTS_TASK_NAMES.join(', ')})`);
    if (o.task !== undefined && o.task !== 'all') {
      const keep = specialistsTaskList(o.task as SpecialistsTaskSelection);
      for (const t of keep) if (!(t in data)) throw new ConfigError(`config file ${o.configFile} has no config for task ${t}`);
      data = Object.fromEntries(keep.map((t) => [t, data[t]]));
    }
  }
  const withSets = applyOverrides(data, o.sets ?? []) as Record<string, unknown>;
  for (const k of Object.keys(withSets))
    if (!(k in data)) throw new ConfigError(`--set ${k}...: ${k} is not one of this run's tasks (${Object.keys(data).join(', ')})`);
  const where = preset ? `preset ${preset}` : `config file ${o.configFile}`;
  const out: SpecialistsConfigs = {};
  for (const [task, cfg] of Object.entries(withSets)) {
    let c = validateConfig(specialistsRecipeSchema, cfg, `${where}, task ${task}`);
    if (o.engine !== undefined) c = validateConfig(specialistsRecipeSchema, { ...c, engine: o.engine }, `--engine ${o.engine}`);
    if (o.asrExpDir !== undefined && c.data.kind === 'speech') c = { ...c, data: { ...c.data, asrExpDir: o.asrExpDir } };
    try {
      out[task as SpecialistsTaskName] = parseSpecialistsConfig(c, `${where}, task ${task}`);
    } catch (e) {
      throw new ConfigError((e as Error).message);
    }
    if (c.task !== task) throw new ConfigError(`${where}: the config under "${task}" is for task ${c.task}`);
  }
  return out;
}

/**
 * `kdasr experiment specialists` with resolved configs: writes <outDir>/config.json (the configs, keyed by task:
 * `--config` on it reruns the run) and runs the recipe on them.
 */
export async function runSpecialistsExperiment(
  o: Omit<SpecialistsRecipeOptions, 'configs' | 'preset' | 'task' | 'engine' | 'asrExpDir'> & { configs: SpecialistsConfigs; outDir: string },
): Promise<SpecialistsRecipeResult> {
  const tasks = Object.keys(o.configs) as SpecialistsTaskName[];
  if (tasks.length === 0) throw new ConfigError('no task to run');
  mkdirSync(o.outDir, { recursive: true });
  writeJsonAtomic(join(o.outDir, 'config.json'), o.configs);
  const first = o.configs[tasks[0]]!;
  const preset = ((SPECIALISTS_PRESET_NAMES as readonly string[]).includes(first.name) ? first.name : 'quick') as SpecialistsRecipeOptions['preset'];
  // The recipe runs one task or all; several named tasks run one after another into the same outDir.
  let result: SpecialistsRecipeResult | undefined;
  for (const t of tasks) {
    const r = await runSpecialistsRecipe({ ...o, preset, task: t, configs: { [t]: o.configs[t] } });
    result = result ? { ...r, tasks: [...result.tasks, ...r.tasks], wallSeconds: result.wallSeconds + r.wallSeconds } : r;
  }
  return result!;
}
