/**
 * Dense ReLU nets on either training engine behind one small interface, so generalists, specialists and
 * distilled students train with `distill()` on the C + OpenBLAS engine (@kdasr/native) or on TensorFlow.js, and
 * are saved in the same TF.js format either way. Weights cross engines as host arrays in MlpClassifier's order:
 * kernels [in, out] row-major and biases, layer by layer.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadModel, saveModel, type Classifier, type Sidecar } from '@kdasr/core';
import { MlpClassifier, type TrainableStudent } from '@kdasr/distillation';
import { NativeTrainableStudent, resolveEngine, type NativeMlp, type ResolvedEngine } from '@kdasr/native';

/** Weights of a dense net: per layer the kernel [dims[l], dims[l+1]] row-major and the bias [dims[l+1]]. */
export interface HostWeights {
  kernels: Float32Array[];
  biases: Float32Array[];
}

export interface NetConfig {
  inputDim: number;
  hiddenSizes: number[];
  numClasses: number;
  dropout: number;
  inputDropout: number;
  seed: number;
}

/** A dense classifier on one engine: what distill() trains, what inference reads, and how it is saved. */
export interface Net {
  readonly engine: 'native' | 'tfjs';
  readonly config: NetConfig;
  readonly inputDim: number;
  readonly numClasses: number;
  /** Pass to distill(): the MlpClassifier itself (tfjs) or a NativeTrainableStudent. */
  readonly student: Classifier | TrainableStudent;
  /** For inference (predictLogits, predictProbabilities): the MlpClassifier, or a NativeClassifier (host fast path). */
  readonly classifier: Classifier;
  /** Copies of the current weights. */
  getWeights(): HostWeights;
  setWeights(weights: HostWeights): void;
  /** Adds `delta` to output unit `index`'s bias (the dustbin correction). */
  addToOutputBias(index: number, delta: number): void;
  /** The weights as a TF.js Sequential. For tfjs this is the live model (do not dispose it); native builds a copy. */
  toLayersModel(): tfl.Sequential;
  dispose(): void;
}

/** `--engine native|tfjs|auto`, or an engine already resolved with @kdasr/native's resolveEngine. */
export type EngineRequest = string | ResolvedEngine;

export function resolveNetEngine(engine: EngineRequest): ResolvedEngine {
  return typeof engine === 'string' ? resolveEngine(engine) : engine;
}

function checkShapes(config: NetConfig, w: HostWeights, where: string): void {
  const dims = [config.inputDim, ...config.hiddenSizes, config.numClasses];
  if (w.kernels.length !== dims.length - 1 || w.biases.length !== dims.length - 1)
    throw new Error(`${where}: expected ${dims.length - 1} layers, got ${w.kernels.length} kernels and ${w.biases.length} biases`);
  for (let l = 0; l + 1 < dims.length; l++) {
    if (w.kernels[l].length !== dims[l] * dims[l + 1])
      throw new Error(`${where}: kernel ${l} has ${w.kernels[l].length} values, expected ${dims[l]} x ${dims[l + 1]}`);
    if (w.biases[l].length !== dims[l + 1]) throw new Error(`${where}: bias ${l} has ${w.biases[l].length} values, expected ${dims[l + 1]}`);
  }
}

class TfjsNet implements Net {
  readonly engine = 'tfjs' as const;
  readonly config: NetConfig;
  readonly inputDim: number;
  readonly numClasses: number;
  constructor(readonly model: MlpClassifier) {
    const c = model.config;
    this.config = { inputDim: c.inputDim, hiddenSizes: [...c.hiddenSizes], numClasses: c.numClasses, dropout: c.dropout, inputDropout: c.inputDropout, seed: c.seed };
    this.inputDim = c.inputDim;
    this.numClasses = c.numClasses;
  }
  get student(): Classifier {
    return this.model;
  }
  get classifier(): Classifier {
    return this.model;
  }
  getWeights(): HostWeights {
    const v = this.model.trainableVariables();
    const kernels: Float32Array[] = [];
    const biases: Float32Array[] = [];
    for (let i = 0; i < v.length; i += 2) {
      kernels.push(Float32Array.from(v[i].dataSync() as Float32Array));
      biases.push(Float32Array.from(v[i + 1].dataSync() as Float32Array));
    }
    return { kernels, biases };
  }
  setWeights(w: HostWeights): void {
    checkShapes(this.config, w, 'Net.setWeights');
    const v = this.model.trainableVariables();
    tf.tidy(() => {
      w.kernels.forEach((k, l) => v[2 * l].assign(tf.tensor(k, v[2 * l].shape)));
      w.biases.forEach((b, l) => v[2 * l + 1].assign(tf.tensor1d(b)));
    });
  }
  addToOutputBias(index: number, delta: number): void {
    const v = this.model.trainableVariables();
    const bias = v[v.length - 1];
    if (!(index >= 0 && index < this.numClasses)) throw new Error(`Net.addToOutputBias: index ${index} is outside [0, ${this.numClasses})`);
    const values = Float32Array.from(bias.dataSync() as Float32Array);
    values[index] += delta;
    tf.tidy(() => bias.assign(tf.tensor1d(values)));
  }
  toLayersModel(): tfl.Sequential {
    return this.model.toLayersModel();
  }
  dispose(): void {
    this.model.dispose();
  }
}

