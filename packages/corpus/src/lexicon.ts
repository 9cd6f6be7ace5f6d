/** Pronunciation lexicon (word -> one or more phone sequences) and phone set, with Kaldi-style text forms. */
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '@kdasr/core';
import { LexiconEntrySchema, PhoneSchema, parseJsonl, toJsonl, type LexiconEntry, type Phone } from './manifest.js';
import { CorpusError, type Problem } from './problems.js';

export class Lexicon {
  private readonly map = new Map<string, string[][]>();

  static fromEntries(entries: Iterable<LexiconEntry>): Lexicon {
    const lex = new Lexicon();
    for (const e of entries) for (const p of e.prons) lex.add(e.word, p);
    return lex;
  }

  /** Add a pronunciation; duplicates are ignored so a lexicon can be merged from many sources. */
  add(word: string, pron: readonly string[]): void {
    if (!word || /\s/.test(word)) throw new Error(`Lexicon.add: word "${word}" is empty or has whitespace`);
    if (pron.length === 0) throw new Error(`Lexicon.add: empty pronunciation for "${word}"`);
    const list = this.map.get(word) ?? [];
    const key = pron.join(' ');
    if (!list.some((p) => p.join(' ') === key)) list.push([...pron]);
    this.map.set(word, list);
  }

  merge(other: Lexicon): void {
    for (const [w, ps] of other.map) for (const p of ps) this.add(w, p);
  }

  has(word: string): boolean {
    return this.map.has(word);
  }

  prons(word: string): string[][] | undefined {
    return this.map.get(word);
  }

  get size(): number {
    return this.map.size;
  }

  words(): string[] {
    return [...this.map.keys()].sort();
  }

  /** Entries sorted by word (and prons by first use), for reproducible files. */
  entries(): LexiconEntry[] {
    return this.words().map((word) => ({ word, prons: this.map.get(word)!.map((p) => [...p]) }));
  }

  phones(): Set<string> {
    const s = new Set<string>();
    for (const ps of this.map.values()) for (const p of ps) for (const ph of p) s.add(ph);
    return s;
  }
}

/** Kaldi lexicon.txt: `word phone1 phone2 ...`, one pronunciation per line (a word may repeat). */
export function formatLexiconTxt(lex: Lexicon): string {
  const lines: string[] = [];
  for (const e of lex.entries()) for (const p of e.prons) lines.push(`${e.word} ${p.join(' ')}`);
  return lines.join('\n') + (lines.length ? '\n' : '');
}

export function parseLexiconTxt(file: string, text: string): { lexicon: Lexicon; problems: Problem[] } {
  const lexicon = new Lexicon();
  const problems: Problem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const [word, ...phones] = line.split(/\s+/);
    // Kaldi's lexiconp.txt puts a probability after the word; accept and drop it.
    if (phones.length && /^[0-9.]+$/.test(phones[0]) && phones.length > 1) phones.shift();
    if (phones.length === 0) problems.push({ file, line: i + 1, message: `word "${word}" has no phones; write "word phone1 phone2 ..."` });
    else lexicon.add(word, phones);
  });
  return { lexicon, problems };
}

export function readLexiconTxt(file: string): Lexicon {
  if (!existsSync(file)) throw new CorpusError('cannot read lexicon', [{ file, message: 'file does not exist' }]);
  const { lexicon, problems } = parseLexiconTxt(file, readFileSync(file, 'utf8'));
  if (problems.length) throw new CorpusError(`invalid lexicon ${file}`, problems);
  return lexicon;
}

export function writeLexiconTxt(file: string, lex: Lexicon): void {
  writeFileAtomic(file, formatLexiconTxt(lex));
}

export function readLexiconJsonl(file: string): Lexicon {
  if (!existsSync(file)) throw new CorpusError('cannot read lexicon', [{ file, message: 'file does not exist' }]);
  const { items, problems } = parseJsonl(file, readFileSync(file, 'utf8'), LexiconEntrySchema);
  if (problems.length) throw new CorpusError(`invalid lexicon ${file}`, problems);
  return Lexicon.fromEntries(items.map((x) => x.value));
}

export function writeLexiconJsonl(file: string, lex: Lexicon): void {
  writeFileAtomic(file, toJsonl(lex.entries()));
}

export const SILENCE_PHONE = 'sil';
const VOWEL_START = /^[aeiouAEIOUV@30]/;

/** Classify an espeak-ng English phoneme mnemonic (vowels start with a vowel letter, @, 3, 0 or V). */
export function phoneKind(phone: string): Phone['kind'] {
  if (phone === SILENCE_PHONE) return 'silence';
  return VOWEL_START.test(phone) ? 'vowel' : 'consonant';
}

/** Phone set with ids: silence first (id 0), then the other phones sorted, so ids are stable for a set. */
export function buildPhoneSet(phones: Iterable<string>): Phone[] {
  const rest = [...new Set(phones)].filter((p) => p !== SILENCE_PHONE).sort();
  return [SILENCE_PHONE, ...rest].map((phone, id) => ({ id, phone, kind: phoneKind(phone) }));
}

export function writePhonesJsonl(file: string, phones: Phone[]): void {
  for (const p of phones) PhoneSchema.parse(p);
  writeFileAtomic(file, toJsonl(phones));
}

/** Kaldi phones.txt (`<eps> 0`, then `phone id+1`). */
export function formatPhonesTxt(phones: Phone[]): string {
  return ['<eps> 0', ...phones.map((p) => `${p.phone} ${p.id + 1}`)].join('\n') + '\n';
}
