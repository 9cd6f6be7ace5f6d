/**
 * DIR/labels.jsonl written by `kdasr align`: per-utterance frame labels (the aligning model's outputs, monophone
 * states) and phone segments, and how they become training targets for a model with or without a tree.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { idProblem, unsafeIdMessage } from '@kdasr/base';
import type { StateInventory } from './states.js';
import { treeLabels, type PhoneticTree } from './tree.js';

export const LABELS_FILE = 'labels.jsonl';

/** One line of kdasr align's labels.jsonl. */
export interface AliLine {
  id: string;
  /** Per frame: the aligning model's output classes (tree pdfs for a tree model). */
  labels: Int32Array;
  /** Per frame: monophone (phone, state) class ids; absent in older files, where labels are monophone ids. */
  mono?: Int32Array;
  /** Phone segments in frames (end exclusive) with their word index. */
  phones?: { phone: string; startFrame: number; endFrame: number; wordIndex?: number }[];
}

const FIX = 'rewrite the file with kdasr align';
// Class ids are int32 and non-negative: a larger value would wrap silently in an Int32Array.
const intArray = (v: unknown, f: string, line: number, field: string): Int32Array => {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 31)) throw new Error(`${f}:${line}: field "${field}" must be an array of class ids (integers >= 0); ${FIX}`);
  return Int32Array.from(v as number[]);
};

/** Phone segments of a line: names, frame spans inside the utterance's frames, in order, optional word index. */
function phoneSegments(v: unknown, numFrames: number, f: string, line: number): AliLine['phones'] {
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw new Error(`${f}:${line}: field "phones" must be a list of {phone, startFrame, endFrame, wordIndex?}; ${FIX}`);
  let prev = 0;
  return v.map((s: Record<string, unknown> | null, i) => {
    const bad = (what: string) => new Error(`${f}:${line}: field "phones[${i}]": ${what}; ${FIX}`);
    if (!s || typeof s !== 'object' || typeof s.phone !== 'string' || !s.phone) throw bad('expected {phone, startFrame, endFrame, wordIndex?} with a phone name');
    const { startFrame: a, endFrame: b, wordIndex: w } = s;
    if (!(Number.isInteger(a) && Number.isInteger(b) && (a as number) >= prev && (a as number) < (b as number) && (b as number) <= numFrames))
      throw bad(`frames [${String(a)}, ${String(b)}) must be a non-empty span after the previous segment and inside the ${numFrames} labelled frames`);
    // −1 is what the decoder writes for silence between words (not in a word).
    if (w !== undefined && !(Number.isInteger(w) && (w as number) >= -1)) throw bad('wordIndex must be an integer >= -1 (-1: not in a word)');
    prev = b as number;
    return { phone: s.phone, startFrame: a as number, endFrame: b as number, ...(w !== undefined ? { wordIndex: w as number } : {}) };
  });
}

/** Every line of DIR/labels.jsonl by id; errors name the file, the line and the field. */
export function readAli(dir: string): Map<string, AliLine> {
  const f = join(dir, LABELS_FILE);
  if (!existsSync(f)) throw new Error(`${f} does not exist; write it with kdasr align --out ${dir}`);
  const out = new Map<string, AliLine>();
  let text: string;
  try {
    text = readFileSync(f, 'utf8');
  } catch (e) {
    throw new Error(`${f}: cannot read (${(e as Error).message})`);
  }
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let j: { id?: unknown; labels?: unknown; mono?: unknown; phones?: unknown };
    try {
      j = JSON.parse(line) as typeof j;
    } catch (e) {
      throw new Error(`${f}:${i + 1}: not valid JSON (${(e as Error).message}); ${FIX}`);
    }
    if (!j || typeof j !== 'object' || Array.isArray(j)) throw new Error(`${f}:${i + 1}: expected one JSON object per line; ${FIX}`);
    if (typeof j.id !== 'string') throw new Error(`${f}:${i + 1}: field "id" must be a string; ${FIX}`);
    const bad = idProblem(j.id);
    if (bad !== null) throw new Error(`${f}:${i + 1}: field "id": ${unsafeIdMessage(j.id, bad)}`);
    if (out.has(j.id)) throw new Error(`${f}:${i + 1}: utterance "${j.id}" appears twice; ${FIX}`);
    const labels = intArray(j.labels, f, i + 1, 'labels');
    const mono = j.mono === undefined ? undefined : intArray(j.mono, f, i + 1, 'mono');
    if (mono && mono.length !== labels.length) throw new Error(`${f}:${i + 1}: field "mono" has ${mono.length} frames, "labels" ${labels.length}; ${FIX}`);
    out.set(j.id, { id: j.id, labels, mono, phones: phoneSegments(j.phones, labels.length, f, i + 1) });
  });
  return out;
}

/** Monophone class ids per utterance (the `mono` field, else `labels` from a monophone model's alignment). */
export function readLabels(dir: string): Map<string, Int32Array> {
  return new Map([...readAli(dir)].map(([id, a]) => [id, a.mono ?? a.labels]));
}

/**
 * Targets of an aligned utterance for a model with these output classes: monophone ids, or with a tree each
 * frame's (phone, state) and word-internal contexts mapped to its pdf. Throws when a tree needs segments that
 * the alignment lacks, or its labels are not monophone states.
 */
export function aliTargets(a: AliLine, inventory: StateInventory, tree: PhoneticTree | undefined): Int32Array {
  const mono = a.mono ?? a.labels;
  if (!tree) return mono;
  if (!a.phones) throw new Error(`${a.id}: the alignment has no phone segments; realign with kdasr align`);
  return treeLabels(tree, inventory, { segments: a.phones, states: monoStates(a, inventory), numFrames: mono.length }, a.id);
}

/** HMM state within its phone of each frame, checked against the segments (mono labels must be monophone ids). */
export function monoStates(a: AliLine, inventory: StateInventory): Int32Array {
  const mono = a.mono ?? a.labels;
  const states = new Int32Array(mono.length);
  for (const s of a.phones ?? [])
    for (let t = s.startFrame; t < s.endFrame; t++) {
      const c = mono[t];
      if (!(c >= 0 && c < inventory.numClasses) || inventory.phoneOfClass(c) !== s.phone)
        throw new Error(`${a.id}: frame ${t} has label ${c}, not a state of its phone "${s.phone}"; the labels are not monophone states (realign with this kdasr align, which writes "mono")`);
      states[t] = inventory.stateOfClass(c);
    }
  return states;
}
