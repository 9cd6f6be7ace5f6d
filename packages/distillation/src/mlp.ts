import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { Rng, type Classifier } from '@kdasr/core';

export interface MlpConfig {
  inputDim: number;
  /** Hidden layer widths, e.g. [1200, 1200]; [] gives softmax regression. */
  hiddenSizes: number[];
  numClasses: number;
  /** Dropout rate after each hidden layer when training (0 = none). */
  dropout?: number;
  /** Dropout rate on the input (the paper's MNIST teacher used 0.2). */
  inputDropout?: number;
  /** Seed for glorot init and dropout masks. Default 0. */
  seed?: number;
}

/** A classifier whose randomness (dropout masks) has state that a checkpoint must carry to resume exactly. */
export interface RandomStateful {
  getRandomState(): number;
  setRandomState(state: number): void;
}

function checkRate(name: string, r: number): void {
  if (!(r >= 0 && r < 1)) throw new Error(`MlpClassifier: ${name} must be in [0, 1), got ${r}`);
}

/**
 * A ReLU multilayer perceptron. The weights live in a tfjs-layers Sequential (so core's saveModel can save it and
 * a browser can load it), but the forward pass is written directly with fused matMul: tfjs-layers Dropout with a
 * fixed seed reuses one mask every step, so dropout here takes a fresh seed per call from (seed, call counter).
 */
export class MlpClassifier implements Classifier, RandomStateful {
  readonly inputDim: number;
  readonly numClasses: number;
  readonly config: Required<MlpConfig>;
  private readonly model: tfl.Sequential;
  private readonly dense: tfl.layers.Layer[];
  private dropoutCalls = 0;

  constructor(config: MlpConfig, model?: tfl.Sequential) {
    const c: Required<MlpConfig> = { dropout: 0, inputDropout: 0, seed: 0, ...config };
    for (const [k, v] of [['inputDim', c.inputDim], ['numClasses', c.numClasses]] as const)
      if (!Number.isInteger(v) || v <= 0) throw new Error(`MlpClassifier: ${k} must be a positive integer, got ${v}`);
    if (!Array.isArray(c.hiddenSizes) || c.hiddenSizes.some((h) => !Number.isInteger(h) || h <= 0))
      throw new Error(`MlpClassifier: hiddenSizes must be positive integers, got ${JSON.stringify(c.hiddenSizes)}`);
    checkRate('dropout', c.dropout);
    checkRate('inputDropout', c.inputDropout);
    this.config = c;
    this.inputDim = c.inputDim;
    this.numClasses = c.numClasses;
    this.model = model ?? MlpClassifier.build(c);
    this.dense = this.model.layers.filter((l) => l.getClassName() === 'Dense');
    if (this.dense.length !== c.hiddenSizes.length + 1)
      throw new Error(`MlpClassifier: model has ${this.dense.length} Dense layers, expected ${c.hiddenSizes.length + 1}`);
  }

  private static build(c: Required<MlpConfig>): tfl.Sequential {
    const rng = new Rng(c.seed).fork('mlp-init');
    const model = tfl.sequential();
    const sizes = [...c.hiddenSizes, c.numClasses];
    if (c.inputDropout > 0) model.add(tfl.layers.dropout({ rate: c.inputDropout, inputShape: [c.inputDim] }));
    sizes.forEach((units, i) => {
      const last = i === sizes.length - 1;
      model.add(
        tfl.layers.dense({
          units,
          activation: last ? 'linear' : 'relu',
          kernelInitializer: tfl.initializers.glorotUniform({ seed: rng.nextSeed() }),
          biasInitializer: 'zeros',
          ...(i === 0 && c.inputDropout === 0 ? { inputShape: [c.inputDim] } : {}),
        }),
      );
      if (!last && c.dropout > 0) model.add(tfl.layers.dropout({ rate: c.dropout }));
    });
    return model;
  }

  /** Rebuild from a model saved by saveModel(toLayersModel()). The layer sequence must be [Dropout] (Dense [Dropout])*. */
  static fromLayersModel(model: tfl.LayersModel, options: { seed?: number } = {}): MlpClassifier {
    const d = describeMlpLayers(model, 'MlpClassifier.fromLayersModel');
    return new MlpClassifier(
      {
        inputDim: d.inputDim,
        hiddenSizes: d.hiddenSizes,
        numClasses: d.numClasses,
        dropout: d.dropout,
        inputDropout: d.inputDropout,
        seed: options.seed ?? 0,
      },
      d.model,
    );
  }

  private vars(layer: tfl.layers.Layer): [tf.Variable, tf.Variable] {
    const w = layer.trainableWeights;
    return [w[0].read() as tf.Variable, w[1].read() as tf.Variable];
  }

