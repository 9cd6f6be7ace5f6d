import { join } from 'node:path';
import { BACKENDS, initRuntime, type BackendRequest } from '@kdasr/core';
import {
  SPECIALISTS_PRESET_NAMES,
  SPECIALISTS_STAGE_NAMES,
  SPECIALISTS_TASK_NAMES,
  runSpecialistsRecipe,
  type SpecialistsPresetName,
  type SpecialistsTaskSelection,
} from '@kdasr/experiments';
import { CliError, parseCommandArgs } from '../args.js';

const ENGINES = ['native', 'tfjs', 'auto'];
const TASKS = [...SPECIALISTS_TASK_NAMES, 'all'];

export const specialistsHelp = `usage: kdasr experiment specialists [--preset quick|medium] [--task speech|mnist-pairs|all] [--out DIR]
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
  --backend B   tfjs backend, ${[...BACKENDS, 'auto'].join(', ')} (default: KDASR_BACKEND, else auto)`;

function fail(message: string): never {
  throw new CliError(`experiment specialists: ${message}\n\n${specialistsHelp}`);
}

function pct(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? 'n/a' : `${(100 * x).toFixed(2)}%`;
}

/** `kdasr experiment specialists` (registered in experiment.ts). */
export const specialistsExperiment: { summary: string; run(argv: string[]): Promise<number> } = {
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
      },
      specialistsHelp,
    );
    if (values.help) {
      console.log(specialistsHelp);
      return 0;
    }
    if (positionals.length > 0) fail(`unexpected argument "${positionals[0]}"`);
    const preset = values.preset ?? 'quick';
    if (!(SPECIALISTS_PRESET_NAMES as readonly string[]).includes(preset)) fail(`--preset must be one of ${SPECIALISTS_PRESET_NAMES.join(', ')}, got "${preset}"`);
    const task = values.task ?? 'all';
    if (!TASKS.includes(task)) fail(`--task must be one of ${TASKS.join(', ')}, got "${task}"`);
    const engine = values.engine;
    if (engine !== undefined && !ENGINES.includes(engine)) fail(`--engine must be one of ${ENGINES.join(', ')}, got "${engine}"`);
    const okBackends = [...BACKENDS, 'auto'] as string[];
    if (values.backend !== undefined && !okBackends.includes(values.backend)) fail(`--backend must be one of ${okBackends.join(', ')}, got "${values.backend}"`);
    const stageNames = SPECIALISTS_STAGE_NAMES as readonly string[];
    for (const [flag, v] of [['--stage', values.stage], ['--stop-stage', values['stop-stage']]] as const)
      if (v !== undefined && !(/^\d+$/.test(v) && Number(v) < stageNames.length) && !stageNames.includes(v))
        fail(`${flag} ${v}: expected a stage number 0-${stageNames.length - 1} or a name (${stageNames.join(', ')})`);
    const outDir = values.out ?? join('exp', `specialists-${preset}`);
    const rt = await initRuntime(values.backend ? { backend: values.backend as BackendRequest } : {});
    console.error(`backend: ${rt.backend}, ${rt.threads} thread(s)${rt.patchedKernels ? ', patched matMul kernels' : ''}${rt.notes.length ? ` (${rt.notes.join('; ')})` : ''}`);
    let r;
    try {
      r = await runSpecialistsRecipe({
        preset: preset as SpecialistsPresetName,
        task: task as SpecialistsTaskSelection,
        outDir,
        stage: values.stage,
        stopStage: values['stop-stage'],
        force: values.force,
        engine: engine as 'native' | 'tfjs' | 'auto' | undefined,
        asrExpDir: values['asr-dir'],
        command: ['kdasr experiment specialists', ...argv].join(' '),
      });
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
