import { afterEach, describe, expect, it, vi } from 'vitest';
import { CliError } from '../args.js';
import { specialistsExperiment, specialistsHelp } from './experiment-specialists.js';

afterEach(() => vi.restoreAllMocks());

async function run(...args: string[]): Promise<{ code: number; stdout: string }> {
  const out: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
  const code = await specialistsExperiment.run(args);
  vi.restoreAllMocks();
  return { code, stdout: out.join('\n') };
}

describe('kdasr experiment specialists (options)', () => {
  it('prints its help with the presets, tasks and numbered stages', async () => {
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toBe(specialistsHelp);
    expect(help.stdout).toContain('usage: kdasr experiment specialists [--preset quick|medium] [--task speech|mnist-pairs|all]');
    expect(help.stdout).toContain('0 data  1 generalist  2 clusters  3 specialists  4 combine  5 baseline  6 distil-back  7 soft-specialists  8 report');
    expect(specialistsExperiment.summary).toMatch(/generalist \+ specialists/);
  });

  it('rejects bad options before doing any work, with the usage', async () => {
    await expect(run('--preset', 'huge')).rejects.toThrow(CliError);
    await expect(run('--preset', 'huge')).rejects.toThrow(/--preset must be one of smoke, quick, medium, got "huge"\n\nusage: kdasr experiment specialists/);
    await expect(run('--task', 'cifar')).rejects.toThrow(/--task must be one of speech, mnist-pairs, synthetic, all, got "cifar"/);
    await expect(run('--engine', 'gpu')).rejects.toThrow(/--engine must be one of native, tfjs, auto, got "gpu"/);
    await expect(run('--backend', 'gpu')).rejects.toThrow(/--backend must be one of tensorflow, wasm, cpu, auto, got "gpu"/);
    await expect(run('--stage', '12')).rejects.toThrow(/--stage 12: expected a stage number 0-8 or a name \(data, generalist, /);
    await expect(run('--stop-stage', 'decode')).rejects.toThrow(/--stop-stage decode: expected a stage number/);
    await expect(run('--epochs', '3')).rejects.toThrow(/experiment specialists: Unknown option '--epochs'/);
    await expect(run('extra')).rejects.toThrow(/unexpected argument "extra"/);
  });
});
