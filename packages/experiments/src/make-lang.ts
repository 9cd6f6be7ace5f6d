/** makeLang: a Lang from a Kaldi lexicon file or whole-word models (Node: reads the file). */
import { readFileSync } from 'node:fs';
import type { Lang } from './lang.js';

/** Lexicon from a Kaldi lexicon.txt (`word p1 p2 ...`), or whole-word models (each word is its own "phone"). */
export function makeLang(opts: { lexiconFile?: string; wholeWordStates?: number; words: Iterable<string>; statesPerPhone?: number; statesPerSilence?: number }): Lang {
  const lexicon: Record<string, string[]> = {};
  const prons: Record<string, string[][]> = {};
  if (opts.lexiconFile) {
    for (const [i, line] of readFileSync(opts.lexiconFile, 'utf8').split(/\r?\n/).entries()) {
      const f = line.trim().split(/\s+/).filter(Boolean);
      if (f.length === 0) continue;
      if (f.length < 2) throw new Error(`${opts.lexiconFile}:${i + 1}: "${line}" has no phones; write "word phone1 phone2 ..."`);
      lexicon[f[0]] ??= f.slice(1);
      const p = f.slice(1);
      if (!(prons[f[0]] ??= []).some((q) => q.join(' ') === p.join(' '))) prons[f[0]].push(p);
    }
  } else for (const w of opts.words) lexicon[w] = [w];
  const silencePhone = 'sil';
  // The phone set covers every pronunciation, not only each word's first.
  const phones = [silencePhone, ...[...new Set([...Object.values(lexicon).flat(), ...Object.values(prons).flat(2)])].filter((p) => p !== silencePhone).sort()];
  const multi = Object.values(prons).some((p) => p.length > 1);
  return {
    phones,
    silencePhone,
    statesPerPhone: opts.wholeWordStates ?? opts.statesPerPhone ?? 3,
    statesPerSilence: opts.statesPerSilence ?? 3,
    lexicon,
    ...(multi ? { prons } : {}),
  };
}
