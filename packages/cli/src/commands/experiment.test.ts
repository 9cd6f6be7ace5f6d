import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { EspeakUnavailableError, getEspeak } from '@kdasr/corpus';
import { CliError } from '../args.js';
import { command, experiments, specialistsHelp } from './experiment.js';

const root = resolve(import.meta.dirname, '../../../..');
const dir = mkdtempSync(join(tmpdir(), 'kdasr-experiment-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

/** In-process run (fast: no node/tsx start-up) capturing stdout lines. */
async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void err.push(a.join(' ')));
  const code = await command.run(args);
  vi.restoreAllMocks();
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('kdasr experiment (dispatcher and options)', () => {
  it('lists the experiments when called without one, and rejects unknown names', async () => {
    const none = await run();
    expect(none.code).toBe(2);
    expect(none.stdout).toContain('usage: kdasr experiment <name>');
    expect(none.stdout).toMatch(/\n {2}mnist +MNIST distillation/);
    await expect(run('cifar')).rejects.toThrow(CliError);
    await expect(run('cifar')).rejects.toThrow(/unknown experiment "cifar"/);
    expect(Object.keys(experiments)).toEqual(['mnist', 'asr', 'specialists']);
    expect(none.stdout).toMatch(/\n {2}asr +speech Table 1/);
  });

  it('validates mnist options before doing any work', async () => {
    await expect(run('mnist', '--preset', 'huge')).rejects.toThrow(/--preset must be one of smoke, quick, paper, got "huge"/);
    await expect(run('mnist', '--preset', 'smoke', '--backend', 'gpu')).rejects.toThrow(/--backend must be one of tensorflow, wasm, cpu, auto/);
    await expect(run('mnist', '--preset', 'smoke', '--engine', 'gpu')).rejects.toThrow(/--engine must be one of native, tfjs, auto, got "gpu"/);
    await expect(run('mnist', '--epochs', '3')).rejects.toThrow(/Unknown option '--epochs'/);
    await expect(run('mnist', 'extra')).rejects.toThrow(/unexpected argument "extra"/);
    const help = await run('mnist', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--preset P');
    expect(help.stdout).toContain('--engine E');
  });
});

describe('kdasr experiment asr (options)', () => {
  it('validates options before doing any work, and documents the stages', async () => {
    await expect(run('asr', '--preset', 'huge')).rejects.toThrow(/--preset must be one of smoke, quick, medium, paper, fsdd, got "huge"/);
    await expect(run('asr', '--engine', 'gpu')).rejects.toThrow(/--engine must be one of native, tfjs, auto, got "gpu"/);
    await expect(run('asr', '--preset', 'smoke', '--backend', 'gpu')).rejects.toThrow(/--backend must be one of/);
    await expect(run('asr', 'extra')).rejects.toThrow(/unexpected argument "extra"/);
    await expect(run('asr', '--preset', 'smoke', '--out', join(dir, 'asr-bad'), '--stage', 'decode')).rejects.toThrow(/--stage decode: expected a stage number 0-7 or a name \(corpus, features, labels, ensemble, teacher-logits, students, score, report\)/);
    await expect(run('asr', '--preset', 'smoke', '--out', join(dir, 'asr-bad'), '--stage', 'students')).rejects.toThrow(/stage 5 \(students\) reads the outputs of stage "teacher-logits", which is not complete/);
    const help = await run('asr', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('0 corpus  1 features  2 labels  3 ensemble  4 teacher-logits  5 students  6 score  7 report');
  });
});

describe('kdasr experiment mnist (end to end)', () => {
  const out = join(dir, 'smoke');

  it('runs the smoke preset through the real bin and prints the table beside the paper', () => {
    const r = spawnSync(process.execPath, ['packages/cli/bin/kdasr.mjs', 'experiment', 'mnist', '--preset', 'smoke', '--out', out], {
      cwd: root,
      encoding: 'utf8',
      timeout: 170_000,
    });
    expect(r.stderr).toMatch(/backend: \w+/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/system +test errors +omitted class errors +bias change +paper/);
    expect(r.stdout).toMatch(/teacher 784-64-64-10.* 67\n/);
    expect(r.stdout).toMatch(/no 3s in transfer set.*206 \(133 on 3s\)/);
    expect(existsSync(join(out, 'models', 'teacher', 'model.json'))).toBe(true);
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toContain(`kdasr experiment mnist --preset smoke --out ${out}`);
     // The real bin starts node + tsx and trains the smoke preset: ~15 s idle, more on a loaded machine.
  }, 180_000);

  it('resumes: a second run reuses every step', async () => {
    const again = await run('mnist', '--preset', 'smoke', '--out', out, '--backend', 'wasm');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('9 step(s) reused from an earlier run');
  });

  it('reports a bad --data directory with the fix', async () => {
    await expect(run('mnist', '--preset', 'smoke', '--data', join(dir, 'nowhere'), '--out', join(dir, 'bad'))).rejects.toThrow(
      /data directory .*nowhere does not exist; pass --data/,
    );
  });
});

describe('kdasr experiment specialists (options)', () => {
  const sp = (...args: string[]) => run('specialists', ...args);
  it('prints its help with the presets, tasks and numbered stages', async () => {
    const help = await sp('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toBe(specialistsHelp);
    expect(help.stdout).toContain('[--task speech|mnist-pairs|all]');
    expect(help.stdout).toContain('0 data  1 generalist  2 clusters  3 specialists  4 combine  5 baseline  6 distil-back  7 soft-specialists  8 report');
    expect(experiments.specialists.summary).toMatch(/generalist \+ specialists/);
  });

  it('rejects bad options before doing any work, with the usage', async () => {
    await expect(sp('--preset', 'huge')).rejects.toThrow(CliError);
    await expect(sp('--preset', 'huge')).rejects.toThrow(/--preset must be one of smoke, quick, medium, got "huge"\n\nusage: kdasr experiment specialists/);
    await expect(sp('--task', 'cifar')).rejects.toThrow(/--task must be one of speech, mnist-pairs, synthetic, all, got "cifar"/);
    await expect(sp('--engine', 'gpu')).rejects.toThrow(/--engine must be one of native, tfjs, auto, got "gpu"/);
    await expect(sp('--backend', 'gpu')).rejects.toThrow(/--backend must be one of tensorflow, wasm, cpu, auto, got "gpu"/);
    await expect(sp('--stage', '12')).rejects.toThrow(/--stage 12: expected a stage number 0-8 or a name \(data, generalist, /);
    await expect(sp('--stop-stage', 'decode')).rejects.toThrow(/--stop-stage decode: expected a stage number/);
    await expect(sp('--epochs', '3')).rejects.toThrow(/experiment specialists: Unknown option '--epochs'/);
    await expect(sp('extra')).rejects.toThrow(/unexpected argument "extra"/);
  });

  it('prints one config per task, and reads it back with --set on a task', async () => {
    const printed = await sp('--preset', 'smoke', '--task', 'synthetic', '--print-config');
    const configs = JSON.parse(printed.stdout) as Record<string, { generalist: { epochs: number } }>;
    expect(Object.keys(configs)).toEqual(['synthetic']);
    const f = join(dir, 'specialists.json');
    writeFileSync(f, printed.stdout);
    const again = await sp('--config', f, '--set', 'synthetic.generalist.epochs=7', '--print-config');
    expect((JSON.parse(again.stdout) as typeof configs).synthetic.generalist.epochs).toBe(7);
    await expect(sp('--config', f, '--set', 'synthetic.generalist.epoch=7')).rejects.toThrow(/task synthetic: generalist\.epoch: unknown key; did you mean "generalist\.epochs"\?/);
  });
});

describe('kdasr experiment --config / --set / --print-config', () => {
  it('mnist: prints the resolved preset; a file with a typo in a nested key is an error naming the key path', async () => {
    const printed = await run('mnist', '--preset', 'smoke', '--print-config');
    const preset = JSON.parse(printed.stdout) as { name: string; teacher: { train: { epochs: number; optimizer: string } } };
    expect(preset.name).toBe('smoke');
    expect(preset.teacher.train.optimizer).toBe('adam'); // defaults are filled in
    const f = join(dir, 'mnist.yaml');
    // YAML works too; the MNIST schema's nested objects are not strict, and the typo is still caught.
    writeFileSync(f, printed.stdout.replace('"epochs": 2,', '"epochz": 2,'));
    await expect(run('mnist', '--config', f)).rejects.toThrow(/teacher\.train\.epochz: unknown key; did you mean "teacher\.train\.epochs"\?/);
    await expect(run('mnist', '--preset', 'smoke', '--set', 'teacher.train.optimizer=rmsprop')).rejects.toThrow(/teacher\.train\.optimizer: "rmsprop" is not allowed; allowed values: "adam", "sgd"/);
    await expect(run('mnist', '--preset', 'smoke', '--config', f)).rejects.toThrow(/give --preset or --config, not both/);
  });

  it('asr: errors name the key path and the allowed values', async () => {
    await expect(run('asr', '--preset', 'smoke', '--set', 'modle.epochs=3')).rejects.toThrow(/modle: unknown key; did you mean "model"\?/);
    await expect(run('asr', '--preset', 'smoke', '--set', 'engine=gpu')).rejects.toThrow(/engine: "gpu" is not allowed; allowed values: "native", "tfjs", "auto"/);
    await expect(run('asr', '--preset', 'smoke', '--set', 'model.epochs=two')).rejects.toThrow(/model\.epochs: .*number.*\(got "two"\)/);
    await expect(run('asr', '--preset', 'smoke', '--set', 'model.epochs')).rejects.toThrow(/--set model\.epochs: expected key\.path=value/);
    const yaml = join(dir, 'tagged.yaml');
    writeFileSync(yaml, 'name: !!js/function "function () { return 1 }"\n');
    await expect(run('asr', '--config', yaml)).rejects.toThrow(/config file .*tagged\.yaml: .*no tags/);
  });
});

let why = '';
try {
  getEspeak();
} catch (e) {
  if (!(e instanceof EspeakUnavailableError)) throw e;
  why = e.message;
}
if (why) console.warn(`experiment asr --config test skipped: libespeak-ng is unavailable (${why})`);

describe.skipIf(!!why)('kdasr experiment asr: --print-config, one edit, --config runs the edited experiment', () => {
  it('synthesises the edited corpus, records the config, and its config.json reruns it', async () => {
    const printed = await run('asr', '--preset', 'smoke', '--print-config');
    const c = JSON.parse(printed.stdout) as { corpus: { utterancesPerSpeaker: number; speakers: number } };
    expect(c.corpus.utterancesPerSpeaker).toBe(3);
    const f = join(dir, 'c.json');
    writeFileSync(f, printed.stdout.replace('"utterancesPerSpeaker": 3', '"utterancesPerSpeaker": 2'));
    const out = join(dir, 'asr-edited');
    const r = await run('asr', '--config', f, '--out', out, '--stop-stage', 'corpus', '--backend', 'cpu');
    expect(r.code).toBe(0);
    const sups = readFileSync(join(out, 'corpus', 'supervisions.jsonl'), 'utf8').trim().split('\n');
    expect(sups).toHaveLength(c.corpus.speakers * 2);
    const recorded = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as typeof c;
    expect(recorded.corpus.utterancesPerSpeaker).toBe(2);
    // The run's config.json reruns it exactly: same resolved config, and the finished stage is reused.
    const again = await run('asr', '--config', join(out, 'config.json'), '--print-config');
    expect(JSON.parse(again.stdout)).toEqual(recorded);
    const rerun = await run('asr', '--config', join(out, 'config.json'), '--out', out, '--stop-stage', 'corpus', '--backend', 'cpu');
    expect(rerun.code).toBe(0);
  }, 180_000);
});
