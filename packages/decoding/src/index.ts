// The only public entry of @kdasr/decoding (Node): everything in the browser entry, plus the readers of Kaldi text
// and lexicon files, which reach node:fs.
export * from './browser.js';
export { parseKaldiText, readKaldiText, parseUtt2Spk } from './text.js';
export { parseLexicon, readLexicon } from './lexicon.js';
