// Ids (utterance, recording, speaker, model and stage names) become file and directory names in many places:
// feature archives, resume files, model member dirs, converted audio. One validator decides what is safe, so
// `../../escape` in a wav.scp can never write outside the output directory. Browser-safe (no Node built-ins).

/** Where an id was read, for the error: the file, its 1-based line, and the field (column or JSON key). */
export interface IdSource {
  file: string;
  line?: number;
  field?: string;
}

/** How to fix an unsafe id; Kaldi users get the files the id appears in. */
export const SAFE_ID_HINT =
  'ids become file names, so they may use letters, digits and - _ . + : , = @ but no "/", "\\", "..", leading dot, ' +
  'whitespace or control character; rename it (in a Kaldi data dir the id is the first token of each line of wav.scp, ' +
  'text, utt2spk and segments, and the speaker is the second token of utt2spk: rename it in every file, then sort them again)';

/** Why `id` is unsafe as a path component, or null when it is safe. */
export function idProblem(id: string): string | null {
  if (typeof id !== 'string') return `is a ${typeof id}, not a string`;
  if (id.length === 0) return 'is empty';
  if (id.includes('/')) return 'contains "/"';
  if (id.includes('\\')) return 'contains "\\"';
  if (id.includes('..')) return 'contains ".."';
  if (id.startsWith('.')) return 'starts with "."';
  // \p{Cc}: C0/C1 controls (NUL, tab, newline, DEL, ...); \s and \p{Z}: every Unicode space and separator.
  const bad = /[\p{Cc}\p{Cf}\s\p{Z}]/u.exec(id);
  if (bad) return `contains ${bad[0].trim() === '' ? 'whitespace' : 'a control character'} (U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
  return null;
}

/** The message for an unsafe id (without the file:line prefix): what is wrong and how to rename. */
export function unsafeIdMessage(id: string, problem: string, what = 'id'): string {
  return `${what} ${JSON.stringify(id)} ${problem}: ${SAFE_ID_HINT}`;
}

export class UnsafeIdError extends Error {
  constructor(
    readonly id: string,
    readonly source: IdSource,
    problem: string,
  ) {
    const where = source.line !== undefined ? `${source.file}:${source.line}` : source.file;
    super(`${where}: ${unsafeIdMessage(id, problem, source.field ?? 'id')}`);
    this.name = 'UnsafeIdError';
  }
}

/** Returns `id` when it is safe as a file name; otherwise throws UnsafeIdError naming the file and line. */
export function validateId(id: string, where: IdSource | string): string {
  const problem = idProblem(id);
  if (problem !== null) throw new UnsafeIdError(String(id), typeof where === 'string' ? { file: where } : where, problem);
  return id;
}

/** Alias of validateId for call sites that only check (an id about to become a path component). */
export const assertSafeId: (id: string, where: IdSource | string) => string = validateId;