  private nextDropoutSeed(layer: number): number {
    // Seeds depend only on (config seed, call count, layer), so restoring the counter replays the same masks.
    let h = Math.imul(this.config.seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(this.dropoutCalls + 1, 0xc2b2ae35) ^ (layer * 0x27d4eb2f);
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
    return (h ^ (h >>> 13)) >>> 1;
  }

  logits(x: tf.Tensor2D, training = false): tf.Tensor2D {
    if (x.rank !== 2 || x.shape[1] !== this.inputDim)
      throw new Error(`MlpClassifier.logits: expected input [n, ${this.inputDim}], got [${x.shape.join(', ')}]`);
    const drop = training && (this.config.dropout > 0 || this.config.inputDropout > 0);
    if (drop) this.dropoutCalls++;
    return tf.tidy(() => {
      let h: tf.Tensor2D = x;
      if (drop && this.config.inputDropout > 0) h = tf.dropout(h, this.config.inputDropout, undefined, this.nextDropoutSeed(0)) as tf.Tensor2D;
      this.dense.forEach((layer, i) => {
        const last = i === this.dense.length - 1;
        const [w, b] = this.vars(layer);
        h = tf.fused.matMul({ a: h, b: w, bias: b, activation: last ? 'linear' : 'relu' }) as tf.Tensor2D;
        if (!last && drop && this.config.dropout > 0) h = tf.dropout(h, this.config.dropout, undefined, this.nextDropoutSeed(i + 1)) as tf.Tensor2D;
      });
      return h;
    });
  }

  trainableVariables(): tf.Variable[] {
    return this.dense.flatMap((l) => this.vars(l));
  }

  /** The underlying Sequential (shares weights with this classifier): pass it to core's saveModel. */
  toLayersModel(): tfl.Sequential {
    return this.model;
  }

  getRandomState(): number {
    return this.dropoutCalls;
  }

  setRandomState(state: number): void {
    this.dropoutCalls = state;
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** What an MLP saved as a TF.js Sequential is: its shape, dropout rates and Dense layers in order. */
export interface MlpLayersDescription {
  inputDim: number;
  hiddenSizes: number[];
  numClasses: number;
  inputDropout: number;
  dropout: number;
  dense: tfl.layers.Layer[];
  model: tfl.Sequential;
}

/**
 * Checks that `model` is the layer sequence MlpClassifier saves — [Dropout] (Dense(relu) [Dropout])* Dense(linear),
 * one hidden dropout rate, biases, chained sizes — and describes it. Every engine that loads such a model (tfjs,
 * native) reads it through here, so they accept exactly the same files.
 */
export function describeMlpLayers(model: tfl.LayersModel, where: string): MlpLayersDescription {
  if (!(model instanceof tfl.Sequential)) throw new Error(`${where}: expected a Sequential model`);
  const dense = model.layers.filter((l) => l.getClassName() === 'Dense');
  if (dense.length === 0) throw new Error(`${where}: the model has no Dense layers`);
  let inputDropout = 0;
  let dropout = 0;
  model.layers.forEach((l, i) => {
    const cls = l.getClassName();
    if (cls === 'Dropout') {
      const rate = (l.getConfig() as { rate: number }).rate;
      if (i === 0) inputDropout = rate;
      else if (dropout !== 0 && dropout !== rate) throw new Error(`${where}: hidden Dropout rates differ (${dropout} vs ${rate}); an MLP here uses one rate`);
      else dropout = rate;
    } else if (cls !== 'Dense') throw new Error(`${where}: unsupported layer ${cls} at position ${i}`);
  });
  const units: number[] = [];
  let inputDim = 0;
  dense.forEach((l, i) => {
    const cfg = l.getConfig() as { units: number; activation?: string; useBias?: boolean };
    const want = i === dense.length - 1 ? 'linear' : 'relu';
    if ((cfg.activation ?? 'linear') !== want) throw new Error(`${where}: Dense layer ${i} has activation ${cfg.activation}; expected ${want}`);
    if (cfg.useBias === false) throw new Error(`${where}: Dense layer ${i} has no bias`);
    const shape = l.getWeights()[0].shape as number[];
    if (i === 0) inputDim = shape[0];
    else if (shape[0] !== units[i - 1]) throw new Error(`${where}: Dense layer ${i} takes ${shape[0]} inputs after a layer of ${units[i - 1]}`);
    units.push(cfg.units);
  });
  return { inputDim, hiddenSizes: units.slice(0, -1), numClasses: units[units.length - 1], inputDropout, dropout, dense, model };
}
