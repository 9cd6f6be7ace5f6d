import { Rng } from '@kdasr/core';

export interface KMeansOptions {
  /** Number of clusters. */
  k: number;
  seed: number;
  /** Points per mini-batch (Sculley 2010). Default min(n, 64). */
  batchSize?: number;
  /** Mini-batch steps. Default 100. */
  iterations?: number;
  /** Independent restarts (seeds forked from `seed`); the one with the lowest inertia wins. Default 3. */
  restarts?: number;
}

export interface KMeansResult {
  /** Cluster of each point, 0..k−1, renumbered so that clusters appear in order of their smallest member. */
  assignment: Int32Array;
  /** [k, dim] centres, in the renumbered order. */
  centres: Float64Array;
  /** Σ squared distance of each point to its centre. */
  inertia: number;
  k: number;
}

function sqDist(a: Float64Array, ao: number, b: Float64Array, bo: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) {
    const t = a[ao + j] - b[bo + j];
    s += t * t;
  }
  return s;
}

function nearest(points: Float64Array, i: number, centres: Float64Array, k: number, d: number): [number, number] {
  let best = 0;
  let bd = Infinity;
  for (let c = 0; c < k; c++) {
    const v = sqDist(points, i * d, centres, c * d, d);
    if (v < bd) {
      bd = v;
      best = c;
    }
  }
  return [best, bd];
}

/** k-means++ seeding (Arthur & Vassilvitskii 2007): spread-out starting centres, deterministic for an Rng. */
function kmeansPlusPlus(points: Float64Array, n: number, d: number, k: number, rng: Rng): Float64Array {
  const centres = new Float64Array(k * d);
  const first = rng.int(n);
  centres.set(points.subarray(first * d, (first + 1) * d), 0);
  const dist = new Float64Array(n).fill(Infinity);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) {
      dist[i] = Math.min(dist[i], sqDist(points, i * d, centres, (c - 1) * d, d));
      total += dist[i];
    }
    let pick = n - 1;
    if (total > 0) {
      let u = rng.next() * total;
      for (let i = 0; i < n; i++) {
        u -= dist[i];
        if (u < 0) {
          pick = i;
          break;
        }
      }
    } else pick = rng.int(n);
    centres.set(points.subarray(pick * d, (pick + 1) * d), c * d);
  }
  return centres;
}

function miniBatchOnce(points: Float64Array, n: number, d: number, k: number, rng: Rng, batchSize: number, iterations: number) {
  const centres = kmeansPlusPlus(points, n, d, k, rng);
  const counts = new Float64Array(k);
  const batch = new Int32Array(batchSize);
  const cached = new Int32Array(batchSize);
  for (let t = 0; t < iterations; t++) {
    for (let b = 0; b < batchSize; b++) batch[b] = rng.int(n);
    // Sculley's algorithm: assign the whole mini-batch first, then move each centre towards its points with a
    // per-centre learning rate 1/count, so every centre is the running mean of all points ever assigned to it.
    for (let b = 0; b < batchSize; b++) cached[b] = nearest(points, batch[b], centres, k, d)[0];
    for (let b = 0; b < batchSize; b++) {
      const c = cached[b];
      counts[c] += 1;
      const eta = 1 / counts[c];
      const o = batch[b] * d;
      for (let j = 0; j < d; j++) centres[c * d + j] = (1 - eta) * centres[c * d + j] + eta * points[o + j];
    }
  }
  const assignment = new Int32Array(n);
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    const [c, dd] = nearest(points, i, centres, k, d);
    assignment[i] = c;
    inertia += dd;
  }
  return { assignment, centres, inertia };
}

/**
 * Online (mini-batch) k-means after Sculley, "Web-scale k-means clustering" (WWW 2010), seeded with k-means++.
 * `points` is [n, dim] row-major. Deterministic for a seed. Empty clusters are dropped (k in the result may be
 * smaller than asked).
 */
export function miniBatchKMeans(points: Float64Array, n: number, dim: number, options: KMeansOptions): KMeansResult {
  const { k, seed } = options;
  if (points.length !== n * dim) throw new Error(`miniBatchKMeans: ${points.length} values is not ${n} points of dim ${dim}`);
  if (!Number.isInteger(k) || k <= 0 || k > n) throw new Error(`miniBatchKMeans: k must be an integer in [1, ${n}], got ${k}`);
  const batchSize = options.batchSize ?? Math.min(n, 64);
  const iterations = options.iterations ?? 100;
  const restarts = options.restarts ?? 3;
  for (const [name, v] of [['batchSize', batchSize], ['iterations', iterations], ['restarts', restarts]] as const)
    if (!Number.isInteger(v) || v <= 0) throw new Error(`miniBatchKMeans: ${name} must be a positive integer, got ${v}`);
  const root = new Rng(seed);
  let best: ReturnType<typeof miniBatchOnce> | undefined;
  for (let r = 0; r < restarts; r++) {
    const res = miniBatchOnce(points, n, dim, k, root.fork(`kmeans-restart-${r}`), batchSize, iterations);
    if (!best || res.inertia < best.inertia) best = res;
  }
  return renumber(best!.assignment, best!.centres, dim, best!.inertia);
}

/** Renumber clusters by first appearance and drop empty ones, so equal partitions compare equal. */
function renumber(assignment: Int32Array, centres: Float64Array, dim: number, inertia: number): KMeansResult {
  const map = new Map<number, number>();
  const out = new Int32Array(assignment.length);
  for (let i = 0; i < assignment.length; i++) {
    let m = map.get(assignment[i]);
    if (m === undefined) {
      m = map.size;
      map.set(assignment[i], m);
    }
    out[i] = m;
  }
  const c = new Float64Array(map.size * dim);
  for (const [old, nu] of map) c.set(centres.subarray(old * dim, (old + 1) * dim), nu * dim);
  return { assignment: out, centres: c, inertia, k: map.size };
}

/** Lists of member indices per cluster. */
export function clustersFromAssignment(assignment: Int32Array): number[][] {
  const groups: number[][] = [];
  for (let i = 0; i < assignment.length; i++) (groups[assignment[i]] ??= []).push(i);
  return groups.filter((g) => g && g.length > 0);
}
