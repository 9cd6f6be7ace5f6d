/**
 * Corpus validation: every problem in every manifest, each with its file and line, so a broken import
 * can be fixed in one pass. Checks: schemas, duplicate ids, dangling references, missing or unreadable
 * audio, header vs manifest (sample rate, length, channels), an expected sample rate, segments out of a
 * recording's range, overlapping supervisions or alignment segments, unknown words (not in the lexicon),
 * unknown phones (not in the phone set), alignment words that differ from the transcript.
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { WavFile, readCommandWav, type AudioSource } from '@kdasr/audio-features';
import { MULTIPLE_SPEAKERS } from './kaldi.js';
import { Lexicon, parseLexiconTxt } from './lexicon.js';
import {
  AlignmentSchema,
  LexiconEntrySchema,
  MANIFEST_FILES,
  PhoneSchema,
  RecordingSchema,
  SupervisionSchema,
  parseJsonl,
  wordsOf,
  type Lined,
  type Recording,
  type Supervision,
} from './manifest.js';
import { CorpusError, type Problem } from './problems.js';

export interface ValidateOptions {
  /** Every recording must have this rate (e.g. 16000 for a model's front end). */
  expectedSampleRateHz?: number;
  /** Open each wav and compare its header with the manifest (default true). */
  checkAudio?: boolean;
  /** Time tolerance for range and overlap checks, seconds (default 1e-4, below one sample at 8 kHz). */
  toleranceSec?: number;
}

export interface ValidationReport {
  dir: string;
  problems: Problem[];
  counts: { recordings: number; supervisions: number; alignments: number; lexiconWords: number; phones: number };
}

export function resolveAudioPath(dir: string, path: string | undefined): string {
  if (path === undefined) throw new Error(`a recording in ${dir} has no audio file path (it is sourced by a command); read it with recordingSource()`);
  return isAbsolute(path) ? path : join(dir, path);
}

/** Where a recording's audio comes from: its file (resolved against the corpus dir) or its command. */
export function recordingSource(dir: string, r: Pick<Recording, 'path' | 'command'>): AudioSource {
  return r.command !== undefined ? { type: 'command', command: r.command } : { type: 'file', path: resolveAudioPath(dir, r.path) };
}

function load<T>(dir: string, name: string, schema: Parameters<typeof parseJsonl<T>>[2], problems: Problem[], required: boolean): Lined<T>[] | null {
  const file = join(dir, name);
  if (!existsSync(file)) {
    if (required) problems.push({ file, message: 'file does not exist (every corpus needs it)' });
    return null;
  }
  const r = parseJsonl(file, readFileSync(file, 'utf8'), schema);
  problems.push(...r.problems);
  return r.items;
}

function duplicates<T extends { id: string }>(items: Lined<T>[], file: string, problems: Problem[]): Map<string, Lined<T>> {
  const byId = new Map<string, Lined<T>>();
  for (const it of items) {
    const prev = byId.get(it.value.id);
    if (prev) problems.push({ file, line: it.line, field: 'id', message: `duplicate id "${it.value.id}" (first on line ${prev.line}); ids must be unique` });
    else byId.set(it.value.id, it);
  }
  return byId;
}

