/**
 * A generalist plus specialists as one system over a BatchSource, batch by batch: the generalist's distribution,
 * the specialists that its top-n classes activate (each run only on the rows where it is active), and the
 * combination (Eq. 5 or a shortcut). Memory stays at one batch, whatever the number of specialists or examples,
 * so it evaluates large test sets (`combineOnSource`) and serves as a teacher for distilling the whole system
 * back into one model (`SpecialistEnsembleTeacher`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BatchSource, Classifier, HostBatch, Teacher } from '@kdasr/core';
import { combineWithSpecialists, topNClasses, type CombineMethod, type SolverOptions } from './combine.js';
import { argmaxRow } from './metrics.js';
import { batchLogits } from './specialist.js';

export interface SpecialistMember {
  classifier: Classifier;
  /** Global class indices; the classifier's outputs are these classes then the dustbin. */
  subset: readonly number[];
}

export interface EnsembleOptions {
  generalist: Classifier;
  specialists: readonly SpecialistMember[];
  /** The generalist's top-n classes activate specialists (the paper: 1). Default 1. */
  topN?: number;
  solver?: SolverOptions;
}

function softmaxRows(z: Float32Array, c: number, temperature = 1): Float64Array {
  const out = new Float64Array(z.length);
  for (let o = 0; o < z.length; o += c) {
    let m = -Infinity;
    for (let j = 0; j < c; j++) m = Math.max(m, z[o + j] / temperature);
    let s = 0;
    for (let j = 0; j < c; j++) s += out[o + j] = Math.exp(z[o + j] / temperature - m);
    for (let j = 0; j < c; j++) out[o + j] /= s;
  }
  return out;
}

function check(o: EnsembleOptions, featureDim: number, where: string): { c: number; topN: number; membersOf: number[][] } {
  const c = o.generalist.numClasses;
  const topN = o.topN ?? 1;
  if (!Number.isInteger(topN) || topN < 1 || topN > c) throw new Error(`${where}: topN must be in [1, ${c}], got ${topN}`);
  if (featureDim !== o.generalist.inputDim) throw new Error(`${where}: featureDim ${featureDim} differs from the generalist's inputDim ${o.generalist.inputDim}`);
  const membersOf: number[][] = Array.from({ length: c }, () => []);
  o.specialists.forEach((s, m) => {
    if (s.classifier.numClasses !== s.subset.length + 1)
      throw new Error(`${where}: specialist ${m} has ${s.classifier.numClasses} outputs for a subset of ${s.subset.length} (+1 dustbin)`);
    if (s.classifier.inputDim !== featureDim) throw new Error(`${where}: specialist ${m} has inputDim ${s.classifier.inputDim}, the data ${featureDim}`);
    for (const j of s.subset) {
      if (!(Number.isInteger(j) && j >= 0 && j < c)) throw new Error(`${where}: specialist ${m} class ${j} is outside [0, ${c})`);
      membersOf[j].push(m);
    }
  });
  return { c, topN, membersOf };
}

/** One batch: generalist probabilities, each specialist's probabilities on its active rows (zeros elsewhere). */
function batchInputs(o: EnsembleOptions, batch: HostBatch, c: number, topN: number, membersOf: number[][]) {
  const pg = softmaxRows(batchLogits(o.generalist, batch), c);
  const rowsOf: number[][] = o.specialists.map(() => []);
  for (let r = 0; r < batch.size; r++) {
    const act = new Set<number>();
    for (const j of topNClasses(pg, r * c, c, topN)) for (const m of membersOf[j]) act.add(m);
    for (const m of act) rowsOf[m].push(r);
  }
  const specs = o.specialists.map((s, m) => {
    const k1 = s.subset.length + 1;
    const probs = new Float64Array(batch.size * k1);
    const rows = rowsOf[m];
    if (rows.length > 0) {
      const d = batch.featureDim;
      const feats = new Float32Array(rows.length * d);
      rows.forEach((r, i) => feats.set(batch.features.subarray(r * d, (r + 1) * d), i * d));
      const p = softmaxRows(batchLogits(s.classifier, { ...batch, size: rows.length, features: feats, indices: Int32Array.from(rows, (r) => batch.indices[r]) }), k1);
      rows.forEach((r, i) => probs.set(p.subarray(i * k1, (i + 1) * k1), r * k1));
    }
    return { subset: s.subset, probs };
  });
  return { pg, specs, specialistRows: rowsOf.reduce((t, r) => t + r.length, 0) };
}

