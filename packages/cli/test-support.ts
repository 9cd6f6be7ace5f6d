/**
 * Test support (not shipped: the build compiles src/ only). The synthetic whole-word task several command tests
 * share: words x/y/z of 2 states each with distinct Gaussian means (6-dim features), silences between them.
 */
import { join } from 'node:path';
import { Rng } from '@kdasr/core';
import { FeatureArchiveWriter } from '@kdasr/audio-features';
import { SupervisionSchema, writeJsonl, type Supervision } from '@kdasr/corpus';

/** DIR/feats-NAME (a feature archive) and DIR/NAME/supervisions.jsonl: n utterances of 2-4 words, from `seed`. */
export function makeWholeWordSplit(dir: string, name: string, n: number, seed: number): void {

  const rng = new Rng(seed);
  const means = new Rng(7);
  const D = 6;
  const classMean = new Map<string, Float32Array>();
  for (const k of ['sil', 'x0', 'x1', 'y0', 'y1', 'z0', 'z1']) classMean.set(k, Float32Array.from({ length: D }, () => means.normal() * 3));
  const w = FeatureArchiveWriter.open(join(dir, `feats-${name}`), { config: { kind: 'synthetic' } });
  const sups: Supervision[] = [];
  for (let u = 0; u < n; u++) {
    const words = Array.from({ length: 2 + rng.int(3) }, () => ['x', 'y', 'z'][rng.int(3)]);
    const seq: string[] = [];
    const push = (k: string, frames: number) => {
      for (let i = 0; i < frames; i++) seq.push(k);
    };
    // Short edge silences and rare pauses, so a flat start lands near the truth (as Kaldi's first pass needs).
    push('sil', 3);
    for (const wd of words) {
      push(`${wd}0`, 4 + rng.int(4));
      push(`${wd}1`, 4 + rng.int(4));
      if (rng.uniform() < 0.3) push('sil', 2);
    }
    push('sil', 3);
    const data = new Float32Array(seq.length * D);
    seq.forEach((k, t) => classMean.get(k)!.forEach((m, d) => (data[t * D + d] = m + rng.normal())));
    const id = `${name}-${String(u).padStart(3, '0')}`;
    w.append(id, { data, numFrames: seq.length, numCols: D }, { sampleRateHz: 16000 });
    sups.push({ id, recordingId: id, startSec: 0, durationSec: seq.length / 100, text: words.join(' '), speaker: `s${u % 3}` });
  }
  w.close();
  writeJsonl(join(dir, name, 'supervisions.jsonl'), sups, SupervisionSchema);
}
