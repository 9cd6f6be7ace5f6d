/**
 * The recipe's tasks behind one shape: train / dev / test datasets with labels, class names (Table 2) and,
 * for in-memory tasks, the arrays themselves (child-process specialists read them from files).
 */
import { ArrayDataset, type BatchSource, type Classifier, type Dataset } from '@kdasr/core';
import { argmaxRows } from '@kdasr/distillation';
import { batchLogits, gaussianGroupsTask, mnistPairsTask } from '@kdasr/specialists';
import type { FrameTask } from '../asr/data.js';
import type { SpecialistsRecipeConfig } from './config.js';

export interface LoadedTask {
  name: string;
  /** One line: corpus and labels. */
  description: string;
  numClasses: number;
  inputDim: number;
  /** Per class, for Table 2 (speech: phone.state and the tree questions). */
  classNames: string[];
  /** Per class, a coarser group where the task has one (speech: the phone; MNIST pairs: none). */
  groupOfClass?: string[];
  train: Dataset;
  dev: Dataset;
  test: Dataset;
  labels: { train: Int32Array; dev: Int32Array; test: Int32Array };
  /** In-memory splits (tasks generated here), which can be written to files for child processes. */
  arrays?: { train: ArrayDataset; dev: ArrayDataset };
}

/** The signature of the ASR recipe's data preparation (tests inject a small fake). */
export type SpeechTaskLoader = (options: { preset: 'smoke' | 'quick' | 'medium'; expDir?: string; log?: (line: string) => void }) => Promise<FrameTask>;

export async function defaultSpeechTaskLoader(options: Parameters<SpeechTaskLoader>[0]): Promise<FrameTask> {
  // Loaded on demand: the corpus stack (espeak-ng via FFI) is only needed for the speech task.
  const { prepareAsrFrameTask } = await import('../asr/data.js');
  return prepareAsrFrameTask(options);
}

function splitByClassCycle(ds: ArrayDataset, perClassFirst: number, numClasses: number, names: [string, string]): [ArrayDataset, ArrayDataset] {
  // gaussianGroupsTask emits examples class by class cyclically (i % C), so a prefix holds perClassFirst per class.
  const n1 = perClassFirst * numClasses;
  const idx = (a: number, b: number) => Int32Array.from({ length: b - a }, (_, i) => a + i);
  return [ds.subset(idx(0, n1), names[0]), ds.subset(idx(n1, ds.size), names[1])];
}

export async function loadTask(config: SpecialistsRecipeConfig, options: { speechLoader?: SpeechTaskLoader; log?: (line: string) => void } = {}): Promise<LoadedTask> {
  const d = config.data;
  if (d.kind === 'mnist-pairs') {
    const t = mnistPairsTask({ trainPairs: d.trainPairs, devPairs: d.devPairs, testPairs: d.testPairs, devImages: d.devImages, seed: config.seed });
    return {
      name: 'mnist-pairs',
      description: `MNIST pairs: two 14x14-pooled MNIST digits side by side, class = 10·left + right (100 classes); ${t.train.size} train pairs from ${60000 - d.devImages} training images, ${t.dev!.size} dev pairs from the other ${d.devImages}, ${t.test.size} test pairs from the test images`,
      numClasses: 100,
      inputDim: t.train.featureDim,
      classNames: t.names,
      train: t.train,
      dev: t.dev!,
      test: t.test,
      labels: { train: t.train.labels!, dev: t.dev!.labels!, test: t.test.labels! },
      arrays: { train: t.train, dev: t.dev! },
    };
  }
  if (d.kind === 'synthetic') {
    const t = gaussianGroupsTask({
      groups: d.groups,
      perGroup: d.perGroup,
      dim: d.dim,
      trainPerClass: d.trainPerClass + d.devPerClass,
      testPerClass: d.testPerClass,
      seed: config.seed,
    });
    const c = d.groups * d.perGroup;
    const [train, dev] = splitByClassCycle(t.train, d.trainPerClass, c, ['gaussian-groups/train', 'gaussian-groups/dev']);
    return {
      name: 'synthetic',
      description: `Gaussian groups: ${d.groups} groups of ${d.perGroup} confusable classes in R^${d.dim}; ${train.size}/${dev.size}/${t.test.size} train/dev/test examples`,
      numClasses: c,
      inputDim: d.dim,
      classNames: t.names,
      groupOfClass: t.names.map((n) => n.replace(/c\d+$/, '')),
      train,
      dev,
      test: t.test,
      labels: { train: train.labels!, dev: dev.labels!, test: t.test.labels! },
      arrays: { train, dev },
    };
  }
  const loader = options.speechLoader ?? defaultSpeechTaskLoader;
  const ft = await loader({ preset: d.asrPreset, expDir: d.asrExpDir, log: options.log });
  for (const [k, v] of [['numClasses', ft.numClasses], ['classNames', ft.classNames.length], ['phoneOfClass', ft.phoneOfClass.length]] as const)
    if (v !== ft.numClasses) throw new Error(`speech task: ${k} is ${v}, numClasses ${ft.numClasses}`);
  return {
    name: ft.name,
    description: ft.description,
    numClasses: ft.numClasses,
    inputDim: ft.inputDim,
    classNames: ft.classNames,
    groupOfClass: ft.phoneOfClass,
    train: ft.train,
    dev: ft.dev,
    test: ft.test,
    labels: { train: ft.train.labels(), dev: ft.dev.labels(), test: ft.test.labels() },
  };
}

/** Top-1 predictions over a source, batch by batch (no [n, C] matrix kept). */
export function predictTop1(classifier: Classifier, source: BatchSource, batchSize = 1024): Int32Array {
  const out = new Int32Array(source.size);
  let row = 0;
  for (const b of source.batches({ batchSize })) {
    out.set(argmaxRows(batchLogits(classifier, b), classifier.numClasses), row);
    row += b.size;
  }
  if (row !== source.size) throw new Error(`predictTop1: the source yielded ${row} examples but reports size ${source.size}`);
  return out;
}

export function accuracyOf(pred: Int32Array, labels: Int32Array): number {
  let ok = 0;
  let n = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0) continue;
    n++;
    if (pred[i] === labels[i]) ok++;
  }
  return n ? ok / n : NaN;
}

/** Examples per class in a label array. */
export function classCounts(labels: Int32Array, numClasses: number): number[] {
  const c = new Array<number>(numClasses).fill(0);
  for (const l of labels) if (l >= 0) c[l]++;
  return c;
}
