/**
 * Feature post-processing on row-major matrices: Kaldi add-deltas, CMVN with serialisable statistics
 * (accumulate in one pass, apply in another), and context splicing for frame classifiers.
 */
import type { FeatureMatrix } from './fbank.js';

function checkMatrix(m: FeatureMatrix, what: string): void {
  if (m.data.length !== m.numFrames * m.numCols)
    throw new Error(`${what}: matrix data has ${m.data.length} values, expected numFrames*numCols = ${m.numFrames}*${m.numCols}`);
}

export interface DeltaOptions {
  /** 2 = deltas and delta-deltas (Kaldi --delta-order). */
  order?: number;
  /** Half-width of the regression window (Kaldi --delta-window). */
  window?: number;
}

/** Kaldi's DeltaFeatures scales: order i is the order-(i-1) filter convolved with j/sum(j^2), j in [-w, w]. */
export function deltaScales(order: number, window: number): Float64Array[] {
  const scales = [Float64Array.of(1)];
  let norm = 0;
  for (let j = -window; j <= window; j++) norm += j * j;
  for (let i = 1; i <= order; i++) {
    const prev = scales[i - 1];
    const cur = new Float64Array(prev.length + 2 * window);
    for (let j = -window; j <= window; j++) for (let k = 0; k < prev.length; k++) cur[j + k + window] += (j * prev[k]) / norm;
    scales.push(cur);
  }
  return scales;
}

/** Append deltas (and delta-deltas for order 2): [T, D] -> [T, D*(order+1)], frames clamped at the edges. */
export function addDeltas(m: FeatureMatrix, opts: DeltaOptions = {}): FeatureMatrix {
  checkMatrix(m, 'addDeltas');
  const order = opts.order ?? 2;
  const window = opts.window ?? 2;
  if (!(order >= 0 && window >= 1)) throw new Error(`addDeltas: need order >= 0 and window >= 1, got ${order}, ${window}`);
  const T = m.numFrames;
  const D = m.numCols;
  const C = D * (order + 1);
  const out = new Float32Array(T * C);
  const scales = deltaScales(order, window);
  const acc = new Float64Array(D);
  for (let t = 0; t < T; t++) {
    out.set(m.data.subarray(t * D, (t + 1) * D), t * C);
    for (let i = 1; i <= order; i++) {
      const s = scales[i];
      const w = (s.length - 1) / 2;
      acc.fill(0);
      for (let j = -w; j <= w; j++) {
        const c = s[j + w];
        if (c === 0) continue;
        const src = Math.min(T - 1, Math.max(0, t + j)) * D;
        for (let d = 0; d < D; d++) acc[d] += c * m.data[src + d];
      }
      const o = t * C + i * D;
      for (let d = 0; d < D; d++) out[o + d] = acc[d];
    }
  }
  return { data: out, numFrames: T, numCols: C };
}

export interface CmvnStatsJson {
  dim: number;
  count: number;
  sum: number[];
  sumSq: number[];
}

/**
 * Sufficient statistics for CMVN (Kaldi's cmvn stats: count, sum, sum of squares per dimension), in float64.
 * One object per utterance, speaker or the whole corpus, depending on what is accumulated into it.
 */
export class CmvnStats {
  count = 0;
  readonly sum: Float64Array;
  readonly sumSq: Float64Array;

  constructor(readonly dim: number) {
    if (!(dim > 0 && Number.isInteger(dim))) throw new Error(`CmvnStats: dim must be a positive integer, got ${dim}`);
    this.sum = new Float64Array(dim);
    this.sumSq = new Float64Array(dim);
  }

  accumulate(m: FeatureMatrix, weight = 1): this {
    checkMatrix(m, 'CmvnStats.accumulate');
    if (m.numCols !== this.dim) throw new Error(`CmvnStats.accumulate: matrix has ${m.numCols} columns, stats have dim ${this.dim}`);
    const D = this.dim;
    for (let t = 0; t < m.numFrames; t++) {
      for (let d = 0; d < D; d++) {
        const x = m.data[t * D + d];
        this.sum[d] += weight * x;
        this.sumSq[d] += weight * x * x;
      }
    }
    this.count += weight * m.numFrames;
    return this;
  }

  merge(other: CmvnStats): this {
    if (other.dim !== this.dim) throw new Error(`CmvnStats.merge: dims differ (${this.dim} vs ${other.dim})`);
    this.count += other.count;
    for (let d = 0; d < this.dim; d++) {
      this.sum[d] += other.sum[d];
      this.sumSq[d] += other.sumSq[d];
    }
    return this;
  }

  mean(): Float64Array {
    if (this.count <= 0) throw new Error('CmvnStats: no frames accumulated');
    return this.sum.map((s) => s / this.count);
  }

  /** Per-dimension variance, floored at 1e-20 as Kaldi's ApplyCmvn does. */
  variance(): Float64Array {
    const mean = this.mean();
    return this.sumSq.map((s, d) => Math.max(s / this.count - mean[d] * mean[d], 1e-20));
  }

