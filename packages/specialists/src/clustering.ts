import { Rng } from '@kdasr/core';
import { correlationFromCovariance } from './covariance.js';
import { clustersFromAssignment, miniBatchKMeans } from './kmeans.js';

export type ClusterMethod = 'covariance-kmeans' | 'confusion-kmeans' | 'spectral';

export interface ClusterOptions {
  method?: ClusterMethod;
  /** Number of clusters; or give targetSize and k = round(numClasses / targetSize). */
  k?: number;
  targetSize?: number;
  seed: number;
  /** [C, C] covariance of the generalist's predictions (covariance-kmeans, spectral). */
  covariance?: Float64Array;
  /** [C, C] confusion counts, rows = true class, columns = predicted (confusion-kmeans). */
  confusion?: ArrayLike<number>;
  numClasses: number;
  /**
   * covariance-kmeans: scale each covariance column to unit L2 norm before k-means (default true). Without it,
   * frequent or uncertain classes have long columns and k-means groups classes by how uncertain they are rather
   * than by whom they are confused with.
   */
  normalizeColumns?: boolean;
  /**
   * covariance-kmeans: what to do with the variances on the diagonal. A column's own variance is its largest entry,
   * so after normalisation every column points mostly along its own axis, all columns look nearly orthogonal and
   * k-means falls into poor local optima (measured on the smoke task: cluster purity 0.73-0.85 with 'keep', 1.0
   * with the default). 'max-off-diagonal' (default) replaces each variance with the column's largest covariance,
   * so a class looks like its strongest confuser; 'keep' is the paper's literal columns.
   */
  diagonal?: 'max-off-diagonal' | 'keep';
  kmeans?: { batchSize?: number; iterations?: number; restarts?: number };
  /** spectral: eigenvector iteration limit and tolerance (default 500, 1e-9). */
  eigen?: { maxIterations?: number; tolerance?: number };
}

export interface ClassClustering {
  method: ClusterMethod;
  /** Class subsets, each sorted ascending; together a partition of 0..C−1. */
  subsets: number[][];
  /** Cluster of each class. */
  assignment: Int32Array;
  inertia: number;
}

function resolveK(o: ClusterOptions): number {
  const c = o.numClasses;
  let k = o.k;
  if (k === undefined) {
    if (o.targetSize === undefined) throw new Error('clusterClasses: give k or targetSize');
    if (!(o.targetSize >= 1)) throw new Error(`clusterClasses: targetSize must be >= 1, got ${o.targetSize}`);
    k = Math.max(1, Math.round(c / o.targetSize));
  }
  if (!Number.isInteger(k) || k < 1 || k > c) throw new Error(`clusterClasses: k must be an integer in [1, ${c}], got ${k}`);
  return k;
}

/**
 * Groups classes into subsets of mutually confusable classes, the specialists' targets (§5.2). The paper applies an
 * online k-means to the columns of the covariance matrix of the generalist's predictions ('covariance-kmeans');
 * 'confusion-kmeans' clusters rows of the symmetrised confusion matrix (see confusionFeatures); 'spectral' clusters the rows of the
 * leading eigenvectors of the normalised positive-correlation affinity (Ng, Jordan & Weiss 2001).
 */
export function clusterClasses(options: ClusterOptions): ClassClustering {
  const method = options.method ?? 'covariance-kmeans';
  const c = options.numClasses;
  const k = resolveK(options);
  const km = { seed: options.seed, ...options.kmeans };
  let points: Float64Array;
  let dim = c;
  if (method === 'covariance-kmeans' || method === 'spectral') {
    if (!options.covariance || options.covariance.length !== c * c)
      throw new Error(`clusterClasses: method '${method}' needs a ${c}x${c} covariance`);
  }
  if (method === 'covariance-kmeans') {
    points = Float64Array.from(options.covariance!); // symmetric: row i = column i
    if ((options.diagonal ?? 'max-off-diagonal') === 'max-off-diagonal') replaceDiagonal(points, c);
    if (options.normalizeColumns ?? true) normalizeRows(points, c, c);
  } else if (method === 'confusion-kmeans') {
    const conf = options.confusion;
    if (!conf || conf.length !== c * c) throw new Error(`clusterClasses: method 'confusion-kmeans' needs a ${c}x${c} confusion matrix`);
    points = confusionFeatures(conf, c);
  } else if (method === 'spectral') {
    const emb = spectralEmbedding(options.covariance!, c, k, { seed: options.seed, ...options.eigen });
    points = emb;
    dim = k;
  } else throw new Error(`clusterClasses: unknown method ${String(method)}`);
  const res = miniBatchKMeans(points, c, dim, { k, ...km });
  const subsets = clustersFromAssignment(res.assignment);
  return { method, subsets, assignment: res.assignment, inertia: res.inertia };
}

