import { ArrayDataset, Rng } from '@kdasr/core';
import type { IdxImages } from './idx.js';

/** Pixels scaled to [0, 1] (uint8 / 255), one row per image. */
export function imagesToDataset(images: IdxImages, source: string, indices?: Int32Array): ArrayDataset {
  const d = images.rows * images.cols;
  const idx = indices ?? Int32Array.from({ length: images.count }, (_, i) => i);
  const features = new Float32Array(idx.length * d);
  const labels = new Int32Array(idx.length);
  for (let r = 0; r < idx.length; r++) {
    const i = idx[r];
    const px = images.pixels.subarray(i * d, (i + 1) * d);
    const row = r * d;
    for (let j = 0; j < d; j++) features[row + j] = px[j] / 255;
    labels[r] = images.labels[i];
  }
  return new ArrayDataset({ features, featureDim: d, numClasses: images.numClasses, labels, source });
}

/**
 * A seeded random split of the training set into train and validation (the paper does not say how it
 * validated; a random split keeps the class mix, unlike MNIST's writer-ordered last 10,000). Both index
 * lists are sorted so that subsets keep the file order.
 */
export function trainValidationSplit(count: number, validationSize: number, seed: number): { train: Int32Array; validation: Int32Array } {
  if (!Number.isInteger(validationSize) || validationSize <= 0 || validationSize >= count)
    throw new Error(`validation size must be an integer in (0, ${count}), got ${validationSize}`);
  const perm = new Rng(seed).permutation(count);
  const validation = perm.slice(count - validationSize).sort();
  const train = perm.slice(0, count - validationSize).sort();
  return { train, validation };
}

/** The first `limit` of `indices` after a seeded shuffle (a smaller, class-balanced-on-average subset). */
export function takeSubset(indices: Int32Array, limit: number | undefined, seed: number): Int32Array {
  if (limit === undefined || limit >= indices.length) return indices;
  const perm = new Rng(seed).permutation(indices.length);
  return Int32Array.from(perm.subarray(0, limit), (p) => indices[p]).sort();
}

/** Indices whose label is (or is not) in `classes`. */
export function filterByClass(indices: Int32Array, labels: ArrayLike<number>, keep: (label: number) => boolean): Int32Array {
  return indices.filter((i) => keep(labels[i]));
}

export function classCounts(labels: ArrayLike<number>, numClasses: number): number[] {
  const c = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) c[labels[i]]++;
  return c;
}
