import type { HostBatch } from '@kdasr/core';
import { checkTemperature } from './validate.js';

/**
 * Random access to stored logits one example at a time (StoredLogitsTeacher has it): what a soft-target cache reads.
 * `rowLogits` writes the example's logits into `scratch` (numClasses values) and returns it.
 */
export interface RowLogitsSource {
  readonly numClasses: number;
  readonly numExamples: number;
  rowLogits(example: number, scratch: Float32Array): Float32Array;
  /** Optional: the logits of `indices` row after row into `out` from `offset`, in one call (a kernel's input). */
  gatherLogitsInto?(indices: ArrayLike<number>, out: Float32Array, offset: number): void;
  /**
   * Optional: the stored block (chunk) holding `example` as dense logits, rows [start, start + rows) of the transfer
   * set from data[0]; undefined when it is not dense (top-k). A kernel then fills whole blocks with no copying.
   */
  denseBlock?(example: number): { data: Float32Array; start: number; rows: number } | undefined;
}

export function isRowLogitsSource<T>(t: T): t is T & RowLogitsSource {
  const s = t as RowLogitsSource;
  return !!s && typeof s.rowLogits === 'function' && Number.isInteger(s.numExamples) && Number.isInteger(s.numClasses);
}

export interface SoftTargetCacheOptions {
  /** How the members' distributions combine (one member: either gives its own softmax). */
  combine: 'arithmetic' | 'geometric';
  /**
   * Temperatures whose combined distributions stay in memory (least recently used goes first), each
   * numExamples x numClasses float32: as much as one member's dense logits. 0 turns the cache off. Default 1.
   */
  temperatures?: number;
  where?: string;
}

/**
 * A batched soft-target kernel: rows [rowOffset, rowOffset + rows) of each member's logits (one [rows, numClasses]
 * row-major array per member) to out [rows, numClasses], the mean of the members' softmaxes at T ('arithmetic';
 * one member: its softmax) or the softmax of their mean logits ('geometric'). @kdasr/native's students hand in the
 * engine's vectorised one (distill() attaches it).
 */
export type SoftTargetKernel = (members: readonly Float32Array[], rowOffset: number, rows: number, numClasses: number, temperature: number, combine: 'arithmetic' | 'geometric', out: Float32Array) => void;

/** A teacher that can compute its soft targets with a SoftTargetKernel (EnsembleTeacher, StoredLogitsTeacher). */
export interface SoftTargetKernelUser {
  useSoftTargetKernel(kernel: SoftTargetKernel | undefined): void;
}

export function usesSoftTargetKernel<T>(t: T): t is T & SoftTargetKernelUser {
  return !!t && typeof (t as Partial<SoftTargetKernelUser>).useSoftTargetKernel === 'function';
}

interface Filled {
  values: Float32Array;
  done: Uint8Array;
}

/**
 * The teacher targets of stored-logit members, computed once per example and kept: a student asks for the same
 * distribution (softened at T, combined over members) every epoch, and recomputing it per batch costs as much as
 * the student's own training step. Rows are filled on first use, so the first epoch (or a small-data subset) pays
 * only for the examples it draws. The arithmetic is the uncached path's operation for operation, in float32 at the
 * same points, so the values are identical to EnsembleTeacher's and StoredLogitsTeacher's per-batch results.
 */
export class SoftTargetCache {
  readonly numClasses: number;
  readonly numExamples: number;
  private readonly maxTemperatures: number;
  private readonly byTemperature = new Map<number, Filled>();
  private meanLogits: Filled | null = null;
  private readonly where: string;
  private readonly scratch: Float32Array;
  private readonly exps: Float32Array;
  /** Rows computed so far (all temperatures; cache misses). */
  rowsComputed = 0;
  private kernel: SoftTargetKernel | undefined;
  /** The kernel's input (gathered member logits) and output, grown to the largest batch. */
  private kernelIn = new Float32Array(0);
  private kernelOut = new Float32Array(0);

  constructor(
    private readonly members: readonly RowLogitsSource[],
    private readonly options: SoftTargetCacheOptions,
  ) {
    this.where = options.where ?? 'SoftTargetCache';
    if (members.length === 0) throw new Error(`${this.where}: needs at least one member`);
    this.numClasses = members[0].numClasses;
    this.numExamples = members[0].numExamples;
    members.forEach((m, i) => {
      if (m.numExamples !== this.numExamples || m.numClasses !== this.numClasses)
        throw new Error(
          `${this.where}: member ${i} holds ${m.numExamples} x ${m.numClasses} logits but member 0 holds ${this.numExamples} x ${this.numClasses}; stored members must cover the same transfer set`,
        );
    });
    this.maxTemperatures = options.temperatures ?? 1;
    if (!Number.isInteger(this.maxTemperatures) || this.maxTemperatures < 0)
      throw new Error(`${this.where}: the number of cached temperatures must be an integer >= 0, got ${this.maxTemperatures}`);
    this.scratch = new Float32Array(this.numClasses);
    this.exps = new Float32Array(this.numClasses);
  }

