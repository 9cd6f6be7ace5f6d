/**
 * Seeded toy utterances for tests and examples: each (phone, state) class has its own mean vector, frames are
 * mean + unit noise, and phones follow a random sequence with silence at the edges. Labels are exact.
 */
import { Rng } from '@kdasr/core';
import type { Utterance } from './dataset.js';
import type { StateInventory } from './states.js';

export interface SyntheticOptions {
  utterances: number;
  dim: number;
  /** Distance scale between class means (larger = easier). Default 3. */
  separation?: number;
  /** Frames per HMM state, inclusive range. Default [2, 5]. */
  framesPerState?: [number, number];
  phonesPerUtterance?: [number, number];
  speakers?: number;
  /** Per-speaker offset added to every frame (what speaker CMVN removes). Default 0. */
  speakerShift?: number;
  seed?: number;
}

export function syntheticUtterances(inventory: StateInventory, o: SyntheticOptions): Utterance[] {
  const rng = new Rng(o.seed ?? 0);
  const meansRng = new Rng(12345);
  const sep = o.separation ?? 3;
  const means = Array.from({ length: inventory.numClasses }, () => Float32Array.from({ length: o.dim }, () => meansRng.normal() * sep));
  const spk = Array.from({ length: o.speakers ?? 1 }, () => Float32Array.from({ length: o.dim }, () => rng.normal() * (o.speakerShift ?? 0)));
  const [fMin, fMax] = o.framesPerState ?? [2, 5];
  const [pMin, pMax] = o.phonesPerUtterance ?? [2, 5];
  const speech = inventory.phones.filter((p) => !inventory.isSilence(p));
  const sil = inventory.silencePhones[0];
  const out: Utterance[] = [];
  for (let u = 0; u < o.utterances; u++) {
    const s = u % spk.length;
    const n = pMin + rng.int(pMax - pMin + 1);
    const phones = [...(sil ? [sil] : []), ...Array.from({ length: n }, () => speech[rng.int(speech.length)]), ...(sil ? [sil] : [])];
    const labels: number[] = [];
    for (const p of phones) for (let st = 0; st < inventory.statesOf(p); st++) for (let k = fMin + rng.int(fMax - fMin + 1); k > 0; k--) labels.push(inventory.classId(p, st));
    const data = new Float32Array(labels.length * o.dim);
    labels.forEach((c, t) => {
      for (let d = 0; d < o.dim; d++) data[t * o.dim + d] = means[c][d] + spk[s][d] + rng.normal();
    });
    out.push({ id: `utt${String(u).padStart(4, '0')}`, speaker: `spk${s}`, features: { data, numFrames: labels.length, numCols: o.dim }, labels: Int32Array.from(labels) });
  }
  return out;
}