/**
 * Rows to cluster from a confusion matrix. Raw rows of P(predicted | true) are dominated by their diagonal, so
 * every class looks equally far from every other. Instead: S = P + Pᵀ (a and b are similar if either is mistaken
 * for the other), diagonal set to the row's largest off-diagonal entry (a class "looks like" its confusers, so
 * two classes confused with each other get overlapping rows), rows scaled to unit length. A class with no
 * confusions keeps a point mass on itself and clusters alone or with other loners.
 */
function confusionFeatures(conf: ArrayLike<number>, c: number): Float64Array {
  const p = new Float64Array(c * c);
  for (let i = 0; i < c; i++) {
    let s = 0;
    for (let j = 0; j < c; j++) s += conf[i * c + j];
    for (let j = 0; j < c; j++) p[i * c + j] = s > 0 ? conf[i * c + j] / s : 0;
  }
  const out = new Float64Array(c * c);
  for (let i = 0; i < c; i++) {
    let mx = 0;
    for (let j = 0; j < c; j++)
      if (j !== i) {
        out[i * c + j] = p[i * c + j] + p[j * c + i];
        mx = Math.max(mx, out[i * c + j]);
      }
    out[i * c + i] = mx > 0 ? mx : 1;
  }
  normalizeRows(out, c, c);
  return out;
}

function replaceDiagonal(m: Float64Array, c: number): void {
  for (let i = 0; i < c; i++) {
    let mx = 0;
    for (let j = 0; j < c; j++) if (j !== i) mx = Math.max(mx, m[i * c + j]);
    m[i * c + i] = mx;
  }
}

function normalizeRows(m: Float64Array, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += m[i * cols + j] ** 2;
    const norm = Math.sqrt(s);
    if (norm > 0) for (let j = 0; j < cols; j++) m[i * cols + j] /= norm;
  }
}

/**
 * Rows of the k leading eigenvectors of L = D^−½ A D^−½, A_ij = max(0, corr_ij) off the diagonal, each row scaled
 * to unit length (Ng, Jordan & Weiss). The eigenvectors come from orthogonal (subspace) iteration on (L + I)/2,
 * whose spectrum lies in [0, 1] with the same order as L's, stopped when the subspace moves less than `tolerance`.
 */
export function spectralEmbedding(
  covariance: Float64Array,
  c: number,
  k: number,
  options: { seed: number; maxIterations?: number; tolerance?: number },
): Float64Array {
  const corr = correlationFromCovariance(covariance, c);
  const a = new Float64Array(c * c);
  const deg = new Float64Array(c);
  for (let i = 0; i < c; i++)
    for (let j = 0; j < c; j++) {
      // A tiny floor keeps the graph connected so D^−½ exists for a class that correlates with nobody.
      const v = i === j ? 0 : Math.max(0, corr[i * c + j]) + 1e-12;
      a[i * c + j] = v;
      deg[i] += v;
    }
  for (let i = 0; i < c; i++)
    for (let j = 0; j < c; j++) a[i * c + j] = (0.5 * a[i * c + j]) / Math.sqrt(deg[i] * deg[j]) + (i === j ? 0.5 : 0);
  const { vectors } = topEigenvectors(a, c, k, options);
  const out = new Float64Array(c * k);
  for (let i = 0; i < c; i++) {
    let s = 0;
    for (let j = 0; j < k; j++) s += vectors[j * c + i] ** 2;
    const norm = Math.sqrt(s) || 1;
    for (let j = 0; j < k; j++) out[i * k + j] = vectors[j * c + i] / norm;
  }
  return out;
}