export function validateCorpus(dir: string, opts: ValidateOptions = {}): ValidationReport {
  const problems: Problem[] = [];
  const tol = opts.toleranceSec ?? 1e-4;
  const recFile = join(dir, MANIFEST_FILES.recordings);
  const supFile = join(dir, MANIFEST_FILES.supervisions);
  const aliFile = join(dir, MANIFEST_FILES.alignments);
  const recs = load(dir, MANIFEST_FILES.recordings, RecordingSchema, problems, true) ?? [];
  const sups = load(dir, MANIFEST_FILES.supervisions, SupervisionSchema, problems, true) ?? [];
  const alis = load(dir, MANIFEST_FILES.alignments, AlignmentSchema, problems, false);
  const lexJsonl = load(dir, MANIFEST_FILES.lexicon, LexiconEntrySchema, problems, false);
  const phoneItems = load(dir, MANIFEST_FILES.phones, PhoneSchema, problems, false);

  let lexicon: Lexicon | null = null;
  let lexFile = join(dir, MANIFEST_FILES.lexicon);
  if (lexJsonl) lexicon = Lexicon.fromEntries(lexJsonl.map((x) => x.value));
  else if (existsSync(join(dir, MANIFEST_FILES.lexiconTxt))) {
    lexFile = join(dir, MANIFEST_FILES.lexiconTxt);
    const r = parseLexiconTxt(lexFile, readFileSync(lexFile, 'utf8'));
    problems.push(...r.problems);
    lexicon = r.lexicon;
  }
  const phoneSet = phoneItems ? new Set(phoneItems.map((p) => p.value.phone)) : null;
  const phonesFile = join(dir, MANIFEST_FILES.phones);
  if (lexicon && phoneSet)
    for (const e of lexicon.entries())
      for (const p of e.prons) for (const ph of p) if (!phoneSet.has(ph)) problems.push({ file: lexFile, field: e.word, message: `phone "${ph}" is not in ${phonesFile}` });

  // Recordings: audio present and matching its manifest line.
  const recById = duplicates(recs, recFile, problems);
  for (const { value: r, line } of recs) {
    if (opts.expectedSampleRateHz && r.sampleRateHz !== opts.expectedSampleRateHz)
      problems.push({ file: recFile, line, field: 'sampleRateHz', message: `recording ${r.id} is ${r.sampleRateHz} Hz but ${opts.expectedSampleRateHz} Hz is expected; resample it (sox in.wav -r ${opts.expectedSampleRateHz} out.wav)` });
    if (r.command !== undefined) {
      if (opts.checkAudio === false) continue;
      try {
        const a = readCommandWav(r.command, `recording ${r.id}`);
        if (a.sampleRateHz !== r.sampleRateHz || a.samples.length !== r.numSamples || a.numChannels !== r.numChannels)
          problems.push({ file: recFile, line, field: 'command', message: `recording ${r.id} says ${r.sampleRateHz} Hz, ${r.numSamples} samples, ${r.numChannels} channel(s) but its command gives ${a.sampleRateHz} Hz, ${a.samples.length}, ${a.numChannels}` });
      } catch (e) {
        problems.push({ file: recFile, line, field: 'command', message: (e as Error).message });
      }
      continue;
    }
    const audio = resolveAudioPath(dir, r.path);
    if (!existsSync(audio)) {
      problems.push({ file: recFile, line, field: 'path', message: `audio file ${audio} of recording ${r.id} is missing` });
      continue;
    }
    if (opts.checkAudio === false) continue;
    if (!/\.wav$/i.test(audio)) {
      problems.push({ file: recFile, line, field: 'path', message: `${audio}: only .wav audio is supported; convert it (sox in.flac out.wav)` });
      continue;
    }
    try {
      const f = new WavFile(audio);
      const info = f.info;
      f.close();
      if (info.sampleRateHz !== r.sampleRateHz)
        problems.push({ file: recFile, line, field: 'sampleRateHz', message: `recording ${r.id} says ${r.sampleRateHz} Hz but ${audio} is ${info.sampleRateHz} Hz (sample-rate mismatch)` });
      if (info.numFrames !== r.numSamples)
        problems.push({ file: recFile, line, field: 'numSamples', message: `recording ${r.id} says ${r.numSamples} samples but ${audio} has ${info.numFrames}` });
      if (info.numChannels !== r.numChannels)
        problems.push({ file: recFile, line, field: 'numChannels', message: `recording ${r.id} says ${r.numChannels} channel(s) but ${audio} has ${info.numChannels}` });
    } catch (e) {
      problems.push({ file: recFile, line, field: 'path', message: `cannot read ${audio}: ${(e as Error).message}` });
    }
  }

  // Supervisions: inside their recording, speaker consistent, no overlaps on one recording, known words.
  const supById = duplicates(sups, supFile, problems);
  const byRec = new Map<string, Lined<Supervision>[]>();
  for (const s of sups) {
    const { value: v, line } = s;
    const rec = recById.get(v.recordingId)?.value;
    if (!rec) {
      problems.push({ file: supFile, line, field: 'recordingId', message: `supervision ${v.id} refers to recording "${v.recordingId}", which is not in ${recFile}` });
    } else {
      const dur = rec.numSamples / rec.sampleRateHz;
      if (v.startSec + v.durationSec > dur + tol)
        problems.push({
          file: supFile,
          line,
          field: 'durationSec',
          message: `supervision ${v.id} ends at ${(v.startSec + v.durationSec).toFixed(4)} s, after the end of recording ${rec.id} (${dur.toFixed(4)} s)`,
        });
      if (rec.speaker !== v.speaker && rec.speaker !== MULTIPLE_SPEAKERS) problems.push({ file: supFile, line, field: 'speaker', message: `supervision ${v.id} has speaker ${v.speaker} but its recording has ${rec.speaker}` });
      if (v.channel !== undefined && v.channel >= rec.numChannels)
        problems.push({ file: supFile, line, field: 'channel', message: `channel ${v.channel} does not exist in recording ${rec.id} (${rec.numChannels} channel(s))` });
    }
    const list = byRec.get(v.recordingId) ?? [];
    list.push(s);
    byRec.set(v.recordingId, list);
    if (lexicon)
      for (const w of wordsOf(v.text))
        if (!lexicon.has(w)) problems.push({ file: supFile, line, field: 'text', message: `word "${w}" of supervision ${v.id} is not in the lexicon ${lexFile}` });
  }
  for (const list of byRec.values()) {
    const sorted = [...list].sort((a, b) => a.value.startSec - b.value.startSec);
    for (let i = 1; i < sorted.length; i++) {
      const p = sorted[i - 1].value;
      const c = sorted[i].value;
      if ((c.channel ?? 0) === (p.channel ?? 0) && c.startSec < p.startSec + p.durationSec - tol)
        problems.push({
          file: supFile,
          line: sorted[i].line,
          field: 'startSec',
          message: `supervision ${c.id} (${c.startSec}s) overlaps ${p.id} (line ${sorted[i - 1].line}, ends ${(p.startSec + p.durationSec).toFixed(4)}s) on recording ${c.recordingId}`,
        });
    }
  }

  // Alignments: ordered, non-overlapping, inside their supervision, words/phones known, words = transcript.
  if (alis) {
    duplicates(alis, aliFile, problems);
    for (const { value: a, line } of alis) {
      const sup = supById.get(a.id)?.value;
      if (!sup) {
        problems.push({ file: aliFile, line, field: 'id', message: `alignment ${a.id} has no supervision with that id in ${supFile}` });
        continue;
      }
      if (a.recordingId !== sup.recordingId)
        problems.push({ file: aliFile, line, field: 'recordingId', message: `alignment ${a.id} is on recording ${a.recordingId} but its supervision is on ${sup.recordingId}` });
      const lo = sup.startSec - tol;
      const hi = sup.startSec + sup.durationSec + tol;
      for (const [kind, segs] of [
        ['words', a.words],
        ['phones', a.phones],
      ] as const) {
        let prevEnd = -Infinity;
        segs.forEach((s, i) => {
          const name = 'word' in s ? s.word : s.phone;
          const field = `${kind}[${i}]`;
          if (s.endSec < s.startSec) problems.push({ file: aliFile, line, field, message: `"${name}" ends (${s.endSec}) before it starts (${s.startSec})` });
          if (s.startSec < lo || s.endSec > hi)
            problems.push({ file: aliFile, line, field, message: `"${name}" [${s.startSec}, ${s.endSec}] is outside supervision ${sup.id} [${sup.startSec}, ${(sup.startSec + sup.durationSec).toFixed(4)}] (out of range)` });
          if (s.startSec < prevEnd - tol) problems.push({ file: aliFile, line, field, message: `"${name}" starts at ${s.startSec}, before the previous segment ends (${prevEnd}): segments overlap` });
          prevEnd = Math.max(prevEnd, s.endSec);
        });
      }
      a.words.forEach((w, i) => {
        if (lexicon && !lexicon.has(w.word)) problems.push({ file: aliFile, line, field: `words[${i}]`, message: `word "${w.word}" is not in the lexicon ${lexFile}` });
      });
      a.phones.forEach((p, i) => {
        if (phoneSet && !phoneSet.has(p.phone)) problems.push({ file: aliFile, line, field: `phones[${i}]`, message: `phone "${p.phone}" is not in the phone set ${phonesFile}` });
        if (p.wordIndex !== undefined && p.wordIndex >= a.words.length)
          problems.push({ file: aliFile, line, field: `phones[${i}].wordIndex`, message: `wordIndex ${p.wordIndex} but the alignment has ${a.words.length} words` });
      });
      const aw = a.words.map((w) => w.word).join(' ');
      if (a.words.length && aw !== wordsOf(sup.text).join(' '))
        problems.push({ file: aliFile, line, field: 'words', message: `aligned words "${aw}" differ from supervision ${sup.id}'s text "${sup.text}"` });
    }
  }
  return {
    dir,
    problems,
    counts: {
      recordings: recs.length,
      supervisions: sups.length,
      alignments: alis?.length ?? 0,
      lexiconWords: lexicon?.size ?? 0,
      phones: phoneSet?.size ?? 0,
    },
  };
}

/** Validate and throw a CorpusError listing every problem. */
export function assertValidCorpus(dir: string, opts: ValidateOptions = {}): ValidationReport {
  const r = validateCorpus(dir, opts);
  if (r.problems.length) throw new CorpusError(`corpus ${dir} is invalid`, r.problems);
  return r;
}

export type { Recording };
