/**
 * The "language" of a hybrid system: phones, HMM state counts and a lexicon (lang.json), and what acoustic
 * models and decoding derive from it (state inventory, transition model, decoding lexicon). The CLI's train /
 * align / decode / eval and the recipes share these, so a model trained by one decodes in the other. Reading a
 * lexicon file (makeLang) is in make-lang.ts, so this module needs no Node built-in (the browser entry exports it).
 */
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
