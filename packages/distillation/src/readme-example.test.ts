// The README's example, kept runnable: if this breaks, the README is wrong.
import { expect, it } from 'vitest';
import { ArrayDataset, Rng, initRuntime } from '@kdasr/core';
import { EnsembleTeacher, MlpClassifier, ModelTeacher, distill, frameAccuracy } from './index.js';

it('README example: an MLP student distilled from an ensemble teacher', async () => {
  await initRuntime({ backend: 'cpu' });
  // Toy data: 4 Gaussian classes in 10 dimensions.
  const rng = new Rng(0);
  const n = 400;
  const features = Float32Array.from({ length: n * 10 }, (_, i) => rng.normal() + (Math.floor(i / 10) % 4 === i % 4 ? 3 : 0));
  const labels = Int32Array.from({ length: n }, (_, i) => i % 4);
  const train = new ArrayDataset({ features, featureDim: 10, numClasses: 4, labels });

  // Two teachers trained the ordinary way (teacher = undefined), then combined.
  const members = [1, 2].map((seed) => new MlpClassifier({ inputDim: 10, hiddenSizes: [32], numClasses: 4, dropout: 0.2, seed }));
  for (const m of members)
    await distill(m, undefined, train, { epochs: 5, batchSize: 32, optimizer: { kind: 'adam', learningRate: 0.01 }, progress: false });
  const teacher = new EnsembleTeacher(members.map((m) => new ModelTeacher(m)), { combine: 'arithmetic' });

  const student = new MlpClassifier({ inputDim: 10, hiddenSizes: [16], numClasses: 4, seed: 3 });
  const { history } = await distill(student, teacher, train, {
    epochs: 5,
    batchSize: 32,
    optimizer: { kind: 'sgd', learningRate: 0.05, momentum: 0.9 },
    temperature: 2, // soft term at T = 2, scaled by T² (default); hard term weight 0.5 (default)
    progress: false,
  });
  const accuracy = frameAccuracy(student, train);
  expect(history).toHaveLength(5);
  expect(accuracy).toBeGreaterThan(0.9);
});
