import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEXT_DIR, grammarVocabulary, loadGrammar, parseGrammar, readTextSources, writeTextSources } from './text.js';
import { tempDir } from './test/helpers.js';

const t = tempDir('text');
afterAll(t.cleanup);

describe('read-speech text (data/corpus-text)', () => {
  it('has a vocabulary of at least 1,000 words, all used by the prompts, and a sentence-disjoint LM text', () => {
    const g = loadGrammar();
    expect(grammarVocabulary(g).size).toBeGreaterThanOrEqual(1000);
    const { prompts, lmText } = readTextSources();
    const used = new Set(prompts.flatMap((p) => p.split(' ')));
    expect(used.size).toBeGreaterThanOrEqual(1000);
    const p = new Set(prompts);
    expect(p.size).toBe(prompts.length);
    expect(lmText.filter((s) => p.has(s))).toEqual([]);
    for (const w of used) expect(w).toMatch(/^[a-z]+$/);
  });

  it('the committed prompt and LM files are exactly what the grammar generates', () => {
    copyFileSync(join(DEFAULT_TEXT_DIR, 'grammar.txt'), join(t.dir, 'grammar.txt'));
    writeTextSources(t.dir);
    for (const f of ['prompts.txt', 'lm-heldout.txt']) expect(readFileSync(join(t.dir, f), 'utf8') === readFileSync(join(DEFAULT_TEXT_DIR, f), 'utf8'), f).toBe(true);
  });

  it('grammar errors name every bad line', () => {
    expect(() => parseGrammar('[NOUN]\ncat Dog\n[TEMPLATES]\nthe <ADJ> <NOUN>\n', 'g.txt')).toThrow(/g\.txt:2: word "Dog" must be lowercase[\s\S]*uses <ADJ> but there is no \[ADJ\] section/);
  });
});
