import { readFileSync } from 'node:fs';

/** One line of a Kaldi-style text file: `utterance-id word word ...`. */
export interface TextEntry {
  id: string;
  words: string[];
  /** 1-based line in the source file, kept so later errors can point back at it. */
  line: number;
}

/**
 * Parse Kaldi `text` content (one `utt-id w1 w2 ...` per line, any whitespace). Blank lines are skipped;
 * a line with only an id is an empty transcript. `source` names the file in errors.
 */
export function parseKaldiText(content: string, source = '<text>'): TextEntry[] {
  const entries: TextEntry[] = [];
  const firstLine = new Map<string, number>();
  const lines = content.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const tokens = lines[i].trim().split(/\s+/).filter((t) => t.length > 0);
    if (tokens.length === 0) continue;
    const [id, ...words] = tokens;
    const prev = firstLine.get(id);
    if (prev !== undefined) {
      throw new Error(`${source}:${i + 1}: duplicate utterance id "${id}" (first seen at line ${prev}); each id may appear once`);
    }
    firstLine.set(id, i + 1);
    entries.push({ id, words, line: i + 1 });
  }
  return entries;
}

/** Read a Kaldi `text` file; errors name the file and line. */
export function readKaldiText(path: string): TextEntry[] {
  let content: string;
  try {
    content = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read text file ${path}: ${(e as Error).message}`);
  }
  return parseKaldiText(content, path);
}

/** Kaldi `utt2spk` (`utt-id speaker-id` per line) as a map. */
export function parseUtt2Spk(content: string, source = '<utt2spk>'): Map<string, string> {
  const map = new Map<string, string>();
  for (const e of parseKaldiText(content, source)) {
    if (e.words.length !== 1) throw new Error(`${source}:${e.line}: expected "utt-id speaker-id", got ${e.words.length} fields after the id`);
    map.set(e.id, e.words[0]);
  }
  return map;
}
