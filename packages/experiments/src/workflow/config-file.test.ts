import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, applyOverrides, parseOverride, readConfigFile, resolveConfig, validateConfig } from './config-file.js';
import { resolveAsrExperimentConfig, resolveSpecialistsExperimentConfigs } from './experiment-configs.js';

const dir = mkdtempSync(join(tmpdir(), 'kdasr-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const schema = z.strictObject({
  name: z.string(),
  model: z.object({ epochs: z.number().int().positive(), kind: z.enum(['mlp', 'rnn']).default('mlp') }),
  temperatures: z.array(z.number().positive()).default([1]),
});

describe('config files', () => {
  it('reads JSON and YAML as plain data, and refuses YAML tags', () => {
    writeFileSync(join(dir, 'a.json'), '{"name": "x", "model": {"epochs": 2}}');
    writeFileSync(join(dir, 'a.yaml'), 'name: x\nmodel:\n  epochs: 2\ntemperatures: [1, 2.5]\n');
    writeFileSync(join(dir, 'bad.yml'), 'name: !!js/function "function () {}"\n');
    writeFileSync(join(dir, 'broken.json'), '{"name": ');
    expect(readConfigFile(join(dir, 'a.json'))).toEqual({ name: 'x', model: { epochs: 2 } });
    expect(readConfigFile(join(dir, 'a.yaml'))).toEqual({ name: 'x', model: { epochs: 2 }, temperatures: [1, 2.5] });
    expect(() => readConfigFile(join(dir, 'bad.yml'))).toThrow(/bad\.yml: .*no tags/);
    expect(() => readConfigFile(join(dir, 'broken.json'))).toThrow(/broken\.json: not valid JSON/);
    expect(() => readConfigFile(join(dir, 'none.json'))).toThrow(/none\.json does not exist/);
  });

  it('applies --set overrides in order, parsing values as JSON when they parse', () => {
    expect(parseOverride('a.b=3')).toEqual({ path: ['a', 'b'], value: 3 });
    expect(parseOverride('engine=tfjs')).toEqual({ path: ['engine'], value: 'tfjs' });
    expect(parseOverride('t=[1,2]')).toEqual({ path: ['t'], value: [1, 2] });
    const base = { model: { epochs: 2 }, temperatures: [1, 2] };
    const out = applyOverrides(base, ['model.epochs=5', 'temperatures.1=4', 'new.deep=true']);
    expect(out).toEqual({ model: { epochs: 5 }, temperatures: [1, 4], new: { deep: true } });
    expect(base.model.epochs).toBe(2);
    expect(() => applyOverrides(base, ['temperatures.x=1'])).toThrow(/temperatures is a list; index it with a number/);
    expect(() => parseOverride('=3')).toThrow(ConfigError);
  });

  it('names unknown keys (strict or not), bad values with the allowed ones, and missing fields', () => {
    const ok = validateConfig(schema, { name: 'x', model: { epochs: 2 } }, 'c.json');
    expect(ok).toEqual({ name: 'x', model: { epochs: 2, kind: 'mlp' }, temperatures: [1] });
    expect(() => validateConfig(schema, { name: 'x', modle: {} }, 'c.json')).toThrow(/c\.json: modle: unknown key; did you mean "model"\? \(allowed here: name, model, temperatures\)/);
    // model is a non-strict z.object: zod alone would drop the typo silently.
    expect(() => validateConfig(schema, { name: 'x', model: { epoch: 2 } }, 'c.json')).toThrow(/model\.epoch: unknown key; did you mean "model\.epochs"\?/);
    expect(() => validateConfig(schema, { name: 'x', model: { epochs: 2, kind: 'cnn' } }, 'c.json')).toThrow(/model\.kind: "cnn" is not allowed; allowed values: "mlp", "rnn"/);
    expect(() => validateConfig(schema, { name: 'x', model: {} }, 'c.json')).toThrow(/model\.epochs: required \(number\)/);
    expect(() => validateConfig(schema, { name: 'x', model: { epochs: 2 }, temperatures: [1, -1] }, 'c.json')).toThrow(/temperatures\.1: .*\(got -1\)/);
    expect(resolveConfig(schema, { base: { name: 'x', model: { epochs: 2 } }, sets: ['model.kind=rnn'] }).model.kind).toBe('rnn');
  });

  it('resolves the recipes\u2019 configs: a preset, a file, --set; unions and per-task maps', () => {
    const smoke = resolveAsrExperimentConfig({ preset: 'smoke', sets: ['model.epochs=3'] });
    expect(smoke.model.epochs).toBe(3);
    const f = join(dir, 'asr.yaml');
    writeFileSync(f, JSON.stringify({ ...smoke, corpus: { ...smoke.corpus, speekers: 3 } }));
    expect(() => resolveAsrExperimentConfig({ configFile: f })).toThrow(/corpus\.speekers: unknown key; did you mean "corpus\.speakers"\?/);
    expect(() => resolveAsrExperimentConfig({ preset: 'smoke', fsddDir: dir })).toThrow(/--fsdd DIR applies to an FSDD corpus only/);
    expect(resolveAsrExperimentConfig({ preset: 'fsdd', fsddDir: dir }).corpus).toMatchObject({ kind: 'fsdd', dir });
    const sp = resolveSpecialistsExperimentConfigs({ preset: 'smoke', task: 'synthetic', sets: ['synthetic.seed=4'] });
    expect(Object.keys(sp)).toEqual(['synthetic']);
    expect(sp.synthetic!.seed).toBe(4);
    expect(() => resolveSpecialistsExperimentConfigs({ preset: 'smoke', task: 'synthetic', sets: ['speech.seed=4'] })).toThrow(/speech is not one of this run's tasks/);
  });
});
