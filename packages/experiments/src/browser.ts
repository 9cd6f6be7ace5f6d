// The browser entry of @kdasr/experiments (the `browser` export condition): the lang helpers and the word search
// that `kdasr decode` uses, so a page decodes exactly as the CLI does. Recipes, stages and file I/O are in
// src/index.ts alone.
export { inventoryOf, transitionModelOf, decodingLexicon, type Lang } from './lang.js';
export { WordSearch, WORD_DECODE_DEFAULTS, type WordDecodeSettings, type SearchOverrides } from './word-search.js';
