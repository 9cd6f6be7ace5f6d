// A child process for the kill-and-resume test: trains with a checkpoint directory and SIGKILLs itself mid-epoch,
// so the test exercises a real abrupt death, not an exception that unwinds cleanly.
import { pathToFileURL } from 'node:url';
import { ArrayDataset, Rng, initRuntime } from '@kdasr/core';
import { MlpClassifier, ModelTeacher, distill, type DistillOptions } from '../src/index.js';

export function killSetup() {
  const rng = new Rng(77);
  const n = 96;
  const features = Float32Array.from({ length: n * 6 }, () => rng.normal());
  const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
  const data = new ArrayDataset({ features, featureDim: 6, numClasses: 3, labels });
  const teacher = new ModelTeacher(new MlpClassifier({ inputDim: 6, hiddenSizes: [8], numClasses: 3, seed: 5 }));
  const student = () => new MlpClassifier({ inputDim: 6, hiddenSizes: [8], numClasses: 3, dropout: 0.25, seed: 6 });
  const options: DistillOptions = {
    epochs: 4,
    batchSize: 16,
    optimizer: { kind: 'adam', learningRate: 0.01 },
    temperature: 3,
    seed: 8,
    progress: false,
  };
  return { data, teacher, student, options };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [dir, killEpoch, killStep] = process.argv.slice(2);
  await initRuntime({ backend: 'cpu' });
  const { data, teacher, student, options } = killSetup();
  await distill(student(), teacher, data, {
    ...options,
    checkpointDir: dir,
    onProgress: (e) => {
      if (e.phase === 'step' && e.epoch === Number(killEpoch) && e.step === Number(killStep)) process.kill(process.pid, 'SIGKILL');
    },
  });
  process.exit(3); // not reached when the kill happens
}
