// Host-side dataset interfaces: plain typed arrays, no tensors, so that job workers and the browser can use them.
import type { Rng } from './rng.js';

/**
 * One batch of examples on the host, row-major, class axis last. Host arrays (not tensors) cross package
 * boundaries so that nobody has to guess who disposes what; consumers make tensors inside tf.tidy.
 */
export interface HostBatch {
  /** Number of examples in the batch. */
  size: number;
  featureDim: number;
  numClasses: number;
  /** [size, featureDim] float32. */
  features: Float32Array;
  /** Index of each example in its dataset: how stored teacher outputs are looked up. */
  indices: Int32Array;
  /** Hard labels, int32; -1 marks an unlabelled example. Absent for unlabelled sets. */
  labels?: Int32Array;
  /** [size, numClasses] target distribution (rows sum to 1). */
  softTargets?: Float32Array;
  /** [size, numClasses] teacher logits (softened by the loss at its temperature). */
  teacherLogits?: Float32Array;
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffle order; omit for the natural order (evaluation). */
  rng?: Rng;
  /** Drop a final partial batch (training keeps batch statistics steady). */
  dropLast?: boolean;
}

/** Anything that yields batches: in-memory arrays, a feature archive streamed from disk, a subset. */
export interface BatchSource {
  readonly size: number;
  readonly featureDim: number;
  readonly numClasses: number;
  batches(options: BatchOptions): Iterable<HostBatch>;
}

/** A source with random access by example index. */
export interface Dataset extends BatchSource {
  gather(indices: Int32Array): HostBatch;
}

export interface ArrayDatasetInit {
  features: Float32Array;
  featureDim: number;
  numClasses: number;
  labels?: Int32Array;
  softTargets?: Float32Array;
  teacherLogits?: Float32Array;
  /** Where the data came from, for error messages. */
  source?: string;
}

/** An in-memory dataset over typed arrays. */
export class ArrayDataset implements Dataset {
  readonly size: number;
  readonly featureDim: number;
  readonly numClasses: number;
  readonly features: Float32Array;
  readonly labels?: Int32Array;
  readonly softTargets?: Float32Array;
  readonly teacherLogits?: Float32Array;
  readonly source: string;

  constructor(init: ArrayDatasetInit) {
    const src = init.source ?? 'ArrayDataset';
    if (!Number.isInteger(init.featureDim) || init.featureDim <= 0)
      throw new Error(`${src}: featureDim must be a positive integer, got ${init.featureDim}`);
    if (!Number.isInteger(init.numClasses) || init.numClasses <= 0)
      throw new Error(`${src}: numClasses must be a positive integer, got ${init.numClasses}`);
    if (init.features.length % init.featureDim !== 0)
      throw new Error(`${src}: features has ${init.features.length} values, not a multiple of featureDim ${init.featureDim}`);
    this.size = init.features.length / init.featureDim;
    this.featureDim = init.featureDim;
    this.numClasses = init.numClasses;
    this.features = init.features;
    this.source = src;
    if (init.labels) {
      if (init.labels.length !== this.size)
        throw new Error(`${src}: labels has ${init.labels.length} entries for ${this.size} examples`);
      for (let i = 0; i < init.labels.length; i++) {
        const l = init.labels[i];
        if (l < -1 || l >= this.numClasses)
          throw new Error(`${src}: label ${l} at example ${i} is outside [0, ${this.numClasses}) (use -1 for unlabelled)`);
      }
      this.labels = init.labels;
    }
    for (const [name, arr] of [
      ['softTargets', init.softTargets],
      ['teacherLogits', init.teacherLogits],
    ] as const) {
      if (arr && arr.length !== this.size * this.numClasses)
        throw new Error(`${src}: ${name} has ${arr.length} values; expected ${this.size} x ${this.numClasses}`);
    }
    this.softTargets = init.softTargets;
    this.teacherLogits = init.teacherLogits;
  }

  gather(indices: Int32Array): HostBatch {
    const n = indices.length;
    const d = this.featureDim;
    const c = this.numClasses;
    const features = new Float32Array(n * d);
    const labels = this.labels ? new Int32Array(n) : undefined;
    const soft = this.softTargets ? new Float32Array(n * c) : undefined;
    const tl = this.teacherLogits ? new Float32Array(n * c) : undefined;
    for (let r = 0; r < n; r++) {
      const i = indices[r];
      if (i < 0 || i >= this.size) throw new Error(`${this.source}: example index ${i} out of range [0, ${this.size})`);
      features.set(this.features.subarray(i * d, (i + 1) * d), r * d);
      if (labels) labels[r] = this.labels![i];
      if (soft) soft.set(this.softTargets!.subarray(i * c, (i + 1) * c), r * c);
      if (tl) tl.set(this.teacherLogits!.subarray(i * c, (i + 1) * c), r * c);
    }
    return {
      size: n,
      featureDim: d,
      numClasses: c,
      features,
      indices: Int32Array.from(indices),
      labels,
      softTargets: soft,
      teacherLogits: tl,
    };
  }

  *batches(options: BatchOptions): Iterable<HostBatch> {
    yield* batchesByGather(this, options);
  }

  /** A view of some examples (a transfer subset, a validation split). */
  subset(indices: Int32Array, source = `${this.source}[subset]`): ArrayDataset {
    const b = this.gather(indices);
    return new ArrayDataset({
      features: b.features,
      featureDim: this.featureDim,
      numClasses: this.numClasses,
      labels: b.labels,
      softTargets: b.softTargets,
      teacherLogits: b.teacherLogits,
      source,
    });
  }
}

/** Shuffled (or ordered) batches for any random-access dataset. */
export function* batchesByGather(ds: Dataset, options: BatchOptions): Generator<HostBatch> {
  const { batchSize, rng, dropLast = false } = options;
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  const order = rng ? rng.permutation(ds.size) : Int32Array.from({ length: ds.size }, (_, i) => i);
  for (let start = 0; start < ds.size; start += batchSize) {
    const end = Math.min(start + batchSize, ds.size);
    if (dropLast && end - start < batchSize) break;
    yield ds.gather(order.subarray(start, end));
  }
}
