import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initRuntime, type HostBatch, type Teacher } from '@kdasr/core';
import { FrameDataset, Frontend } from '@kdasr/acoustic-models';
import { RoutedTeacher, TransferMixture } from './distill.js';

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
});

/** One utterance whose frame t has feature value base + t in every column and label t % 3. */
function frames(base: number, n: number): FrameDataset {
  const data = Float32Array.from({ length: n * 2 }, (_, i) => base + Math.floor(i / 2));
  return new FrameDataset([{ id: `u${base}`, features: { data, numFrames: n, numCols: 2 }, labels: Int32Array.from({ length: n }, (_, t) => t % 3) }], {
    numClasses: 3,
    frontend: new Frontend({ splice: { left: 0, right: 0 }, cmvn: { mode: 'none' } }),
    keepUnlabelled: true,
  });
}

/** A teacher whose logits name the set and the example index it was asked for. */
class IndexTeacher implements Teacher {
  readonly numClasses = 3;
  constructor(readonly tag: number) {}
  hostLogits(b: HostBatch): Float32Array {
    return Float32Array.from({ length: b.size * 3 }, (_, i) => (i % 3 === 0 ? this.tag : i % 3 === 1 ? b.indices[Math.floor(i / 3)] : 0));
  }
  logits(b: HostBatch): tf.Tensor2D {
    return tf.tensor2d(this.hostLogits(b), [b.size, 3]);
  }
  probabilities(b: HostBatch, t: number): tf.Tensor2D {
    return tf.softmax(tf.div(this.logits(b), t)) as tf.Tensor2D;
  }
}

describe('TransferMixture and RoutedTeacher', () => {
  it('repeats each set by its weight (fractional part: a seeded subset), drops labels of unlabelled sets', () => {
    const a = frames(0, 10);
    const b = frames(100, 8);
    const m = new TransferMixture([a, b], [1, 2.5], [true, false], 1);
    expect(m.size).toBe(10 + 2 * 8 + 4);
    const count = (s: number) => Array.from(m.setOf).filter((k) => k === s).length;
    expect([count(0), count(1)]).toEqual([10, 20]);
    expect(new TransferMixture([a, b], [1, 2.5], [true, false], 1).localOf).toEqual(m.localOf);
    const all = m.gather(Int32Array.from({ length: m.size }, (_, i) => i));
    for (let i = 0; i < m.size; i++) {
      const local = m.localOf[i];
      expect(all.features[2 * i]).toBe(m.setOf[i] === 0 ? local : 100 + local);
      expect(all.labels![i]).toBe(m.setOf[i] === 0 ? local % 3 : -1);
    }
  });

  it('asks each set\u2019s teacher for its own local indices, and top-k keeps the k largest logits', () => {
    const m = new TransferMixture([frames(0, 6), frames(100, 6)], [1, 1], [true, true], 1);
    const order = Int32Array.from([7, 0, 11, 3]);
    const b = m.gather(order);
    const z = new RoutedTeacher(m, [new IndexTeacher(10), new IndexTeacher(20)]).hostLogits!(b);
    expect(Array.from(z)).toEqual([20, 1, 0, 10, 0, 0, 20, 5, 0, 10, 3, 0]);
    const top1 = new RoutedTeacher(m, [new IndexTeacher(10), new IndexTeacher(20)], 1, 1).hostLogits!(b);
    // Row [20, 1, 0] at k = 1: 20 kept, the two others get log(mean(exp(1), exp(0))).
    expect(top1[0]).toBe(20);
    expect(top1[1]).toBeCloseTo(Math.log((Math.E + 1) / 2), 5);
    expect(top1[2]).toBeCloseTo(Math.log((Math.E + 1) / 2), 5);
    const p = new RoutedTeacher(m, [new IndexTeacher(10), new IndexTeacher(20)]).hostProbabilities(b, 2);
    expect(p[0] + p[1] + p[2]).toBeCloseTo(1, 6);
  });
});