  /** Compute rows with a batched kernel (one call per batch's missing rows) instead of the per-row JS loop. */
  useKernel(kernel: SoftTargetKernel | undefined): void {
    this.kernel = kernel;
  }

  get enabled(): boolean {
    return this.maxTemperatures > 0;
  }

  private empty(): Filled {
    return { values: new Float32Array(this.numExamples * this.numClasses), done: new Uint8Array(this.numExamples) };
  }

  private checkBatch(batch: HostBatch): void {
    if (batch.numClasses !== this.numClasses)
      throw new Error(`${this.where}: batch has ${batch.numClasses} classes, stored logits have ${this.numClasses}`);
  }

  /**
   * Rows of `indices` from `table`, computing the missing ones; with the cache off (table null), computed into the
   * result. `fill(e, dst, o)` writes example e's row at dst[o..o+C). Offsets, not subarrays: nothing allocated per row.
   */
  private gather(table: Filled | null, indices: Int32Array, fill: (example: number, dst: Float32Array, offset: number) => void, into?: Float32Array): Float32Array {
    const c = this.numClasses;
    if (into && into.length < indices.length * c)
      throw new Error(`${this.where}: the output array holds ${into.length} values, the batch needs ${indices.length} x ${c}`);
    const out = into ?? new Float32Array(indices.length * c);
    for (let r = 0; r < indices.length; r++) {
      const e = indices[r];
      if (!Number.isInteger(e) || e < 0 || e >= this.numExamples)
        throw new Error(`${this.where}: example index ${e} out of range [0, ${this.numExamples})`);
      if (!table) {
        fill(e, out, r * c);
        continue;
      }
      const v = table.values;
      if (!table.done[e]) {
        fill(e, v, e * c);
        table.done[e] = 1;
        this.rowsComputed++;
      }
      out.set(v.subarray(e * c, (e + 1) * c), r * c);
    }
    return out;
  }

  private table(temperature: number): Filled | null {
    if (this.maxTemperatures === 0) return null;
    let table = this.byTemperature.get(temperature);
    if (table) this.byTemperature.delete(temperature);
    else {
      if (this.byTemperature.size >= this.maxTemperatures) this.byTemperature.delete(this.byTemperature.keys().next().value!);
      table = this.empty();
    }
    this.byTemperature.set(temperature, table);
    return table;
  }

  /**
   * The combined distribution at `temperature` for the batch's examples: a fresh array the caller owns, or written
   * into `into` (at least size x numClasses values; returned) so a training loop can reuse one buffer per run.
   */
  probabilities(batch: HostBatch, temperature: number, into?: Float32Array): Float32Array {
    checkTemperature(temperature, `${this.where}.probabilities`);
    this.checkBatch(batch);
    if (this.kernel) return this.kernelProbabilities(this.kernel, this.table(temperature), batch.indices, temperature, into);
    const fill =
      this.options.combine === 'geometric' || this.members.length === 1
        ? (e: number, dst: Float32Array, o: number) => this.softmaxInto(this.meanRow(e), temperature, dst, o, false)
        : (e: number, dst: Float32Array, o: number) => this.arithmeticRow(e, temperature, dst, o);
    return this.gather(this.table(temperature), batch.indices, fill, into);
  }

