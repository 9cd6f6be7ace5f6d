import { describe, expect, it } from 'vitest';
import { Rng } from '@kdasr/core';
import { clusterClasses, confusionMatrix, formatClusters, topEigenvectors } from './clustering.js';
import { covarianceFromProbabilities } from './covariance.js';
import { miniBatchKMeans } from './kmeans.js';

/** Probability rows whose mass concentrates inside known class groups: the covariance then has block structure. */
function groupedProbabilities(groups: number[][], c: number, n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * c);
  for (let r = 0; r < n; r++) {
    const g = groups[rng.int(groups.length)];
    const z = new Float64Array(c).fill(-4);
    for (const j of g) z[j] = rng.normal(1, 1.5);
    const m = Math.max(...z);
    let s = 0;
    for (let j = 0; j < c; j++) s += Math.exp(z[j] - m);
    for (let j = 0; j < c; j++) out[r * c + j] = Math.exp(z[j] - m) / s;
  }
  return out;
}

const norm = (subsets: number[][]) => subsets.map((s) => [...s].sort((a, b) => a - b).join(',')).sort();

describe('mini-batch k-means', () => {
  it('recovers well-separated blobs and is deterministic for a seed', () => {
    const rng = new Rng(1);
    const centres = [
      [0, 0],
      [10, 0],
      [0, 10],
    ];
    const n = 90;
    const pts = new Float64Array(n * 2);
    for (let i = 0; i < n; i++) {
      pts[2 * i] = centres[i % 3][0] + rng.normal(0, 0.5);
      pts[2 * i + 1] = centres[i % 3][1] + rng.normal(0, 0.5);
    }
    const a = miniBatchKMeans(pts, n, 2, { k: 3, seed: 7, batchSize: 16, iterations: 50 });
    const b = miniBatchKMeans(pts, n, 2, { k: 3, seed: 7, batchSize: 16, iterations: 50 });
    expect(Array.from(a.assignment)).toEqual(Array.from(b.assignment));
    for (let i = 0; i < n; i++) expect(a.assignment[i]).toBe(a.assignment[i % 3]);
    expect(new Set(a.assignment).size).toBe(3);
    expect(() => miniBatchKMeans(pts, n, 2, { k: 0, seed: 1 })).toThrow(/k must be/);
  });
});

describe('clusterClasses', () => {
  const groups = [
    [0, 3, 7],
    [1, 4, 8, 10],
    [2, 5],
    [6, 9, 11],
  ];
  const c = 12;
  const probs = groupedProbabilities(groups, c, 2000, 2);
  const cov = covarianceFromProbabilities(probs, c).covariance;

  it.each(['covariance-kmeans', 'spectral'] as const)('%s recovers the confusable groups from the covariance', (method) => {
    const r = clusterClasses({ method, k: 4, numClasses: c, covariance: cov, seed: 3 });
    expect(norm(r.subsets)).toEqual(norm(groups));
    expect(r.assignment.length).toBe(c);
  });

  it('targetSize picks k = round(C / size)', () => {
    const r = clusterClasses({ targetSize: 3, numClasses: c, covariance: cov, seed: 3 });
    expect(r.subsets.length).toBeLessThanOrEqual(4);
    expect(r.subsets.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: c }, (_, i) => i));
  });

  it('confusion-kmeans groups classes confused with each other', () => {
    const rng = new Rng(5);
    const labels = new Int32Array(3000);
    const preds = new Int32Array(3000);
    for (let i = 0; i < labels.length; i++) {
      const y = rng.int(c);
      labels[i] = y;
      const g = groups.find((gg) => gg.includes(y))!;
      preds[i] = rng.next() < 0.5 ? y : g[rng.int(g.length)];
    }
    const conf = confusionMatrix(labels, preds, c);
    const r = clusterClasses({ method: 'confusion-kmeans', k: 4, numClasses: c, confusion: conf, seed: 1 });
    expect(norm(r.subsets)).toEqual(norm(groups));
  });

  it('requires the matrix its method needs', () => {
    expect(() => clusterClasses({ method: 'spectral', k: 2, numClasses: c, seed: 1 })).toThrow(/covariance/);
    expect(() => clusterClasses({ method: 'confusion-kmeans', k: 2, numClasses: c, seed: 1 })).toThrow(/confusion/);
    expect(() => clusterClasses({ numClasses: c, covariance: cov, seed: 1 })).toThrow(/k or targetSize/);
  });

  it('formats a Table-2-style listing with caller-supplied names', () => {
    const names = Array.from({ length: c }, (_, i) => `class-${i}`);
    const text = formatClusters(groups, names, { maxNames: 3 });
    expect(text.split('\n')).toHaveLength(4);
    expect(text).toContain('Cluster 1 (3): class-0, class-3, class-7');
    expect(text).toContain('Cluster 2 (4): class-1, class-4, class-8, … (+1)');
  });
});

describe('topEigenvectors', () => {
  it('finds the leading eigenpairs of a rotated diagonal matrix', () => {
    // M = R diag(5, 3, 1, 0.5) Rᵀ with R a Householder reflection.
    const n = 4;
    const v = [1, 2, -1, 0.5];
    const vn = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    const u = v.map((x) => x / vn);
    const r = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0) - 2 * u[i] * u[j]));
    const lam = [5, 3, 1, 0.5];
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) m[i * n + j] += r[i][k] * lam[k] * r[j][k];
    const { vectors, values } = topEigenvectors(m, n, 2, { seed: 1, maxIterations: 2000, tolerance: 1e-14 });
    expect(values[0]).toBeCloseTo(5, 8);
    expect(values[1]).toBeCloseTo(3, 8);
    for (let e = 0; e < 2; e++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += vectors[e * n + i] * r[i][e];
      expect(Math.abs(dot)).toBeCloseTo(1, 8);
    }
  });
});
