/**
 * One synthetic utterance: espeak-ng audio at 22,050 Hz plus its phoneme and word events, turned into an
 * exact alignment, resampled to the output rate, and put through an acoustic condition.
 *
 * Alignment convention (documented in README): a phone starts at its espeak PHONEME event (the event
 * marks the acoustic onset: a stop's event is its release, so the closure silence before it belongs to
 * the preceding phone) and ends where the next phone starts; espeak's pause phonemes ("_", "_:") and the
 * leading and trailing padding are `sil`. A word spans its phones.
 */
import { resample } from '@kdasr/audio-features';
import { Rng } from '@kdasr/core';
import { applyCondition, limitPeak, type Condition } from './conditions.js';
import { EVENT, type Espeak, type SynthResult, type VoiceSettings } from './espeak.js';
import { SILENCE_PHONE } from './lexicon.js';
import type { Alignment, PhoneSegment, WordSegment } from './manifest.js';

/** Phone and word segments in sample indices (end exclusive) at one sample rate. */
export interface SampleAlignment {
  words: { word: string; start: number; end: number }[];
  phones: { phone: string; start: number; end: number; wordIndex?: number }[];
}

export class AlignmentError extends Error {}

/** Start offsets (1-based, as espeak's text_position counts) of each word in the synthesised text. */
function tokenStarts(words: string[], text: string): number[] {
  const lower = text.toLowerCase();
  const starts: number[] = [];
  let from = 0;
  for (const w of words) {
    const at = lower.indexOf(w, from);
    if (at < 0) throw new AlignmentError(`word "${w}" not found in the synthesised text "${text}"`);
    starts.push(at + 1);
    from = at + w.length;
  }
  return starts;
}

/**
 * Turn espeak events into an alignment over `words`, the words of `text` (the synthesised text, by default
 * the words joined by spaces with a full stop).
 * Throws AlignmentError when the events cannot be matched to the words one to one (espeak expanded or
 * merged a word), so no utterance is written with a wrong alignment.
 */
export function alignmentFromEvents(
  words: string[],
  r: SynthResult,
  text = textForEspeak(words),
  /** Phones espeak uses for a word on its own; needed to split merged word groups ("in the"). */
  phoneCount?: (word: string) => number,
): SampleAlignment {
  const starts = tokenStarts(words, text);
  const wordOf = (textPos: number): number => {
    let k = -1;
    for (let i = 0; i < starts.length; i++) if (textPos >= starts[i]) k = i;
    return k;
  };
  const ph = r.events.filter((e) => e.type === EVENT.PHONEME);
  const n = r.samples.length;
  const phones: SampleAlignment['phones'] = [];
  const first = ph.length ? Math.max(0, Math.min(ph[0].sample, n)) : n;
  if (first > 0) phones.push({ phone: SILENCE_PHONE, start: 0, end: first });
  for (let i = 0; i < ph.length; i++) {
    const start = Math.min(Math.max(ph[i].sample, 0), n);
    const end = i + 1 < ph.length ? Math.min(Math.max(ph[i + 1].sample, start), n) : n;
    if (end < start) throw new AlignmentError(`phoneme events out of order at ${ph[i].phoneme}`);
    const name = ph[i].phoneme ?? '';
    if (name.startsWith('_') || name === '') {
      if (phones.length && phones[phones.length - 1].phone === SILENCE_PHONE) phones[phones.length - 1].end = end;
      else phones.push({ phone: SILENCE_PHONE, start, end });
      continue;
    }
    const w = wordOf(ph[i].textPosition);
    if (w < 0) throw new AlignmentError(`phoneme "${name}" at text position ${ph[i].textPosition} precedes the first word`);
    phones.push({ phone: name, start, end, wordIndex: w });
  }
  splitMergedWords(words, phones, phoneCount);
  // Words: the span of their phones; every token must own at least one phone, in order.
  const out: SampleAlignment['words'] = words.map((word) => ({ word, start: -1, end: -1 }));
  let last = -1;
  for (const p of phones) {
    if (p.wordIndex === undefined) continue;
    if (p.wordIndex < last) throw new AlignmentError(`phones of word ${p.wordIndex} ("${words[p.wordIndex]}") come after word ${last}`);
    last = p.wordIndex;
    const w = out[p.wordIndex];
    if (w.start < 0) w.start = p.start;
    w.end = p.end;
  }
  const missing = out.filter((w) => w.start < 0).map((w) => w.word);
  if (missing.length) throw new AlignmentError(`espeak produced no phonemes of its own for: ${missing.join(', ')} (merged with a neighbour?)`);
  // A word's phones must be contiguous: no other word's phone inside it.
  for (let i = 0; i + 1 < out.length; i++)
    if (out[i].end > out[i + 1].start) throw new AlignmentError(`words "${out[i].word}" and "${out[i + 1].word}" overlap`);
  return { words: out, phones };
}

/**
 * espeak sometimes speaks a short word group as one word ("in the", "do not"): all its phonemes carry the
 * first word's text position and the later words get none. Split such a group using each word's phone count
 * on its own; when the counts do not add up, leave it (alignmentFromEvents then rejects the utterance).
 */
