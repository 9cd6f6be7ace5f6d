import * as tf from '@tensorflow/tfjs-core';
import { Rng, type BatchOptions, type BatchSource, type Classifier, type Dataset, type HostBatch } from '@kdasr/core';

/**
 * A view of some examples of a dataset that keeps their ORIGINAL example indices in HostBatch.indices, so stored
 * teacher logits (looked up by index) stay aligned. (core's ArrayDataset.subset renumbers, which is right for a
 * new dataset but wrong for lookups into an artifact made from the full one.)
 */
export class IndexSubset implements BatchSource {
  readonly size: number;
  readonly featureDim: number;
  readonly numClasses: number;

  constructor(
    readonly base: Dataset,
    readonly indices: Int32Array,
    private readonly transform?: (b: HostBatch) => HostBatch,
  ) {
    for (let i = 0; i < indices.length; i++)
      if (!Number.isInteger(indices[i]) || indices[i] < 0 || indices[i] >= base.size)
        throw new Error(`IndexSubset: index ${indices[i]} at position ${i} is outside [0, ${base.size})`);
    this.size = indices.length;
    this.featureDim = base.featureDim;
    this.numClasses = base.numClasses;
  }

  *batches(options: BatchOptions): Iterable<HostBatch> {
    const { batchSize, rng, dropLast = false } = options;
    if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
    const order = rng ? rng.permutation(this.size) : Int32Array.from({ length: this.size }, (_, i) => i);
    for (let start = 0; start < this.size; start += batchSize) {
      const end = Math.min(start + batchSize, this.size);
      if (dropLast && end - start < batchSize) break;
      const pos = order.subarray(start, end);
      const b = this.base.gather(Int32Array.from(pos, (p) => this.indices[p]));
      yield this.transform ? this.transform(b) : b;
    }
  }
}

/** Wraps any source, dropping labels: the transfer set is then unlabelled and only the soft term trains. */
export function unlabelledTransferSet(source: BatchSource): BatchSource {
  return {
    size: source.size,
    featureDim: source.featureDim,
    numClasses: source.numClasses,
    *batches(options: BatchOptions) {
      for (const b of source.batches(options)) yield { ...b, labels: undefined };
    },
  };
}

/** Random subset of a fraction of the examples (the paper's 3%-of-the-training-set experiment), reproducible from seed. */
export function subsetTransferSet(ds: Dataset, options: { fraction?: number; count?: number; seed: number }): IndexSubset {
  const { fraction, count, seed } = options;
  let m: number;
  if (count !== undefined) {
    if (!Number.isInteger(count) || count <= 0 || count > ds.size) throw new Error(`subsetTransferSet: count must be in [1, ${ds.size}], got ${count}`);
    m = count;
  } else {
    if (fraction === undefined || !(fraction > 0 && fraction <= 1)) throw new Error(`subsetTransferSet: fraction must be in (0, 1], got ${fraction}`);
    m = Math.max(1, Math.round(fraction * ds.size));
  }
  const perm = new Rng(seed).fork('transfer-subset').permutation(ds.size).subarray(0, m);
  return new IndexSubset(ds, Int32Array.from(perm).sort());
}

/** Examples whose label ≥ 0 is NOT in `classes` (the paper's MNIST "omit the 3s" transfer set). Needs labels. */
export function omitClasses(ds: Dataset, classes: number[]): IndexSubset {
  for (const c of classes)
    if (!Number.isInteger(c) || c < 0 || c >= ds.numClasses) throw new Error(`omitClasses: class ${c} is outside [0, ${ds.numClasses})`);
  const drop = new Set(classes);
  const keep: number[] = [];
  const all = Int32Array.from({ length: ds.size }, (_, i) => i);
  const step = 4096;
  for (let s = 0; s < ds.size; s += step) {
    const b = ds.gather(all.subarray(s, Math.min(s + step, ds.size)));
    if (!b.labels) throw new Error('omitClasses: the dataset has no labels to filter on');
    for (let i = 0; i < b.size; i++) if (!drop.has(b.labels[i])) keep.push(b.indices[i]);
  }
  if (keep.length === 0) throw new Error(`omitClasses: omitting classes ${JSON.stringify(classes)} leaves no examples`);
  return new IndexSubset(ds, Int32Array.from(keep));
}

function checkClasses(classes: number[], numClasses: number, where: string): void {
  for (const c of classes)
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw new Error(`${where}: class ${c} is outside [0, ${numClasses})`);
}

