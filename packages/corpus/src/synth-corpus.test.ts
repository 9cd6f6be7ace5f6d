import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWav } from '@kdasr/audio-features';
import { Lexicon, readLexiconJsonl } from './lexicon.js';
import { AlignmentSchema, RecordingSchema, SupervisionSchema, readJsonl, type Alignment, type Recording } from './manifest.js';
import { readSplits } from './splits.js';
import { PRESETS, synthCorpus, type Preset, type SynthSummary } from './synth-corpus.js';
import { validateCorpus } from './validate.js';
import { formatProblem } from './problems.js';
import { tempDir } from './test/helpers.js';

const t = tempDir('synth');
afterAll(t.cleanup);
const tiny = join(t.dir, 'tiny');
const logs: string[] = [];
let summary: SynthSummary;

beforeAll(async () => {
  summary = await synthCorpus({ preset: 'tiny', seed: 3, outDir: tiny, jobs: 2, log: (l) => logs.push(l) });
}, 120_000);

describe('synthetic corpus, tiny preset end to end', () => {
  it('writes a valid 16 kHz corpus with every utterance, voice and word', () => {
    expect(summary).toMatchObject({ utterances: 12, skipped: 0, speakers: 6, preset: 'tiny', seed: 3 });
    const r = validateCorpus(tiny, { expectedSampleRateHz: 16000 });
    expect(r.problems.map(formatProblem)).toEqual([]);
    expect(r.counts.recordings).toBe(12);
    expect(r.counts.alignments).toBe(12);
    expect(logs.some((l) => /ETA/.test(l))).toBe(true);
    for (const f of ['lexicon.txt', 'phones.txt', 'speakers.jsonl', 'corpus.json', 'lm-text.txt']) expect(existsSync(join(tiny, f)), f).toBe(true);
  });

  it('phones tile each recording and every aligned word uses a pronunciation in the lexicon', () => {
    const recs = new Map(readJsonl(join(tiny, 'recordings.jsonl'), RecordingSchema).map((r) => [r.id, r]));
    const lex: Lexicon = readLexiconJsonl(join(tiny, 'lexicon.jsonl'));
    const txt = readFileSync(join(tiny, 'lexicon.txt'), 'utf8');
    for (const a of readJsonl(join(tiny, 'alignments.jsonl'), AlignmentSchema)) {
      const rec = recs.get(a.recordingId)!;
      expect(a.phones[0].startSec).toBe(0);
      expect(a.phones[a.phones.length - 1].endSec).toBeCloseTo(rec.numSamples / 16000, 9);
      for (let i = 1; i < a.phones.length; i++) expect(a.phones[i].startSec).toBe(a.phones[i - 1].endSec);
      // Times sit on the 16 kHz sample grid.
      for (const p of a.phones) expect(Math.abs(p.startSec * 16000 - Math.round(p.startSec * 16000))).toBeLessThan(1e-6);
      a.words.forEach((w, wi) => {
        const pron = a.phones.filter((p) => p.wordIndex === wi).map((p) => p.phone);
        expect(lex.prons(w.word)!.map((p) => p.join(' '))).toContain(pron.join(' '));
        expect(txt).toContain(`${w.word} ${pron.join(' ')}\n`);
      });
    }
  });

  it('splits are speaker-disjoint, the LM text is sentence-disjoint, and conditions vary', () => {
    const s = readSplits(join(tiny, 'splits.json'));
    expect(s.dev).toHaveLength(1);
    expect(s.test).toHaveLength(1);
    expect(new Set([...s.train, ...s.dev, ...s.test]).size).toBe(6);
    const sups = readJsonl(join(tiny, 'supervisions.jsonl'), SupervisionSchema);
    const lm = new Set(readFileSync(join(tiny, 'lm-text.txt'), 'utf8').split('\n'));
    for (const x of sups) expect(lm.has(x.text)).toBe(false);
    const recs = readJsonl(join(tiny, 'recordings.jsonl'), RecordingSchema);
    const conds = recs.map((r) => (r.meta as { condition: { noise: string } }).condition.noise);
    expect(new Set(conds).size).toBeGreaterThan(1);
    const voices = new Set(recs.map((r) => (r.meta as { voice: { voice: string } }).voice.voice));
    expect(voices.size).toBe(6);
  });

  it('resumes: deleted utterances are redone byte-identically and finished ones are skipped', async () => {
    const ids = ['spk001-0001', 'spk004-0000'];
    const wavs = ids.map((id) => join(tiny, 'wav', id.split('-')[0], `${id}.wav`));
    const before = wavs.map((w) => readFileSync(w));
    const manifests = ['recordings.jsonl', 'alignments.jsonl', 'lexicon.jsonl'].map((f) => readFileSync(join(tiny, f), 'utf8'));
    for (const [i, id] of ids.entries()) {
      rmSync(join(tiny, '.work', `${id}.json`));
      rmSync(wavs[i]);
    }
    const log: string[] = [];
    const s = await synthCorpus({ preset: 'tiny', seed: 3, outDir: tiny, jobs: 2, log: (l) => log.push(l) });
    expect(log[0]).toMatch(/10 already done, 2 to go/);
    expect(s.resumed).toBe(10);
    wavs.forEach((w, i) => expect(readFileSync(w).equals(before[i]), w).toBe(true));
    expect(['recordings.jsonl', 'alignments.jsonl', 'lexicon.jsonl'].map((f) => readFileSync(join(tiny, f), 'utf8'))).toEqual(manifests);
    await expect(synthCorpus({ preset: 'tiny', seed: 4, outDir: tiny, jobs: 1, log: () => {} })).rejects.toThrow(/holds a different corpus \(preset tiny, seed 3.*use another --out/);
  }, 120_000);
});

describe('synthetic corpus, alignment on the 16 kHz output timeline', () => {
  it('clean output: each onset after silence is within 10 ms of the energy rise in the written wav', async () => {
    const clean: Preset = {
      ...PRESETS.tiny,
      name: 'clean-test',
      speakers: 3,
      utterancesPerSpeaker: 1,
      conditions: { clean: 1, noiseTypes: ['white'], snrDb: [0, 0], reverb: 0, rt60Sec: [0.1, 0.1] },
    };
    const dir = join(t.dir, 'clean');
    await synthCorpus({ preset: clean, seed: 5, outDir: dir, jobs: 1, log: () => {} });
    const alis = new Map(readJsonl(join(dir, 'alignments.jsonl'), AlignmentSchema).map((a) => [a.id, a]));
    const recs: Recording[] = readJsonl(join(dir, 'recordings.jsonl'), RecordingSchema);
    expect(recs).toHaveLength(3);
    for (const r of recs) {
      const x = readWav(join(dir, r.path!)).samples;
      const a: Alignment = alis.get(r.id)!;
      const sil = a.phones[0];
      expect(sil.phone).toBe('sil');
      // Leading padding is digital silence: the first 1 ms RMS above -50 dBFS marks the speech onset.
      let rise = 0;
      for (; rise + 16 <= x.length; rise++) {
        let e = 0;
        for (let k = 0; k < 16; k++) e += x[rise + k] ** 2;
        if (Math.sqrt(e / 16) > 100 / 32768) break;
      }
      const errMs = (a.phones[1].startSec - rise / 16000) * 1000;
      expect(Math.abs(errMs), `${r.id} ${a.phones[1].phone} ${errMs.toFixed(1)} ms`).toBeLessThanOrEqual(10);
    }
  }, 120_000);
});