  /**
   * probabilities() through the kernel. With the cache on, each missing example's whole stored block is computed
   * straight from the members' chunks when they are dense and laid out alike (one call per block, no copies; the
   * first epoch at a temperature touches every block anyway); other missing rows, and every row with the cache off,
   * are gathered member by member and computed in one call. Then the rows are copied out as gather() does.
   */
  private kernelProbabilities(kernel: SoftTargetKernel, table: Filled | null, indices: Int32Array, temperature: number, into?: Float32Array): Float32Array {
    const c = this.numClasses;
    const m = this.members;
    const combine = m.length === 1 ? 'arithmetic' : this.options.combine;
    const missing: number[] = [];
    for (const e of indices) {
      if (!Number.isInteger(e) || e < 0 || e >= this.numExamples)
        throw new Error(`${this.where}: example index ${e} out of range [0, ${this.numExamples})`);
      if (!table) missing.push(e);
      else if (table.done[e] === 0) {
        const blocks = this.alignedBlocks(e);
        if (!blocks) {
          // 2: queued for the gathered call below (an index drawn twice in one batch is computed once).
          table.done[e] = 2;
          missing.push(e);
          continue;
        }
        const { start, rows } = blocks[0];
        kernel(blocks.map((b) => b.data), 0, rows, c, temperature, combine, table.values.subarray(start * c, (start + rows) * c));
        for (let r = start; r < start + rows; r++)
          if (table.done[r] !== 1) {
            table.done[r] = 1;
            this.rowsComputed++;
          }
      }
    }
    const k = missing.length;
    if (k > 0) {
      if (this.kernelIn.length < m.length * k * c) this.kernelIn = new Float32Array(m.length * k * c);
      if (this.kernelOut.length < k * c) this.kernelOut = new Float32Array(k * c);
      const zin = this.kernelIn;
      try {
        for (let i = 0; i < m.length; i++) {
          const src = m[i];
          if (src.gatherLogitsInto) src.gatherLogitsInto(missing, zin, i * k * c);
          else for (let j = 0; j < k; j++) zin.set(src.rowLogits(missing[j], this.scratch), (i * k + j) * c);
        }
        kernel(m.map((_, i) => zin.subarray(i * k * c, (i + 1) * k * c)), 0, k, c, temperature, combine, this.kernelOut);
      } catch (e) {
        // A failed read (a corrupt chunk) leaves these rows to compute again, not marked done.
        if (table) for (const x of missing) if (table.done[x] === 2) table.done[x] = 0;
        throw e;
      }
      if (!table) {
        if (into && into.length < k * c) throw new Error(`${this.where}: the output array holds ${into.length} values, the batch needs ${k} x ${c}`);
        const out = into ?? new Float32Array(k * c);
        out.set(this.kernelOut.subarray(0, k * c));
        return out;
      }
      for (let j = 0; j < k; j++) {
        table.values.set(this.kernelOut.subarray(j * c, (j + 1) * c), missing[j] * c);
        table.done[missing[j]] = 1;
      }
      this.rowsComputed += k;
    }
    return this.gather(table, indices, () => {
      throw new Error(`${this.where}: internal error: a row was not computed`);
    }, into);
  }

  /** Every member's dense block holding example e, when all have one covering the same rows; else undefined. */
  private alignedBlocks(e: number): { data: Float32Array; start: number; rows: number }[] | undefined {
    const out = [];
    for (const src of this.members) {
      const b = src.denseBlock?.(e);
      if (!b || (out.length > 0 && (b.start !== out[0].start || b.rows !== out[0].rows))) return undefined;
      out.push(b);
    }
    return out;
  }

  /** The members' mean logits for the batch (the geometric ensemble's logits); fresh array. */
  logits(batch: HostBatch): Float32Array {
    this.checkBatch(batch);
    const table = this.maxTemperatures > 0 ? (this.meanLogits ??= this.empty()) : null;
    return this.gather(table, batch.indices, (e, dst, o) => dst.set(this.meanRow(e), o));
  }

  /** Mean of the members' logits for one example, as EnsembleTeacher's float32 accumulation does it. */
  private meanRow(e: number): Float32Array {
    const m = this.members;
    if (m.length === 1) return m[0].rowLogits(e, this.scratch);
    const acc = this.exps;
    acc.set(m[0].rowLogits(e, this.scratch));
    for (let i = 1; i < m.length; i++) {
      const z = m[i].rowLogits(e, this.scratch);
      for (let j = 0; j < acc.length; j++) acc[j] += z[j];
    }
    const inv = 1 / m.length;
    for (let j = 0; j < acc.length; j++) acc[j] *= inv;
    return acc;
  }

  /** softmaxRowsHost on one row: exp in double, stored in float32, scaled by 1/Σ; `add` accumulates into dst. */
  private softmaxInto(z: Float32Array, temperature: number, dst: Float32Array, o: number, add: boolean): void {
    const c = this.numClasses;
    const inv = 1 / temperature;
    let max = -Infinity;
    for (let j = 0; j < c; j++) if (z[j] > max) max = z[j];
    // z may be this.exps (meanRow's accumulator): each slot is read before it is overwritten.
    const e = this.exps;
    let sum = 0;
    for (let j = 0; j < c; j++) {
      const x = Math.exp((z[j] - max) * inv);
      e[j] = x;
      sum += x;
    }
    const norm = 1 / sum;
    if (add) for (let j = 0; j < c; j++) dst[o + j] += Math.fround(e[j] * norm);
    else for (let j = 0; j < c; j++) dst[o + j] = e[j] * norm;
  }

  private arithmeticRow(e: number, temperature: number, dst: Float32Array, o: number): void {
    const m = this.members;
    for (let i = 0; i < m.length; i++) this.softmaxInto(m[i].rowLogits(e, this.scratch), temperature, dst, o, i > 0);
    const inv = 1 / m.length;
    for (let j = 0; j < this.numClasses; j++) dst[o + j] *= inv;
  }
}