/**
 * k leading eigenvectors of a symmetric positive semi-definite [n, n] matrix by orthogonal iteration with
 * modified Gram-Schmidt. Returns them as rows ([k, n]) with their Rayleigh quotients.
 */
export function topEigenvectors(
  m: Float64Array,
  n: number,
  k: number,
  options: { seed: number; maxIterations?: number; tolerance?: number },
): { vectors: Float64Array; values: Float64Array; iterations: number } {
  const maxIt = options.maxIterations ?? 500;
  const tol = options.tolerance ?? 1e-9;
  const rng = new Rng(options.seed).fork('eigen');
  let v = new Float64Array(k * n);
  for (let i = 0; i < v.length; i++) v[i] = rng.normal();
  orthonormalize(v, k, n);
  let it = 0;
  for (; it < maxIt; it++) {
    const w = new Float64Array(k * n);
    for (let r = 0; r < k; r++)
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < n; j++) s += m[i * n + j] * v[r * n + j];
        w[r * n + i] = s;
      }
    orthonormalize(w, k, n);
    // Subspace change: 1 − |<v_r, w_r>| per vector (signs may flip; a converged basis is stable up to sign).
    let change = 0;
    for (let r = 0; r < k; r++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += v[r * n + i] * w[r * n + i];
      change = Math.max(change, 1 - Math.abs(dot));
    }
    v = w;
    if (change < tol) break;
  }
  const values = new Float64Array(k);
  for (let r = 0; r < k; r++) {
    let s = 0;
    for (let i = 0; i < n; i++) {
      let mv = 0;
      for (let j = 0; j < n; j++) mv += m[i * n + j] * v[r * n + j];
      s += v[r * n + i] * mv;
    }
    values[r] = s;
  }
  return { vectors: v, values, iterations: it };
}

function orthonormalize(v: Float64Array, k: number, n: number): void {
  for (let r = 0; r < k; r++) {
    for (let q = 0; q < r; q++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += v[r * n + i] * v[q * n + i];
      for (let i = 0; i < n; i++) v[r * n + i] -= dot * v[q * n + i];
    }
    let s = 0;
    for (let i = 0; i < n; i++) s += v[r * n + i] ** 2;
    const norm = Math.sqrt(s);
    if (norm < 1e-300) throw new Error('topEigenvectors: the iteration collapsed (k exceeds the matrix rank?)');
    for (let i = 0; i < n; i++) v[r * n + i] /= norm;
  }
}

/** Confusion counts [C, C] (rows true, columns predicted) from labels and predictions; label −1 is skipped. */
export function confusionMatrix(labels: Int32Array, predictions: Int32Array, numClasses: number): Float64Array {
  if (labels.length !== predictions.length) throw new Error(`confusionMatrix: ${labels.length} labels but ${predictions.length} predictions`);
  const m = new Float64Array(numClasses * numClasses);
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0) continue;
    m[labels[i] * numClasses + predictions[i]] += 1;
  }
  return m;
}

/**
 * Table-2-style listing: one line per cluster, its size and member names (`names[c]` for class c; the index
 * where no name is given), truncated after `maxNames` names.
 */
export function formatClusters(subsets: number[][], names?: readonly string[], options: { maxNames?: number } = {}): string {
  const max = options.maxNames ?? 12;
  const width = String(subsets.length).length;
  return subsets
    .map((s, i) => {
      const shown = s.slice(0, max).map((c) => names?.[c] ?? String(c));
      const more = s.length > max ? `, … (+${s.length - max})` : '';
      return `Cluster ${String(i + 1).padStart(width)} (${s.length}): ${shown.join(', ')}${more}`;
    })
    .join('\n');
}