export interface CombinedOnSource {
  numExamples: number;
  numClasses: number;
  /** Labels from the batches (−1 where absent). */
  labels: Int32Array;
  /** Top-1 class of the generalist and of each requested combination, per example in the source's order. */
  generalistPredictions: Int32Array;
  predictions: Partial<Record<CombineMethod, Int32Array>>;
  /** Mean −log q(label) over labelled examples (probabilities floored at 1e-30), per system. */
  nll: { generalist: number } & Partial<Record<CombineMethod, number>>;
  /** Active specialists per example. */
  active: Int32Array;
  /** Eq. 5 iterations per example (0 without active specialists); present when 'eq5' was asked for. */
  eq5Iterations?: Int32Array;
  eq5NotConverged: number;
  /** Specialist forward passes run (example × specialist pairs): the inference cost beyond the generalist. */
  specialistRows: number;
  seconds: Partial<Record<CombineMethod, number>> & { forward: number };
}

/**
 * Evaluates the combined system on a source in one pass: for each batch the generalist and the active specialists
 * run once, then every requested combination method. Returns top-1 predictions (not distributions), so memory is
 * O(examples), not O(examples × classes).
 */
export function combineOnSource(
  options: EnsembleOptions & { source: BatchSource; methods?: CombineMethod[]; batchSize?: number; onBatch?: (done: number, total: number) => void },
): CombinedOnSource {
  const where = 'combineOnSource';
  const { c, topN, membersOf } = check(options, options.source.featureDim, where);
  const methods = options.methods ?? ['eq5'];
  const n = options.source.size;
  const labels = new Int32Array(n).fill(-1);
  const generalistPredictions = new Int32Array(n);
  const predictions: Partial<Record<CombineMethod, Int32Array>> = {};
  const nllSum: Record<string, number> = { generalist: 0 };
  const seconds: Record<string, number> = { forward: 0 };
  for (const m of methods) {
    predictions[m] = new Int32Array(n);
    nllSum[m] = 0;
    seconds[m] = 0;
  }
  const active = new Int32Array(n);
  const eq5Iterations = methods.includes('eq5') ? new Int32Array(n) : undefined;
  let notConverged = 0;
  let specialistRows = 0;
  let labelled = 0;
  let row = 0;
  const lq = (p: number) => -Math.log(Math.max(p, 1e-30));
  for (const b of options.source.batches({ batchSize: options.batchSize ?? 512 })) {
    const t0 = performance.now();
    const { pg, specs, specialistRows: sr } = batchInputs(options, b, c, topN, membersOf);
    seconds.forward += (performance.now() - t0) / 1000;
    specialistRows += sr;
    for (let r = 0; r < b.size; r++) {
      const y = b.labels ? b.labels[r] : -1;
      labels[row + r] = y;
      generalistPredictions[row + r] = argmaxRow(pg, r * c, c);
      if (y >= 0) {
        labelled++;
        nllSum.generalist += lq(pg[r * c + y]);
      }
    }
    for (const method of methods) {
      const t1 = performance.now();
      const out = combineWithSpecialists({ generalist: pg, numClasses: c, specialists: specs, topN, method, solver: options.solver });
      seconds[method] += (performance.now() - t1) / 1000;
      const pred = predictions[method]!;
      for (let r = 0; r < b.size; r++) {
        pred[row + r] = argmaxRow(out.probs, r * c, c);
        const y = labels[row + r];
        if (y >= 0) nllSum[method] += lq(out.probs[r * c + y]);
      }
      if (method === 'eq5') {
        eq5Iterations!.set(out.iterations, row);
        notConverged += out.notConverged;
      }
      active.set(out.active, row);
    }
    row += b.size;
    options.onBatch?.(row, n);
  }
  if (row !== n) throw new Error(`${where}: the source yielded ${row} examples but reports size ${n}`);
  const nll = Object.fromEntries(Object.entries(nllSum).map(([k, v]) => [k, labelled ? v / labelled : NaN])) as CombinedOnSource['nll'];
  return {
    numExamples: n,
    numClasses: c,
    labels,
    generalistPredictions,
    predictions,
    nll,
    active,
    eq5Iterations,
    eq5NotConverged: notConverged,
    specialistRows,
    seconds: seconds as CombinedOnSource['seconds'],
  };
}

