import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime } from '@kdasr/core';
import { DEFAULT_FSDD_DIR } from '@kdasr/corpus';
import { asrPreset } from './config.js';
import { UTTERANCE_SPLITS_FILE, loadAsrData } from './data.js';
import { runAsrExperiment } from './recipe.js';
import { readDone } from '../stages.js';
import { readScore } from './score.js';

const have = existsSync(join(DEFAULT_FSDD_DIR, 'recordings'));
if (!have) console.warn(`asr recipe on FSDD skipped: ${DEFAULT_FSDD_DIR} is absent (the FSDD copy lives in ../shared/data/fsdd beside the repo)`);

// The recipe on real recorded speech: a small FSDD (2 speakers, takes 0-8) through every stage.
describe.skipIf(!have)('kdasr experiment asr on FSDD (smoke sizes)', () => {
  const root = mkdtempSync(join(tmpdir(), 'kdasr-asr-fsdd-'));
  const src = join(root, 'fsdd');
  const dir = join(root, 'exp');
  const config = asrPreset('smoke', {
    corpus: { kind: 'fsdd', dir: src, digitsPerUtterance: [3, 5], devFraction: 0.2 },
    labels: { statesPerPhone: 4, treeLeaves: null, realign: { passes: 1, epochs: 1 } },
  });
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' });
    mkdirSync(join(src, 'recordings'), { recursive: true });
    for (const f of readdirSync(join(DEFAULT_FSDD_DIR, 'recordings'))) {
      const m = /^\d_([a-z]+)_(\d+)\.wav$/.exec(f);
      if (m && ['jackson', 'theo'].includes(m[1]) && Number(m[2]) <= 8) symlinkSync(join(DEFAULT_FSDD_DIR, 'recordings', f), join(src, 'recordings', f));
    }
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('imports the connected digits, keeps the official test takes out of training, and reports WER', async () => {
    const r = await runAsrExperiment({ config, expDir: dir, log: () => {} });
    expect(r.outcomes.map((o) => o.status)).toEqual(Array(8).fill('ran'));
    const splits = JSON.parse(readFileSync(join(dir, 'corpus', UTTERANCE_SPLITS_FILE), 'utf8')) as Record<string, string[]>;
    // Takes 0-4 are FSDD's test set: 2 speakers x 10 digits x 5 takes, joined 3-5 per utterance.
    expect(splits.test.every((id) => id.includes('-test-'))).toBe(true);
    expect([...splits.train, ...splits.dev].every((id) => id.includes('-train-'))).toBe(true);
    expect(splits.dev.length).toBeGreaterThan(0);
    const data = loadAsrData(dir, config);
    // 10 digits x 4 states + 3 silence states, 8 kHz frames.
    expect(data.task.numClasses).toBe(43);
    expect(data.frameOptions.sampleRateHz).toBe(8000);
    expect(data.task.description).toMatch(/FSDD recorded connected digits/);
    expect(data.testSups.length).toBe(splits.test.length);
    data.archive.close();
    const w = readScore(dir, 'ensemble')!.wer!;
    expect(w.refWords).toBeGreaterThan(0);
    expect(w.errors).toBe(w.insertions + w.deletions + w.substitutions);
    const md = readFileSync(join(dir, 'RESULTS.md'), 'utf8');
    expect(md).toMatch(/Corpus: FSDD \(recorded speech, 8 kHz\)/);
    expect(md).toMatch(/whole-word HMM states \(4 per digit, 3 for silence\), from the exact word boundaries .*, then 1 pass of train \(1 epochs\) → forced realignment/);
    // The realignment pass replaced the even split: the stored targets differ from the span-split ones on some frames
    // and still follow each transcript's word order (every digit's states appear in order within each utterance).
    const realigned = readDone(dir, 'labels')!.summary as { realign: { changedFraction: number; failed: number }[] };
    expect(realigned.realign).toHaveLength(1);
    expect(realigned.realign[0].failed).toBe(0);
    expect(realigned.realign[0].changedFraction).toBeGreaterThan(0);
    expect(realigned.realign[0].changedFraction).toBeLessThan(1);
    const inv = loadAsrData(dir, config);
    const text = new Map(readFileSync(join(dir, 'corpus', 'supervisions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; text: string }).map((x) => [x.id, x.text]));
    for (const line of readFileSync(join(dir, 'data', 'labels.jsonl'), 'utf8').trim().split('\n').slice(0, 10)) {
      const u = JSON.parse(line) as { id: string; mono: number[] };
      // A word starts where the phone changes, or where the same digit's states restart at 0 ("one one").
      const phone = (k: number) => inv.inventory.phoneOfClass(k);
      const state = (k: number) => inv.inventory.stateOfClass(k);
      const words = u.mono.filter((k, t, a) => phone(k) !== 'sil' && (t === 0 || phone(a[t - 1]) !== phone(k) || (state(k) === 0 && state(a[t - 1]) !== 0))).map(phone);
      expect(words.join(' ')).toBe(text.get(u.id));
    }
    inv.archive.close();
    expect(md).toMatch(/\| distilled, T=2 \| \d+\.\d\d% \| \d+\.\d\d% \|/);
  }, 300_000);

  it('names the fix when the FSDD directory is missing', async () => {
    const bad = asrPreset('smoke', { corpus: { kind: 'fsdd', dir: join(root, 'nope') } });
    await expect(runAsrExperiment({ config: bad, expDir: join(root, 'exp2'), log: () => {} })).rejects.toThrow(/corpus\.dir .*nope: no recordings\/ directory; point it .*--fsdd DIR/);
  });
});
