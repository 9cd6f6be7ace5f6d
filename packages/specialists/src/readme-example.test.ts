// The README's example, kept runnable.
import { expect, it } from 'vitest';
import { initRuntime } from '@kdasr/core';
import { MlpClassifier, distill } from '@kdasr/distillation';
import {
  clusterClasses,
  combineWithSpecialists,
  formatClusters,
  gaussianGroupsTask,
  predictProbabilities,
  predictionCovariance,
  specialistMetrics,
  trainSpecialist,
} from './index.js';

it('README example', async () => {
  await initRuntime({ backend: 'cpu' });
  // Any labelled BatchSource/Dataset works; this one has 6 groups of 4 confusable classes.
  const { train, test, names } = gaussianGroupsTask({ groups: 6, perGroup: 4, dim: 12, trainPerClass: 100, testPerClass: 50, seed: 1 });
  const generalist = new MlpClassifier({ inputDim: 12, hiddenSizes: [32], numClasses: 24, seed: 1 });
  await distill(generalist, undefined, train, { epochs: 3, batchSize: 64, optimizer: { kind: 'adam', learningRate: 0.01 }, progress: false });

  const { covariance } = predictionCovariance(generalist, train);
  const clusters = clusterClasses({ method: 'covariance-kmeans', targetSize: 4, numClasses: 24, covariance, seed: 1 });
  console.log(formatClusters(clusters.subsets, names));

  const specialists = [];
  for (const [m, subset] of clusters.subsets.entries())
    specialists.push(
      await trainSpecialist(generalist, train, {
        subset,
        seed: m,
        training: { epochs: 3, batchSize: 64, optimizer: { kind: 'adam', learningRate: 0.01 } },
      }),
    );

  const pg = predictProbabilities(generalist, test).probs;
  const combined = combineWithSpecialists({
    generalist: pg,
    numClasses: 24,
    specialists: specialists.map((s) => ({ subset: s.subset, probs: predictProbabilities(s.model, test).probs })),
    topN: 1,
    method: 'eq5',
  });
  const metrics = specialistMetrics({ labels: test.labels!, generalist: pg, combined: combined.probs, numClasses: 24, subsets: clusters.subsets });
  console.log(metrics.generalistAccuracy, metrics.combinedAccuracy, metrics.byCoverage);
  expect(metrics.combinedAccuracy).toBeGreaterThan(metrics.generalistAccuracy);
  for (const s of specialists) s.model.dispose();
  generalist.dispose();
});
