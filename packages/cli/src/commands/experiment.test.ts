import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { CliError } from '../args.js';
import { command, experiments } from './experiment.js';

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