/** Adds `delta` to the logits of `classes` (post-hoc bias adjustment, e.g. raising an omitted class). Caller owns the result. */
export function adjustBiases(logits: tf.Tensor2D, classes: number[], delta: number): tf.Tensor2D {
  if (logits.rank !== 2) throw new Error(`adjustBiases: logits must be 2-D, got shape [${logits.shape.join(', ')}]`);
  if (!Number.isFinite(delta)) throw new Error(`adjustBiases: delta must be finite, got ${delta}`);
  const c = logits.shape[1];
  checkClasses(classes, c, 'adjustBiases');
  const offset = new Float32Array(c);
  for (const k of classes) offset[k] = delta;
  return tf.tidy(() => tf.add(logits, tf.tensor1d(offset)) as tf.Tensor2D);
}

/** Host-array version of adjustBiases, in place on a copy. */
export function adjustBiasesHost(logits: Float32Array, numClasses: number, classes: number[], delta: number): Float32Array {
  checkClasses(classes, numClasses, 'adjustBiasesHost');
  if (logits.length % numClasses !== 0) throw new Error(`adjustBiasesHost: ${logits.length} values is not a multiple of ${numClasses} classes`);
  const out = Float32Array.from(logits);
  for (let r = 0; r < out.length; r += numClasses) for (const k of classes) out[r + k] += delta;
  return out;
}

/** A classifier whose logits for `classes` are shifted by `delta` (wraps, shares variables). */
export function withBiasAdjustment(classifier: Classifier, classes: number[], delta: number): Classifier {
  checkClasses(classes, classifier.numClasses, 'withBiasAdjustment');
  return {
    inputDim: classifier.inputDim,
    numClasses: classifier.numClasses,
    logits: (x, training) => tf.tidy(() => adjustBiases(classifier.logits(x, training), classes, delta)),
    trainableVariables: () => classifier.trainableVariables(),
  };
}

export interface BiasSearchResult {
  delta: number;
  score: number;
  tried: { delta: number; score: number }[];
}

/**
 * Searches the bias offset that maximises (or minimises) `evaluate(delta)` on a HELD-OUT split. The paper chose
 * its MNIST bias by looking at test performance; doing that here would leak the test set into the result.
 * 'grid': every candidate. 'golden': golden-section search on [low, high] (assumes one peak), `iterations` steps.
 */
export async function searchBiasAdjustment(options: {
  evaluate: (delta: number) => number | Promise<number>;
  candidates?: number[];
  range?: [number, number];
  method?: 'grid' | 'golden';
  iterations?: number;
  higherIsBetter?: boolean;
}): Promise<BiasSearchResult> {
  const where = 'searchBiasAdjustment';
  const higher = options.higherIsBetter ?? true;
  const tried: { delta: number; score: number }[] = [];
  const score = async (d: number) => {
    const s = await options.evaluate(d);
    if (!Number.isFinite(s)) throw new Error(`${where}: evaluate(${d}) returned ${s}`);
    tried.push({ delta: d, score: s });
    return higher ? s : -s;
  };
  const method = options.method ?? (options.candidates ? 'grid' : 'golden');
  if (method === 'grid') {
    const cands = options.candidates;
    if (!cands || cands.length === 0) throw new Error(`${where}: method 'grid' needs a non-empty candidates list`);
    for (const d of cands) if (!Number.isFinite(d)) throw new Error(`${where}: candidate ${d} is not finite`);
    for (const d of cands) await score(d);
  } else if (method === 'golden') {
    const [lo0, hi0] = options.range ?? [];
    if (!(Number.isFinite(lo0) && Number.isFinite(hi0) && lo0! < hi0!))
      throw new Error(`${where}: method 'golden' needs range [low, high] with low < high, got ${JSON.stringify(options.range)}`);
    const iters = options.iterations ?? 20;
    const g = (Math.sqrt(5) - 1) / 2;
    let a = lo0!;
    let b = hi0!;
    let c = b - g * (b - a);
    let d = a + g * (b - a);
    let fc = await score(c);
    let fd = await score(d);
    for (let i = 0; i < iters; i++) {
      if (fc >= fd) {
        b = d;
        d = c;
        fd = fc;
        c = b - g * (b - a);
        fc = await score(c);
      } else {
        a = c;
        c = d;
        fc = fd;
        d = a + g * (b - a);
        fd = await score(d);
      }
    }
  } else throw new Error(`${where}: method must be 'grid' or 'golden', got ${String(method)}`);
  let best = tried[0];
  for (const t of tried) if (higher ? t.score > best.score : t.score < best.score) best = t;
  return { delta: best.delta, score: best.score, tried };
}
