import { readFileSync } from 'node:fs';

export interface Pronunciation {
  phones: string[];
  /** Pronunciation probability (Kaldi lexiconp.txt); 1 when not given. */
  prob: number;
}

/** word -> pronunciations, in file order. */
export type Lexicon = Map<string, Pronunciation[]>;

/**
 * Parse a Kaldi lexicon: `word phone phone ...` per line, or with `probs: true` the lexiconp.txt form
 * `word prob phone ...`. A word may have several lines (alternative pronunciations).
 */
export function parseLexicon(text: string, options: { probs?: boolean; source?: string } = {}): Lexicon {
  const source = options.source ?? '<lexicon>';
  const lex: Lexicon = new Map();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const f = lines[i].trim().split(/\s+/).filter((x) => x.length > 0);
    if (f.length === 0) continue;
    const word = f[0];
    let prob = 1;
    let phones = f.slice(1);
    if (options.probs) {
      prob = Number(f[1]);
      if (!(prob > 0 && prob <= 1)) throw new Error(`${source}:${i + 1}: pronunciation probability "${f[1]}" of "${word}" must be in (0, 1]`);
      phones = f.slice(2);
    }
    if (phones.length === 0) throw new Error(`${source}:${i + 1}: word "${word}" has no phones; every pronunciation needs at least one`);
    let prons = lex.get(word);
    if (!prons) lex.set(word, (prons = []));
    prons.push({ phones, prob });
  }
  return lex;
}

export function readLexicon(path: string, options: { probs?: boolean } = {}): Lexicon {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read lexicon ${path}: ${(e as Error).message}`);
  }
  return parseLexicon(text, { ...options, source: path });
}
