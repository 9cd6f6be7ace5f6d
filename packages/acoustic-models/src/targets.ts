/**
 * Frame targets: one class id per feature frame, from phone alignments (seconds) or, for a flat start, by
 * spreading the transcript's HMM states evenly over the utterance. Seconds become frames only through core's
 * timeToFrame, the same mapping the filterbank's framing uses, so labels line up with feature rows.
 */
import { timeToFrame, type FrameOptions } from '@kdasr/core';
import type { StateInventory } from './states.js';

export interface TimedPhone {
  phone: string;
  startSec: number;
  endSec: number;
}

export interface SegmentLabelOptions {
  /** Fill frames no segment covers with this phone's middle state; default: leave them −1 (unlabelled). */
  fillPhone?: string;
  /** Where errors point (utterance id, file). */
  where?: string;
}

/**
 * Frame boundary of a time: the first frame whose centre is at or after it (nearest centre, ties up). Using one
 * rule for every boundary makes consecutive segments tile the frames with no gap or overlap.
 */
export function boundaryFrame(sec: number, frame: FrameOptions): number {
  return timeToFrame(sec, frame);
}

/**
 * Labels for `numFrames` frames from phone segments: each segment's frames are split evenly over its phone's
 * states, left to right (a segment shorter than its state count keeps the first states it has room for).
 */
export function labelsFromPhoneSegments(
  segments: readonly TimedPhone[],
  numFrames: number,
  frame: FrameOptions,
  inventory: StateInventory,
  options: SegmentLabelOptions = {},
): Int32Array {
  const where = options.where ?? 'labelsFromPhoneSegments';
  const out = new Int32Array(numFrames).fill(-1);
  let prevEnd = -Infinity;
  for (const [i, seg] of segments.entries()) {
    if (!(seg.endSec >= seg.startSec)) throw new Error(`${where}: phones[${i}] ("${seg.phone}") ends at ${seg.endSec} s before it starts at ${seg.startSec} s; fix the alignment`);
    if (seg.startSec < prevEnd - 1e-6) throw new Error(`${where}: phones[${i}] ("${seg.phone}") starts at ${seg.startSec} s, before the previous phone ends (${prevEnd} s); segments must be sorted and disjoint`);
    prevEnd = seg.endSec;
    if (!inventory.has(seg.phone)) throw new Error(`${where}: phones[${i}] is "${seg.phone}", not in the state inventory; add it to the phone set`);
    const a = Math.min(numFrames, boundaryFrame(seg.startSec, frame));
    const b = Math.min(numFrames, boundaryFrame(seg.endSec, frame));
    fillStates(out, a, b, seg.phone, inventory);
  }
  if (options.fillPhone !== undefined) {
    const c = inventory.classId(options.fillPhone, Math.floor(inventory.statesOf(options.fillPhone) / 2));
    for (let t = 0; t < numFrames; t++) if (out[t] < 0) out[t] = c;
  }
  return out;
}

function fillStates(out: Int32Array, a: number, b: number, phone: string, inventory: StateInventory): void {
  const k = b - a;
  const S = inventory.statesOf(phone);
  for (let t = a; t < b; t++) out[t] = inventory.classId(phone, Math.floor(((t - a) * S) / k));
}

export interface UniformOptions {
  /** Add this silence phone at the start and end (each of its states then gets a share too). Default none. */
  edgeSilence?: string;
  where?: string;
}

/**
 * Flat-start labels: the state sequence of `phones` (plus optional edge silence) gets the frames split evenly,
 * state j taking frames [floor(jT/N), floor((j+1)T/N)), as Kaldi's uniform alignment of a first monophone pass.
 */
export function uniformLabels(phones: readonly string[], numFrames: number, inventory: StateInventory, options: UniformOptions = {}): Int32Array {
  const where = options.where ?? 'uniformLabels';
  const seq = options.edgeSilence !== undefined ? [options.edgeSilence, ...phones, options.edgeSilence] : [...phones];
  const states: number[] = [];
  for (const p of seq) {
    if (!inventory.has(p)) throw new Error(`${where}: phone "${p}" is not in the state inventory; add it to the phone set or fix the lexicon`);
    for (let s = 0; s < inventory.statesOf(p); s++) states.push(inventory.classId(p, s));
  }
  if (states.length === 0) throw new Error(`${where}: empty transcript; nothing to align`);
  if (numFrames < states.length)
    throw new Error(`${where}: ${numFrames} frames cannot hold ${states.length} HMM states (one frame each); drop the utterance or use fewer states per phone`);
  const out = new Int32Array(numFrames);
  const N = states.length;
  for (let j = 0; j < N; j++) {
    const a = Math.floor((j * numFrames) / N);
    const b = Math.floor(((j + 1) * numFrames) / N);
    out.fill(states[j], a, b);
  }
  return out;
}

/** Words → phones through a lexicon (first pronunciation); errors name the word and the utterance. */
export function wordsToPhones(words: readonly string[], lexicon: ReadonlyMap<string, readonly string[]>, where = 'wordsToPhones'): string[] {
  const out: string[] = [];
  for (const w of words) {
    const pron = lexicon.get(w);
    if (!pron) throw new Error(`${where}: word "${w}" has no pronunciation; add it to the lexicon`);
    out.push(...pron);
  }
  return out;
}
