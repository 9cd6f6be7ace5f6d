import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initRuntime } from '@kdasr/core';
import { fbank, parseFbankConfig } from '@kdasr/audio-features';
import { EspeakUnavailableError, getEspeak, synthesiseUtterance, type Espeak } from '@kdasr/corpus';
import { FrameDataset, Frontend, boundaryFrame, labelsFromPhoneSegments, logPosteriors, priorsFromCounts, trainAcousticModel, type Utterance } from '@kdasr/acoustic-models';
import { forcedAlign, posteriorsToLoglikes, type Lexicon } from '@kdasr/decoding';
import { decodingLexicon, inventoryOf, makeLang, transitionModelOf, type Lang } from '@kdasr/experiments';

// Forced alignment against ground truth: espeak-ng's own phone boundaries (exact, from its phoneme events) on clean
// synthetic speech -> fbank -> a small monophone DNN trained on those alignments -> forcedAlign of the same
// utterances -> compare each phone's start and end frame with the synthesiser's.
const root = resolve(import.meta.dirname, '../../../..');
let espeak: Espeak | undefined;
let why = '';
try {
  espeak = getEspeak();
} catch (e) {
  if (!(e instanceof EspeakUnavailableError)) throw e;
  why = e.message;
}
if (!espeak) console.warn(`forced-alignment boundary test skipped: libespeak-ng is unavailable (${why}); install espeak-ng and libespeak-ng1`);

describe.skipIf(!espeak)('forcedAlign recovers the synthesiser phone boundaries', () => {
  beforeAll(async () => {
    await initRuntime();
  });

  it('mean |boundary error| <= 2 frames', { timeout: 120_000 }, async () => {
    const RATE = 16000;
    const frame = parseFbankConfig({ sampleRateHz: RATE });
    const frameOpts = { sampleRateHz: RATE, frameLengthMs: frame.frameLengthMs, frameShiftMs: frame.frameShiftMs, snipEdges: frame.snipEdges };
    const prompts = readFileSync(resolve(root, 'data/corpus-text/prompts.txt'), 'utf8').split('\n').filter(Boolean).slice(0, 40);
    const utts: { id: string; features: ReturnType<typeof fbank>; phones: { phone: string; startSec: number; endSec: number }[]; prons: string[][]; words: string[] }[] = [];
    for (const [i, p] of prompts.entries()) {
      const words = p.split(/\s+/);
      const s = synthesiseUtterance(espeak!, { words, voice: { voice: 'en-us', rate: 150 + 10 * (i % 4) }, condition: { noise: 'none' }, leadSec: 0.2, tailSec: 0.2, seed: i }, { outputRateHz: RATE });
      if (s.prons.some((q) => q.length === 0)) continue;
      utts.push({
        id: `u${i}`,
        features: fbank(s.samples, { sampleRateHz: RATE }),
        phones: s.alignment.phones.map((q) => ({ phone: q.phone, startSec: q.start / RATE, endSec: q.end / RATE })),
        prons: s.prons,
        words,
      });
    }
    expect(utts.length).toBeGreaterThan(30);
    const phones = ['sil', ...[...new Set(utts.flatMap((u) => u.prons.flat()))].filter((p) => p !== 'sil').sort()];
    const lang: Lang = { phones, silencePhone: 'sil', statesPerPhone: 3, statesPerSilence: 3, lexicon: {} };
    const inventory = inventoryOf(lang);
    const data: Utterance[] = utts.map((u) => ({
      id: u.id,
      features: u.features,
      labels: labelsFromPhoneSegments(u.phones, u.features.numFrames, frameOpts, inventory, { fillPhone: 'sil', where: u.id }),
    }));
    const fe = { splice: { left: 5, right: 5 }, cmvn: { mode: 'utterance' as const } };
    const frontend = new Frontend(fe);
    const train = new FrameDataset(data, { numClasses: inventory.numClasses, frontend });
    const t = await trainAcousticModel({
      config: { hiddenLayers: 2, hiddenUnits: 256, dropout: 0, frontend: fe, epochs: 10, batchSize: 128, optimizer: { kind: 'adam', learningRate: 1e-3 }, patience: 0, newbob: null },
      train,
    });
    const logPriors = Array.from(priorsFromCounts(train.labels(), inventory.numClasses), Math.log);
    const tm = transitionModelOf(lang, inventory);
    let sum = 0;
    let n = 0;
    for (const u of utts) {
      // Each token gets exactly the pronunciation espeak used in this utterance.
      const tokens = u.words.map((w, i) => `${w}#${i}`);
      const lexicon: Lexicon = new Map(tokens.map((w, i) => [w, [{ phones: u.prons[i], prob: 1 }]]));
      const ll = posteriorsToLoglikes(logPosteriors(t.model, frontend.transform({ id: u.id, features: u.features })), logPriors, 1);
      const r = forcedAlign(ll, tokens, { lexicon, transitionModel: tm, uttId: u.id, acousticScale: 1, silencePhone: 'sil' });
      const hyp = r.phoneSegments.filter((s) => s.wordIndex >= 0);
      const ref = u.phones.filter((p) => p.phone !== 'sil');
      expect(hyp.map((s) => s.phone)).toEqual(ref.map((p) => p.phone));
      for (const [k, h] of hyp.entries()) {
        sum += Math.abs(h.startFrame - boundaryFrame(ref[k].startSec, frameOpts)) + Math.abs(h.endFrame + 1 - boundaryFrame(ref[k].endSec, frameOpts));
        n += 2;
      }
    }
    t.model.dispose();
    const mean = sum / n;
    console.log(`forced alignment vs espeak boundaries: mean |error| ${mean.toFixed(3)} frames over ${n} boundaries, ${utts.length} utterances (engine ${t.engine})`);
    expect(mean).toBeLessThanOrEqual(2);
  });
});

describe('makeLang with a multi-pronunciation lexicon', () => {
  it('covers the phones of every pronunciation and decodes with all of them', () => {
    const d = mkdtempSync(join(tmpdir(), 'kdasr-lang-'));
    try {
      writeFileSync(join(d, 'lexicon.txt'), 'a a#\na a# r-\nthe D @\nthe D i:\n');
      const lang = makeLang({ lexiconFile: join(d, 'lexicon.txt'), words: [] });
      expect(lang.phones).toEqual(['sil', '@', 'D', 'a#', 'i:', 'r-']);
      expect(lang.lexicon.a).toEqual(['a#']);
      expect(decodingLexicon(lang).get('the')!.map((p) => p.phones.join(' '))).toEqual(['D @', 'D i:']);
      const single = makeLang({ words: ['x'], wholeWordStates: 2 });
      expect(single.prons).toBeUndefined();
      expect(decodingLexicon(single).get('x')).toEqual([{ phones: ['x'], prob: 1 }]);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