function splitMergedWords(words: string[], phones: SampleAlignment['phones'], phoneCount?: (word: string) => number): void {
  if (!phoneCount) return;
  const owned = new Set(phones.map((p) => p.wordIndex));
  for (let k = 0; k < words.length; k++) {
    if (!owned.has(k)) continue;
    let m = k + 1;
    while (m < words.length && !owned.has(m)) m++;
    if (m === k + 1) continue;
    const group = phones.filter((p) => p.wordIndex === k);
    const counts = words.slice(k, m).map((w) => phoneCount(w));
    if (counts.reduce((a, b) => a + b, 0) !== group.length || counts.some((c) => c < 1)) continue;
    let i = 0;
    counts.forEach((c, j) => {
      for (let n = 0; n < c; n++) group[i++].wordIndex = k + j;
    });
  }
}

/** Map a sample alignment to another rate and shift it by `offset` output samples. */
export function rescaleAlignment(a: SampleAlignment, fromHz: number, toHz: number, offset: number, totalSamples: number): SampleAlignment {
  const m = (s: number) => Math.min(totalSamples, Math.round((s * toHz) / fromHz) + offset);
  return {
    words: a.words.map((w) => ({ ...w, start: m(w.start), end: m(w.end) })),
    phones: a.phones.map((p) => ({ ...p, start: m(p.start), end: m(p.end) })),
  };
}

/** Pad with leading/trailing silence segments (merged into existing edge silences). */
function padAlignment(a: SampleAlignment, lead: number, total: number): SampleAlignment {
  const phones = a.phones.map((p) => ({ ...p }));
  if (lead > 0) {
    if (phones.length && phones[0].phone === SILENCE_PHONE && phones[0].start === lead) phones[0].start = 0;
    else phones.unshift({ phone: SILENCE_PHONE, start: 0, end: lead });
  }
  const end = phones.length ? phones[phones.length - 1].end : 0;
  if (end < total) {
    const lastP = phones[phones.length - 1];
    if (lastP && lastP.phone === SILENCE_PHONE) lastP.end = total;
    else phones.push({ phone: SILENCE_PHONE, start: end, end: total });
  }
  return { words: a.words, phones };
}

export function toSecondsAlignment(id: string, recordingId: string, a: SampleAlignment, rateHz: number): Alignment {
  const sec = (s: number) => s / rateHz;
  return {
    id,
    recordingId,
    words: a.words.map((w): WordSegment => ({ word: w.word, startSec: sec(w.start), endSec: sec(w.end) })),
    phones: a.phones.map((p): PhoneSegment => {
      const seg: PhoneSegment = { phone: p.phone, startSec: sec(p.start), endSec: sec(p.end) };
      if (p.wordIndex !== undefined) seg.wordIndex = p.wordIndex;
      return seg;
    }),
  };
}

export interface UtteranceSpec {
  words: string[];
  voice: VoiceSettings;
  condition: Condition;
  /** Silence added before and after the speech, in seconds. */
  leadSec: number;
  tailSec: number;
  /** Seed for this utterance's noise and room. */
  seed: number;
}

export interface SynthesisedUtterance {
  samples: Float32Array;
  sampleRateHz: number;
  /** Alignment in output samples. */
  alignment: SampleAlignment;
  /** Pronunciation used for each word (phones without silence). */
  prons: string[][];
}

/** espeak reads the words as one sentence; the final full stop gives it a sentence-final intonation. */
export function textForEspeak(words: string[]): string {
  return words.join(' ') + '.';
}

/**
 * The espeak part of an utterance: synthesis and alignment at 22,050 Hz. Every call into espeak happens
 * here, so a resumed run can replay exactly the same calls to reach the same synthesiser state.
 */
export function synthAndAlign(espeak: Espeak, words: string[], voice: VoiceSettings): { r: SynthResult; alignment: SampleAlignment } {
  const r = espeak.synth(textForEspeak(words), voice);
  const counts = new Map<string, number>();
  const phoneCount = (w: string) => {
    if (!counts.has(w)) counts.set(w, espeak.textToPhonemes(w).length);
    return counts.get(w)!;
  };
  return { r, alignment: alignmentFromEvents(words, r, textForEspeak(words), phoneCount) };
}

export function synthesiseUtterance(
  espeak: Espeak,
  spec: UtteranceSpec,
  opts: { outputRateHz: number; babblePool?: readonly Float32Array[] },
): SynthesisedUtterance {
  const { r, alignment: a22 } = synthAndAlign(espeak, spec.words, spec.voice);
  const dry = new Float32Array(r.samples.length);
  for (let i = 0; i < dry.length; i++) dry[i] = r.samples[i] / 32768;
  const speech = resample(dry, r.sampleRateHz, opts.outputRateHz);
  const lead = Math.round(spec.leadSec * opts.outputRateHz);
  const tail = Math.round(spec.tailSec * opts.outputRateHz);
  const padded = new Float32Array(lead + speech.length + tail);
  padded.set(speech, lead);
  const rng = new Rng(spec.seed);
  const wet = applyCondition(padded, spec.condition, { sampleRateHz: opts.outputRateHz, rng, babblePool: opts.babblePool });
  limitPeak(wet);
  const scaled = rescaleAlignment(a22, r.sampleRateHz, opts.outputRateHz, lead, lead + speech.length);
  const alignment = padAlignment(scaled, lead, wet.length);
  const prons = spec.words.map((_, wi) => a22.phones.filter((p) => p.wordIndex === wi).map((p) => p.phone));
  return { samples: wet, sampleRateHz: opts.outputRateHz, alignment, prons };
}