/**
 * The generalist-plus-specialists system as a distillation teacher: per batch, the combined distribution q (Eq. 5
 * or a shortcut, at temperature 1 as in §5.4) softened to temperature T as softmax(log q / T). This is how the
 * system is distilled back into a single model. With `cacheExamples` (the transfer set's size) q is kept per
 * example index after its first computation, as long as examples × classes × 4 bytes ≤ `maxCacheBytes`
 * (default 512 MiB), so later epochs skip the specialists and the solver.
 */
export class SpecialistEnsembleTeacher implements Teacher {
  readonly numClasses: number;
  readonly method: CombineMethod;
  private readonly topN: number;
  private readonly membersOf: number[][];
  private readonly cache?: { q: Float32Array; done: Uint8Array };
  /** Example rows computed (not served from the cache), served from the cache, and where Eq. 5 hit maxIterations. */
  stats = { rowsComputed: 0, rowsCached: 0, notConverged: 0 };

  constructor(
    readonly options: EnsembleOptions & { method?: CombineMethod; cacheExamples?: number; maxCacheBytes?: number },
  ) {
    const { c, topN, membersOf } = check(options, options.generalist.inputDim, 'SpecialistEnsembleTeacher');
    this.numClasses = c;
    this.topN = topN;
    this.membersOf = membersOf;
    this.method = options.method ?? 'eq5';
    const n = options.cacheExamples;
    if (n !== undefined && n * c * 4 <= (options.maxCacheBytes ?? 512 * 2 ** 20))
      this.cache = { q: new Float32Array(n * c), done: new Uint8Array(n) };
  }

  get caching(): boolean {
    return this.cache !== undefined;
  }

  /** Combined distributions at T = 1 for a batch, [size, C]. */
  combined(batch: HostBatch): Float64Array {
    const c = this.numClasses;
    const out = new Float64Array(batch.size * c);
    const todo: number[] = [];
    for (let r = 0; r < batch.size; r++) {
      const i = batch.indices[r];
      if (this.cache && i >= 0 && i < this.cache.done.length && this.cache.done[i]) {
        for (let j = 0; j < c; j++) out[r * c + j] = this.cache.q[i * c + j];
        this.stats.rowsCached++;
      } else todo.push(r);
    }
    if (todo.length === 0) return out;
    const d = batch.featureDim;
    const sub: HostBatch =
      todo.length === batch.size
        ? batch
        : {
            ...batch,
            size: todo.length,
            features: (() => {
              const f = new Float32Array(todo.length * d);
              todo.forEach((r, k) => f.set(batch.features.subarray(r * d, (r + 1) * d), k * d));
              return f;
            })(),
            indices: Int32Array.from(todo, (r) => batch.indices[r]),
            labels: undefined,
          };
    const { pg, specs } = batchInputs(this.options, sub, c, this.topN, this.membersOf);
    const combinedOut = combineWithSpecialists({ generalist: pg, numClasses: c, specialists: specs, topN: this.topN, method: this.method, solver: this.options.solver });
    const q = combinedOut.probs;
    this.stats.notConverged += combinedOut.notConverged;
    todo.forEach((r, k) => {
      out.set(q.subarray(k * c, (k + 1) * c), r * c);
      const i = sub.indices[k];
      if (this.cache && i >= 0 && i < this.cache.done.length) {
        this.cache.q.set(q.subarray(k * c, (k + 1) * c), i * c);
        this.cache.done[i] = 1;
      }
    });
    this.stats.rowsComputed += todo.length;
    return out;
  }

  probabilities(batch: HostBatch, temperature: number): tf.Tensor2D {
    if (!(temperature > 0)) throw new Error(`SpecialistEnsembleTeacher: temperature must be positive, got ${temperature}`);
    const c = this.numClasses;
    const q = this.combined(batch);
    const out = new Float32Array(q.length);
    for (let o = 0; o < q.length; o += c) {
      let m = -Infinity;
      for (let j = 0; j < c; j++) m = Math.max(m, Math.log(Math.max(q[o + j], 1e-30)) / temperature);
      let s = 0;
      for (let j = 0; j < c; j++) s += Math.exp(Math.log(Math.max(q[o + j], 1e-30)) / temperature - m);
      for (let j = 0; j < c; j++) out[o + j] = Math.exp(Math.log(Math.max(q[o + j], 1e-30)) / temperature - m) / s;
    }
    return tf.tensor2d(out, [batch.size, c]);
  }
}
