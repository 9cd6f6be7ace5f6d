import { Rng, type BatchOptions, type BatchSource, type Dataset, type HostBatch } from '@kdasr/core';

/**
 * Copy `src` (one h×w image, row-major) into `dst` moved by (dx, dy) pixels (+x right, +y down); pixels shifted
 * in from outside are 0 (MNIST background).
 */
export function shiftImage(src: Float32Array, dst: Float32Array, width: number, height: number, dx: number, dy: number): void {
  dst.fill(0);
  const x0 = Math.max(0, dx);
  const x1 = Math.min(width, width + dx);
  if (x1 <= x0) return;
  for (let y = Math.max(0, dy); y < Math.min(height, height + dy); y++) {
    const from = (y - dy) * width + (x0 - dx);
    dst.set(src.subarray(from, from + (x1 - x0)), y * width + x0);
  }
}

export interface JitterOptions {
  width: number;
  height: number;
  /** Largest shift in pixels along each axis (the paper: "up to two pixels in any direction"). */
  maxShift: number;
  /**
   * Seeds the shifts. When batches() gets a shuffling rng (a training epoch), the shifts come from a stream forked
   * from that rng and this seed, so an epoch's shifts depend only on (epoch rng, seed) and a resumed run replays
   * them exactly; without one, successive calls draw from this source's own stream.
   */
  seed: number;
}

/**
 * Augments a dataset on the fly: every example of every batch is moved by its own random shift in
 * [-maxShift, maxShift]² (so the teacher sees a new translation each epoch without storing 25 copies).
 * Labels, indices and targets pass through unchanged.
 */
export class JitterSource implements BatchSource {
  readonly size: number;
  readonly featureDim: number;
  readonly numClasses: number;
  private readonly rng: Rng;

  constructor(
    private readonly inner: Dataset,
    private readonly options: JitterOptions,
  ) {
    const { width, height, maxShift } = options;
    if (inner.featureDim !== width * height)
      throw new Error(`JitterSource: featureDim ${inner.featureDim} is not ${width}x${height}; jitter needs image rows`);
    if (!Number.isInteger(maxShift) || maxShift < 0 || maxShift >= Math.min(width, height))
      throw new Error(`JitterSource: maxShift must be an integer in [0, ${Math.min(width, height)}), got ${maxShift}`);
    this.size = inner.size;
    this.featureDim = inner.featureDim;
    this.numClasses = inner.numClasses;
    this.rng = new Rng(options.seed);
  }

  /** A shifted copy of every example of a batch; returns the new batch and the (dx, dy) pairs used. */
  jitter(batch: HostBatch, rng: Rng = this.rng): { batch: HostBatch; shifts: Int8Array } {
    const { width, height, maxShift } = this.options;
    const d = this.featureDim;
    const out = new Float32Array(batch.features.length);
    const shifts = new Int8Array(batch.size * 2);
    const span = 2 * maxShift + 1;
    for (let i = 0; i < batch.size; i++) {
      const dx = rng.int(span) - maxShift;
      const dy = rng.int(span) - maxShift;
      shifts[2 * i] = dx;
      shifts[2 * i + 1] = dy;
      shiftImage(batch.features.subarray(i * d, (i + 1) * d), out.subarray(i * d, (i + 1) * d), width, height, dx, dy);
    }
    return { batch: { ...batch, features: out }, shifts };
  }

  *batches(options: BatchOptions): Iterable<HostBatch> {
    // fork() reads only the seed, so it does not disturb the shuffle the inner source draws from options.rng.
    const rng = options.rng ? options.rng.fork(`jitter-${this.options.seed}`) : this.rng;
    for (const b of this.inner.batches(options)) yield this.jitter(b, rng).batch;
  }
}
