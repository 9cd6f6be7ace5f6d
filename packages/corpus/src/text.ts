/**
 * The read-speech text source: a small phrase-structure grammar (data/corpus-text/grammar.txt) that
 * generates prompts for the synthetic corpus and a disjoint held-out text set for language-model training.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng, writeFileAtomic } from '@kdasr/core';
import { CorpusError, type Problem } from './problems.js';

/** data/corpus-text in the repository (packages/corpus/src -> ../../../data/corpus-text). */
export const DEFAULT_TEXT_DIR = fileURLToPath(new URL('../../../data/corpus-text/', import.meta.url));
export const PROMPTS_FILE = 'prompts.txt';
export const LM_TEXT_FILE = 'lm-heldout.txt';

export interface Grammar {
  /** Category name -> entries, each [form0, form1] (singular/plural or base/past). */
  categories: Map<string, [string, string][]>;
  templates: string[];
}

function plural(w: string): string {
  if (/(s|x|z|ch|sh)$/.test(w)) return w + 'es';
  if (/[^aeiou]y$/.test(w)) return w.slice(0, -1) + 'ies';
  return w + 's';
}

function past(w: string): string {
  if (w.endsWith('e')) return w + 'd';
  if (/[^aeiou]y$/.test(w)) return w.slice(0, -1) + 'ied';
  return w + 'ed';
}

/** Which category and form each <SLOT> in a template draws from. */
const SLOTS: Record<string, [string, 0 | 1]> = {
  NOUN: ['NOUN', 0],
  NOUNS: ['NOUN', 1],
  VBASE: ['VERB', 0],
  VPAST: ['VERB', 1],
  MBASE: ['MOTION', 0],
  MPAST: ['MOTION', 1],
  IBASE: ['INTRANS', 0],
  IPAST: ['INTRANS', 1],
};

export function parseGrammar(text: string, file = 'grammar.txt'): Grammar {
  const categories = new Map<string, [string, string][]>();
  const templates: string[] = [];
  const problems: Problem[] = [];
  let section: string | null = null;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const m = /^\[([A-Z]+)\]$/.exec(line);
    if (m) {
      section = m[1];
      if (section !== 'TEMPLATES') categories.set(section, []);
      return;
    }
    if (!section) return void problems.push({ file, line: i + 1, message: 'text before the first [SECTION] header' });
    if (section === 'TEMPLATES') return void templates.push(line);
    for (const tok of line.split(/\s+/)) {
      const [a, b] = tok.split('/');
      if (!/^[a-z]+$/.test(a) || (b !== undefined && !/^[a-z]+$/.test(b))) {
        problems.push({ file, line: i + 1, message: `word "${tok}" must be lowercase a-z (optionally "form/form")` });
        continue;
      }
      const second = b ?? (section === 'NOUN' ? plural(a) : ['VERB', 'MOTION', 'INTRANS'].includes(section) ? past(a) : a);
      categories.get(section)!.push([a, second]);
    }
  });
  templates.forEach((t) => {
    for (const m of t.matchAll(/<([A-Z]+)>/g)) {
      const [cat] = SLOTS[m[1]] ?? [m[1]];
      if (!categories.has(cat)) problems.push({ file, field: 'TEMPLATES', message: `template "${t}" uses <${m[1]}> but there is no [${cat}] section` });
    }
  });
  if (problems.length) throw new CorpusError(`invalid grammar ${file}`, problems);
  return { categories, templates };
}

export function loadGrammar(dir = DEFAULT_TEXT_DIR): Grammar {
  const file = join(dir, 'grammar.txt');
  if (!existsSync(file)) throw new CorpusError('cannot load the text grammar', [{ file, message: 'file does not exist; it is part of the repository (data/corpus-text)' }]);
  return parseGrammar(readFileSync(file, 'utf8'), file);
}

/** One sentence: a random template with every slot filled; "a" becomes "an" before a vowel. */
export function generateSentence(g: Grammar, rng: Rng): string {
  const t = g.templates[rng.int(g.templates.length)];
  const words = t
    .replace(/<([A-Z]+)>/g, (_, slot: string) => {
      const [cat, form] = SLOTS[slot] ?? [slot, 0];
      const entries = g.categories.get(cat)!;
      return entries[rng.int(entries.length)][form];
    })
    .split(/\s+/);
  for (let i = 0; i + 1 < words.length; i++) if (words[i] === 'a' && /^[aeiou]/.test(words[i + 1])) words[i] = 'an';
  return words.join(' ');
}

/** `n` distinct sentences not in `exclude`, deterministic for the rng's seed. */
export function generateSentences(g: Grammar, n: number, rng: Rng, exclude: ReadonlySet<string> = new Set()): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  let tries = 0;
  while (out.length < n) {
    if (++tries > n * 50) throw new Error(`generateSentences: only ${out.length} distinct sentences after ${tries} tries; the grammar is too small for ${n}`);
    const s = generateSentence(g, rng);
    if (seen.has(s) || exclude.has(s)) continue;
    seen.add(s);
    out.push(s);
  }
  return out;
}

/** Every word the grammar can produce. */
export function grammarVocabulary(g: Grammar): Set<string> {
  const v = new Set<string>(['an']);
  for (const t of g.templates) for (const w of t.split(/\s+/)) if (!w.startsWith('<')) v.add(w);
  for (const [cat, entries] of g.categories) {
    const forms = Object.values(SLOTS)
      .filter(([c]) => c === cat)
      .map(([, f]) => f);
    for (const e of entries) for (const f of forms.length ? forms : [0 as const]) v.add(e[f]);
  }
  return v;
}

export interface TextSources {
  prompts: string[];
  lmText: string[];
}

/**
 * Regenerate data/corpus-text/{prompts,lm-heldout}.txt: prompts are what the synthetic speakers read;
 * the held-out LM text never overlaps them (sentence-disjoint), so an LM trained on it is fair on test.
 */
export function writeTextSources(dir = DEFAULT_TEXT_DIR, opts: { seed?: number; prompts?: number; lmSentences?: number } = {}): TextSources {
  const g = loadGrammar(dir);
  const rng = new Rng(opts.seed ?? 20150309);
  const prompts = generateSentences(g, opts.prompts ?? 6000, rng.fork('prompts'));
  const lmText = generateSentences(g, opts.lmSentences ?? 6000, rng.fork('lm'), new Set(prompts));
  writeFileAtomic(join(dir, PROMPTS_FILE), prompts.join('\n') + '\n');
  writeFileAtomic(join(dir, LM_TEXT_FILE), lmText.join('\n') + '\n');
  return { prompts, lmText };
}

export function readLines(file: string): string[] {
  if (!existsSync(file)) throw new CorpusError('cannot read text', [{ file, message: 'file does not exist; regenerate it with `kdasr corpus text`' }]);
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

export function readTextSources(dir = DEFAULT_TEXT_DIR): TextSources {
  return { prompts: readLines(join(dir, PROMPTS_FILE)), lmText: readLines(join(dir, LM_TEXT_FILE)) };
}