  toJSON(): CmvnStatsJson {
    return { dim: this.dim, count: this.count, sum: Array.from(this.sum), sumSq: Array.from(this.sumSq) };
  }

  static fromJSON(j: CmvnStatsJson): CmvnStats {
    const finite = (a: unknown) => Array.isArray(a) && a.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!j || !(Number.isInteger(j.dim) && j.dim >= 1) || !finite(j.sum) || !finite(j.sumSq) || j.sum.length !== j.dim || j.sumSq.length !== j.dim || !(Number.isFinite(j.count) && j.count >= 0))
      throw new Error('CmvnStats.fromJSON: expected {dim, count >= 0, sum[dim], sumSq[dim]} of finite numbers');
    const s = new CmvnStats(j.dim);
    s.count = j.count;
    s.sum.set(j.sum);
    s.sumSq.set(j.sumSq);
    return s;
  }
}

/** Stats per key (speaker id, or one key for global CMVN), serialisable as a plain object. */
export class CmvnStatsByKey {
  readonly stats = new Map<string, CmvnStats>();
  constructor(readonly dim: number) {}

  accumulate(key: string, m: FeatureMatrix): void {
    let s = this.stats.get(key);
    if (!s) this.stats.set(key, (s = new CmvnStats(this.dim)));
    s.accumulate(m);
  }

  get(key: string): CmvnStats {
    const s = this.stats.get(key);
    if (!s) throw new Error(`CMVN: no statistics for "${key}" (known: ${[...this.stats.keys()].slice(0, 5).join(', ')}${this.stats.size > 5 ? ', ...' : ''})`);
    return s;
  }

  toJSON(): { dim: number; stats: Record<string, CmvnStatsJson> } {
    return { dim: this.dim, stats: Object.fromEntries([...this.stats].map(([k, v]) => [k, v.toJSON()])) };
  }

  static fromJSON(j: { dim: number; stats: Record<string, CmvnStatsJson> }): CmvnStatsByKey {
    const s = new CmvnStatsByKey(j.dim);
    for (const [k, v] of Object.entries(j.stats)) s.stats.set(k, CmvnStats.fromJSON(v));
    return s;
  }
}

export interface CmvnOptions {
  /** Also scale to unit variance (Kaldi apply-cmvn --norm-vars). */
  normVars?: boolean;
}

/** Subtract the stats' mean (and divide by their standard deviation with normVars); returns a new matrix. */
export function applyCmvn(m: FeatureMatrix, stats: CmvnStats, opts: CmvnOptions = {}): FeatureMatrix {
  checkMatrix(m, 'applyCmvn');
  if (m.numCols !== stats.dim) throw new Error(`applyCmvn: matrix has ${m.numCols} columns, stats have dim ${stats.dim}`);
  const mean = stats.mean();
  const scale = opts.normVars ? stats.variance().map((v) => 1 / Math.sqrt(v)) : null;
  const D = m.numCols;
  const out = new Float32Array(m.data.length);
  for (let t = 0; t < m.numFrames; t++) {
    for (let d = 0; d < D; d++) {
      const i = t * D + d;
      out[i] = scale ? (m.data[i] - mean[d]) * scale[d] : m.data[i] - mean[d];
    }
  }
  return { data: out, numFrames: m.numFrames, numCols: D };
}

/** Per-utterance CMVN in one call. */
export function cmvnUtterance(m: FeatureMatrix, opts: CmvnOptions = {}): FeatureMatrix {
  return applyCmvn(m, new CmvnStats(m.numCols).accumulate(m), opts);
}

export interface SpliceOptions {
  left: number;
  right: number;
}

/** The context of the paper's frame classifier: 26 frames, predicting the 21st (20 left, 5 right). */
export const PAPER_CONTEXT: Readonly<SpliceOptions> = Object.freeze({ left: 20, right: 5 });

/** Write the spliced context of frame t ([t-left .. t+right], edge frames repeated) into out[offset..]. */
export function spliceFrame(m: FeatureMatrix, t: number, opts: SpliceOptions, out: Float32Array, offset = 0): void {
  const D = m.numCols;
  const T = m.numFrames;
  let o = offset;
  for (let j = -opts.left; j <= opts.right; j++) {
    const src = Math.min(T - 1, Math.max(0, t + j)) * D;
    out.set(m.data.subarray(src, src + D), o);
    o += D;
  }
}

/** Splice every frame with its context: [T, D] -> [T, D*(left+1+right)]. */
export function splice(m: FeatureMatrix, opts: SpliceOptions): FeatureMatrix {
  checkMatrix(m, 'splice');
  if (!(Number.isInteger(opts.left) && Number.isInteger(opts.right) && opts.left >= 0 && opts.right >= 0))
    throw new Error(`splice: left and right must be non-negative integers, got ${opts.left}, ${opts.right}`);
  const C = m.numCols * (opts.left + 1 + opts.right);
  const out = new Float32Array(m.numFrames * C);
  if (m.numFrames > 0) for (let t = 0; t < m.numFrames; t++) spliceFrame(m, t, opts, out, t * C);
  return { data: out, numFrames: m.numFrames, numCols: C };
}
