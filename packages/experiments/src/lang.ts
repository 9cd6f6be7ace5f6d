/**
 * The "language" of a hybrid system: phones, HMM state counts and a lexicon (lang.json), and what acoustic
 * models and decoding derive from it (state inventory, transition model, decoding lexicon). The CLI's train /
 * align / decode / eval and the recipes share these, so a model trained by one decodes in the other.
 */
import { readFileSync } from 'node:fs';
import { StateInventory, type PhoneticTree } from '@kdasr/acoustic-models';
import { TransitionModel, type Lexicon } from '@kdasr/decoding';

export interface Lang {
  phones: string[];
  silencePhone: string;
  statesPerPhone: number;
  statesPerSilence: number;
  lexicon: Record<string, string[]>;
  /** Every pronunciation of a word when the lexicon file lists several (decoding and alignment use all of them). */
  prons?: Record<string, string[][]>;
}

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

export function inventoryOf(lang: Lang): StateInventory {
  return new StateInventory({ phones: lang.phones, statesPerPhone: lang.statesPerPhone, statesPerSilence: lang.statesPerSilence, silencePhones: [lang.silencePhone] });
}

/** Topology with the same state counts as the inventory; pdfs = the tree's leaves when given, else the inventory's class ids. */
export function transitionModelOf(lang: Lang, inventory: StateInventory, tree?: PhoneticTree): TransitionModel {
  return new TransitionModel(
    {
      phone: { kind: 'left-to-right', numStates: lang.statesPerPhone, selfLoopProb: 0.75 },
      silence: { kind: 'kaldi-silence', numStates: lang.statesPerSilence, selfLoopProb: 0.75 },
      silencePhones: [lang.silencePhone],
    },
    lang.phones,
    tree ? tree.mapper() : inventory.pdfMapper(),
  );
}

export function decodingLexicon(lang: Lang): Lexicon {
  return new Map(Object.entries(lang.lexicon).map(([w, p]) => [w, (lang.prons?.[w] ?? [p]).map((phones) => ({ phones, prob: 1 }))]));
}
