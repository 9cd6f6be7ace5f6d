import { describe, expect, it } from 'vitest';
import { getEspeak } from './espeak.js';
import { SILENCE_PHONE } from './lexicon.js';
import { AlignmentError, alignmentFromEvents, synthAndAlign, textForEspeak, type SampleAlignment } from './synth.js';

/** First sample at or after `from` whose 1 ms RMS exceeds `thr`; the energy rise of the next sound. */
function energyRise(x: Int16Array, from: number, thr: number, rate: number): number {
  const w = Math.round(rate / 1000);
  for (let i = Math.max(0, from); i + w <= x.length; i++) {
    let e = 0;
    for (let k = 0; k < w; k++) e += x[i + k] * x[i + k];
    if (Math.sqrt(e / w) > thr) return i;
  }
  return x.length;
}

/** For every phone that follows silence: |phone start - energy rise| in ms. */
function onsetErrorsMs(x: Int16Array, a: SampleAlignment, rate: number): { phone: string; errMs: number }[] {
  const out: { phone: string; errMs: number }[] = [];
  for (let i = 1; i < a.phones.length; i++) {
    const prev = a.phones[i - 1];
    if (prev.phone !== SILENCE_PHONE || a.phones[i].phone === SILENCE_PHONE) continue;
    // Search from the middle of the silence: the rise must be found, not assumed at the boundary.
    // RMS 100 of 32768 (-50 dBFS): above espeak's near-zero pauses, below a weak /f/ (which a threshold
    // relative to the peak, e.g. -30 dB, misses by 35-60 ms).
    const rise = energyRise(x, Math.floor((prev.start + prev.end) / 2), 100, rate);
    out.push({ phone: a.phones[i].phone, errMs: ((a.phones[i].start - rise) / rate) * 1000 });
  }
  return out;
}

describe('espeak-ng alignments agree with the audio', () => {
  // Capitals after the full stops: espeak only ends a sentence (and pauses) before a capital letter.
  const text = 'Sam said no. Mama is five. Zoo. Nine lions. Fine';
  const words = text.toLowerCase().replace(/\./g, '').split(' ');
  for (const voice of ['en-us+m3', 'en+f2', 'en-gb-scotland+klatt', 'en+whisper']) {
    it(`phone onsets after silence lie within 10 ms of the energy rise (${voice})`, () => {
      const es = getEspeak();
      const r = es.synth(text, { voice, rate: 160 });
      const a = alignmentFromEvents(words, r, text);
      const errs = onsetErrorsMs(r.samples, a, r.sampleRateHz);
      // Five pauses (utterance start and four full stops) give five onsets after silence.
      expect(errs.length).toBeGreaterThanOrEqual(5);
      for (const e of errs) expect(Math.abs(e.errMs), `${e.phone} ${e.errMs.toFixed(1)} ms`).toBeLessThanOrEqual(10);
      // The check has teeth: the same audio with every boundary moved 15 ms fails it.
      const shifted: SampleAlignment = { words: a.words, phones: a.phones.map((p) => ({ ...p, start: p.start + Math.round(0.015 * r.sampleRateHz) })) };
      expect(onsetErrorsMs(r.samples, shifted, r.sampleRateHz).some((e) => Math.abs(e.errMs) > 10)).toBe(true);
    });
  }

  it('words span their phones, in order, and tile the utterance', () => {
    const words = ['the', 'quick', 'brown', 'fox', 'jumps'];
    const r = getEspeak().synth(textForEspeak(words), { voice: 'en-us', rate: 175 });
    const a = alignmentFromEvents(words, r);
    expect(a.words.map((w) => w.word)).toEqual(words);
    expect(a.phones[0].start).toBe(0);
    expect(a.phones[a.phones.length - 1].end).toBe(r.samples.length);
    for (let i = 1; i < a.phones.length; i++) expect(a.phones[i].start).toBe(a.phones[i - 1].end);
    a.words.forEach((w, wi) => {
      const ps = a.phones.filter((p) => p.wordIndex === wi);
      expect(ps.length).toBeGreaterThan(0);
      expect(w.start).toBe(ps[0].start);
      expect(w.end).toBe(ps[ps.length - 1].end);
    });
    expect(a.phones.filter((p) => p.wordIndex === 2).map((p) => p.phone)).toEqual(['b', 'r', 'aU', 'n']);
  });

  it('splits word groups espeak merges ("in the", "do not") by the words\' own phone counts', () => {
    const es = getEspeak();
    const words = 'do not hide the cake in the kitchen'.split(' ');
    const voice = { voice: 'en-gb-x-gbcwmd', rate: 170 };
    // Without phone counts the merged words have no phones of their own, and the utterance is refused.
    const r = es.synth(textForEspeak(words), voice);
    expect(() => alignmentFromEvents(words, r)).toThrow(AlignmentError);
    const { alignment: a } = synthAndAlign(es, words, voice);
    const pron = (i: number) => a.phones.filter((p) => p.wordIndex === i).map((p) => p.phone);
    expect(pron(1)).toEqual(es.textToPhonemes('not'));
    expect(pron(6)).toEqual(['D', '@']);
    expect(pron(5)).toEqual(['I', 'n']);
    for (let i = 0; i < words.length; i++) expect(pron(i).length, words[i]).toBeGreaterThan(0);
  });
});
