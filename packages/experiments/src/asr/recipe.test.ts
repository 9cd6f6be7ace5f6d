import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime } from '@kdasr/core';
import { EspeakUnavailableError, getEspeak } from '@kdasr/corpus';
import { loadAcousticModel } from '@kdasr/acoustic-models';
import { StoredLogitsTeacher, frameAccuracy } from '@kdasr/distillation';
import { asrPreset } from './config.js';
import { loadAsrData } from './data.js';
import { runAsrExperiment } from './recipe.js';
import { readScore } from './score.js';

let why = '';
try {
  getEspeak();
} catch (e) {
  if (!(e instanceof EspeakUnavailableError)) throw e;
  why = e.message;
}
if (why) console.warn(`asr recipe end-to-end test skipped: libespeak-ng is unavailable (${why}); install espeak-ng and libespeak-ng1`);

// The smoke preset end to end: synthesis -> features -> labels -> ensemble -> stored logits -> students -> decode
// -> report, then resume and a config change that reruns only what it affects.
describe.skipIf(!!why)('kdasr experiment asr, smoke preset', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdasr-asr-'));
  const config = asrPreset('smoke');
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  beforeAll(async () => {
    await initRuntime({ backend: 'cpu' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every stage and writes RESULTS.md with the paper\u2019s figures beside ours', async () => {
    const r = await runAsrExperiment({ config, expDir: dir, log });
    expect(r.outcomes.map((o) => o.status)).toEqual(Array(8).fill('ran'));
    const md = readFileSync(join(dir, 'RESULTS.md'), 'utf8');
    expect(md).toMatch(/## Table 1: frame accuracy and WER/);
    expect(md).toMatch(/\| baseline \(member 0\) \| \d+\.\d\d% \| \d+\.\d\d% \| (0\.1|1) \| – \| 58\.9% \| 10\.9% \|/);
    expect(md).toMatch(/acoustic scale chosen per system by dev WER over \{0\.1, 1\} \(first 2 dev utterances\)/);
    expect(md).toMatch(/\| distilled, T=2 \| \d+\.\d\d% \|/);
    expect(md).toMatch(/## Table 5[\s\S]*30% of frames, hard targets[\s\S]*44\.5%/);
    expect(md).toMatch(/## Ablations[\s\S]*geometric-mean ensemble[\s\S]*stored top-5 logits/);
    for (const f of ['training-curves.svg', 'accuracy-vs-temperature.svg', 'small-data-curves.svg']) expect(readFileSync(join(dir, 'plots', f), 'utf8')).toMatch(/^<svg/);
    expect(r.results!.table1).toHaveLength(2 + config.distillation.temperatures.length);
  }, 240_000);

  it('records numbers that can be recomputed from the saved artifacts', async () => {
    const data = loadAsrData(dir, config);
    const m0 = (await loadAcousticModel(join(dir, 'models/member-0/model'))).model;
    expect(readScore(dir, 'baseline')!.testFrameAccuracy).toBeCloseTo(frameAccuracy(m0, data.task.test), 6);
    // Stored teacher logits are member 0's logits on the training frames, in index order.
    const stored = StoredLogitsTeacher.open(join(dir, 'logits/dense/member-0'));
    const idx = Int32Array.from([0, 7, data.task.train.size - 1]);
    const direct = m0.logitsHost!(data.task.train.gather(idx).features, idx.length);
    const got = stored.gatherLogits(idx);
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(direct[i], 4);
    // The test decode used the dev-chosen acoustic scale: the lowest dev WER of the sweep (ties: the first listed).
    const ensScore = readScore(dir, 'ensemble')!;
    const best = ensScore.tuning!.reduce((b, t) => (t.devWer < b.devWer ? t : b));
    expect(ensScore.tuning!.map((t) => t.acousticScale)).toEqual([0.1, 1]);
    expect(ensScore.acousticScale).toBe(best.acousticScale);
    const w = ensScore.wer!;
    expect(w.errors).toBe(w.insertions + w.deletions + w.substitutions);
    expect(w.wer).toBeCloseTo((100 * w.errors) / w.refWords, 6);
    expect(readScore(dir, 'small-hard')!.wer).toBeUndefined();
    m0.dispose();
    data.archive.close();
  }, 60_000);

  it('skips complete stages on a rerun and reruns only what a config change affects', async () => {
    const again = await runAsrExperiment({ config, expDir: dir, log });
    expect(again.outcomes.every((o) => o.status === 'skipped')).toBe(true);
    // A beam far too narrow: the report must say which systems' searches failed.
    const changed = asrPreset('smoke', { decode: { beam: 1e-4, maxUtterances: 3 } });
    const stale = readScore(dir, 'baseline')!;
    const r = await runAsrExperiment({ config: changed, expDir: dir, log });
    expect(r.outcomes.filter((o) => o.status === 'ran').map((o) => o.name)).toEqual(['score', 'report']);
    expect(existsSync(join(dir, 'score/baseline/hyp.txt'))).toBe(true);
    // Rescored under the new config, not reused (a fresh score.json).
    expect(readScore(dir, 'baseline')!.seconds).not.toBe(stale.seconds);
    const failed = readScore(dir, 'baseline')!.notReachedFinal!;
    const md = readFileSync(join(dir, 'RESULTS.md'), 'utf8');
    if (failed > 0) expect(md).toMatch(new RegExp(`Search failures .*baseline ${failed}/3`));
    else expect(md).not.toMatch(/Search failures/);
  }, 120_000);
});