class NativeNet implements Net {
  readonly engine = 'native' as const;
  readonly config: NetConfig;
  readonly inputDim: number;
  readonly numClasses: number;
  readonly student: NativeTrainableStudent;
  constructor(readonly mlp: NativeMlp) {
    const c = mlp.config;
    this.config = { inputDim: c.inputDim, hiddenSizes: [...c.hiddenDims], numClasses: c.numClasses, dropout: c.dropout, inputDropout: c.inputDropout, seed: c.seed };
    this.inputDim = c.inputDim;
    this.numClasses = c.numClasses;
    this.student = new NativeTrainableStudent(mlp);
  }
  get classifier(): Classifier {
    return this.student.asClassifier();
  }
  getWeights(): HostWeights {
    return { kernels: this.mlp.weights.map((w) => Float32Array.from(w)), biases: this.mlp.biases.map((b) => Float32Array.from(b)) };
  }
  setWeights(w: HostWeights): void {
    checkShapes(this.config, w, 'Net.setWeights');
    this.mlp.setWeights(w.kernels, w.biases);
  }
  addToOutputBias(index: number, delta: number): void {
    if (!(index >= 0 && index < this.numClasses)) throw new Error(`Net.addToOutputBias: index ${index} is outside [0, ${this.numClasses})`);
    this.mlp.biases[this.mlp.biases.length - 1][index] += delta;
  }
  toLayersModel(): tfl.Sequential {
    return this.mlp.toLayersModel();
  }
  dispose(): void {
    this.mlp.dispose();
  }
}

/**
 * A new dense net on the requested engine ('auto': native when its addon loads, else tfjs). Fresh Glorot weights
 * from `seed` (the two engines draw different ones), or `weights` when given (then both engines start equal).
 */
export function createNet(options: {
  engine: EngineRequest;
  inputDim: number;
  hiddenSizes: number[];
  numClasses: number;
  dropout?: number;
  inputDropout?: number;
  seed?: number;
  weights?: HostWeights;
}): Net {
  const r = resolveNetEngine(options.engine);
  const config: NetConfig = {
    inputDim: options.inputDim,
    hiddenSizes: [...options.hiddenSizes],
    numClasses: options.numClasses,
    dropout: options.dropout ?? 0,
    inputDropout: options.inputDropout ?? 0,
    seed: options.seed ?? 0,
  };
  if (options.weights) checkShapes(config, options.weights, 'createNet');
  if (r.kind === 'tfjs') {
    const net = new TfjsNet(new MlpClassifier(config));
    if (options.weights) net.setWeights(options.weights);
    return net;
  }
  const mlp = r.engine.createMlp(
    { inputDim: config.inputDim, hiddenDims: config.hiddenSizes, numClasses: config.numClasses, dropout: config.dropout, inputDropout: config.inputDropout, seed: config.seed },
    options.weights ? { weights: options.weights.kernels, biases: options.weights.biases } : undefined,
  );
  return new NativeNet(mlp);
}

/** Wraps an existing MlpClassifier (tfjs engine) without copying; disposing the Net disposes it. */
export function netFromMlpClassifier(model: MlpClassifier): Net {
  return new TfjsNet(model);
}

/** Saves with core's saveModel (TF.js layers format + kdasr.json sidecar), whatever the engine. */
export async function saveNet(net: Net, dir: string, sidecar: Sidecar): Promise<void> {
  const layers = net.toLayersModel();
  try {
    await saveModel(layers, dir, sidecar);
  } finally {
    if (net.engine === 'native') layers.dispose();
  }
}

/** Loads a model saved by saveNet (or any MlpClassifier saved with saveModel) onto the requested engine. */
export async function loadNet(dir: string, engine: EngineRequest, options: { seed?: number } = {}): Promise<{ net: Net; sidecar: Sidecar | null }> {
  const r = resolveNetEngine(engine);
  const { model, sidecar } = await loadModel(dir);
  const seed = options.seed ?? sidecar?.seed ?? 0;
  if (r.kind === 'tfjs') return { net: new TfjsNet(MlpClassifier.fromLayersModel(model, { seed })), sidecar };
  try {
    return { net: new NativeNet(r.engine.fromLayersModel(model, { seed })), sidecar };
  } finally {
    model.dispose();
  }
}
