/**
 * Corpus manifests, in the spirit of lhotse's RecordingSet/SupervisionSet and Kaldi data directories:
 * one JSON object per line (JSONL), validated with zod. A corpus directory holds
 *   recordings.jsonl    one audio file each (path relative to the directory, or absolute)
 *   supervisions.jsonl  one transcribed segment of a recording each
 *   alignments.jsonl    word and phone segments per supervision (times in seconds on the recording)
 *   lexicon.jsonl / lexicon.txt, phones.jsonl, splits.json
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { idProblem, unsafeIdMessage, writeFileAtomic } from '@kdasr/core';
import type { Problem } from './problems.js';
import { CorpusError } from './problems.js';

// Ids become file names downstream (feature archives, resume files, converted audio): one validator, in base.
const id = z.string().superRefine((v, ctx) => {
  const bad = idProblem(v);
  if (bad !== null) ctx.addIssue({ code: 'custom', message: unsafeIdMessage(v, bad) });
});
const nonNeg = z.number().finite().nonnegative();

export const RecordingSchema = z.object({
  id,
  /** The WAV file (relative to the corpus directory, or absolute). Exactly one of path and command is set. */
  path: z.string().min(1).optional(),
  /**
   * A shell command writing the WAV to stdout (a Kaldi wav.scp entry ending in `|`, without the `|`; lhotse's
   * `command` source). Run with /bin/sh -c in the current directory, as Kaldi runs it.
   */
  command: z.string().min(1).optional(),
  sampleRateHz: z.number().int().positive(),
  numSamples: z.number().int().nonnegative(),
  numChannels: z.number().int().positive(),
  speaker: id,
  /** Free-form facts about how the audio was made (voice, noise type, SNR, RT60, source file). */
  meta: z.record(z.string(), z.unknown()).optional(),
}).refine((r) => (r.path === undefined) !== (r.command === undefined), { message: 'a recording needs exactly one of "path" (a WAV file) and "command" (a shell command writing a WAV to stdout)', path: ['path'] });
export type Recording = z.infer<typeof RecordingSchema>;

export const SupervisionSchema = z.object({
  id,
  recordingId: id,
  startSec: nonNeg,
  durationSec: z.number().finite().positive(),
  /** Normalised transcript: lowercase words separated by single spaces. */
  text: z.string(),
  speaker: id,
  channel: z.number().int().nonnegative().optional(),
});
export type Supervision = z.infer<typeof SupervisionSchema>;

export const WordSegmentSchema = z.object({ word: z.string().min(1), startSec: nonNeg, endSec: nonNeg });
export const PhoneSegmentSchema = z.object({
  phone: z.string().min(1),
  startSec: nonNeg,
  endSec: nonNeg,
  /** Index into `words` of the word this phone belongs to; absent for silence. */
  wordIndex: z.number().int().nonnegative().optional(),
});
export type WordSegment = z.infer<typeof WordSegmentSchema>;
export type PhoneSegment = z.infer<typeof PhoneSegmentSchema>;

export const AlignmentSchema = z.object({
  /** The supervision this aligns. Times are on the recording's timeline (not relative to the segment). */
  id,
  recordingId: id,
  words: z.array(WordSegmentSchema),
  phones: z.array(PhoneSegmentSchema),
});
export type Alignment = z.infer<typeof AlignmentSchema>;

export const LexiconEntrySchema = z.object({ word: z.string().min(1), prons: z.array(z.array(z.string().min(1)).min(1)).min(1) });
export type LexiconEntry = z.infer<typeof LexiconEntrySchema>;

export const PhoneSchema = z.object({
  id: z.number().int().nonnegative(),
  phone: z.string().min(1).regex(/^\S+$/, 'must not contain whitespace'),
  kind: z.enum(['silence', 'vowel', 'consonant']),
});
export type Phone = z.infer<typeof PhoneSchema>;

export const SplitsSchema = z.object({
  seed: z.number().int(),
  train: z.array(z.string()),
  dev: z.array(z.string()),
  test: z.array(z.string()),
});
export type Splits = z.infer<typeof SplitsSchema>;

export const MANIFEST_FILES = {
  recordings: 'recordings.jsonl',
  supervisions: 'supervisions.jsonl',
  alignments: 'alignments.jsonl',
  lexicon: 'lexicon.jsonl',
  lexiconTxt: 'lexicon.txt',
  phones: 'phones.jsonl',
  splits: 'splits.json',
} as const;

/** A parsed JSONL item with the line it came from, so later checks can point at it. */
export interface Lined<T> {
  value: T;
  line: number;
}

/** Parse a JSONL file; every malformed line and every schema violation becomes a Problem (none thrown). */
export function parseJsonl<T>(file: string, text: string, schema: z.ZodType<T>): { items: Lined<T>[]; problems: Problem[] } {
  const items: Lined<T>[] = [];
  const problems: Problem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (!raw) continue;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (e) {
      problems.push({ file, line: i + 1, message: `not valid JSON (${(e as Error).message}); each line must be one JSON object` });
      continue;
    }
    const r = schema.safeParse(json);
    if (!r.success) {
      for (const issue of r.error.issues)
        problems.push({ file, line: i + 1, field: issue.path.join('.') || undefined, message: issue.message });
      continue;
    }
    items.push({ value: r.data, line: i + 1 });
  }
  return { items, problems };
}

/** Read a JSONL manifest; throws a CorpusError listing every bad line. */
export function readJsonl<T>(file: string, schema: z.ZodType<T>): T[] {
  if (!existsSync(file)) throw new CorpusError(`cannot read manifest`, [{ file, message: 'file does not exist' }]);
  const { items, problems } = parseJsonl(file, readFileSync(file, 'utf8'), schema);
  if (problems.length) throw new CorpusError(`invalid manifest ${file}`, problems);
  return items.map((x) => x.value);
}

export function toJsonl(items: readonly unknown[]): string {
  return items.map((x) => JSON.stringify(x)).join('\n') + (items.length ? '\n' : '');
}

/** Validate against the schema, then write atomically. */
export function writeJsonl<T>(file: string, items: readonly T[], schema: z.ZodType<T>): void {
  const problems: Problem[] = [];
  items.forEach((item, i) => {
    const r = schema.safeParse(item);
    if (!r.success)
      for (const issue of r.error.issues) problems.push({ file, line: i + 1, field: issue.path.join('.') || undefined, message: issue.message });
  });
  if (problems.length) throw new CorpusError(`refusing to write invalid manifest ${file}`, problems);
  writeFileAtomic(file, toJsonl(items));
}

/** Transcript normalisation shared by every importer: lowercase, letters/digits/apostrophes, single spaces. */
export function normaliseText(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9' ]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function wordsOf(text: string): string[] {
  return text.split(' ').filter((w) => w.length > 0);
}
