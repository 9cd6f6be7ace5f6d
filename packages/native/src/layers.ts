import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { NativeMlpConfig } from './mlp.js';

/**
 * A tfjs-layers Sequential with the layer sequence @kdasr/distillation's MlpClassifier builds and reads back:
 * [Dropout(inputDropout)] Dense(relu) [Dropout(dropout)] ... Dense(linear). Initialisers are zeros because the
 * weights are set right away (seeded Glorot over 10 M weights would cost seconds on the cpu backend).
 */
export function buildSequential(config: Required<NativeMlpConfig>, weights: Float32Array[], biases: Float32Array[]): tfl.Sequential {
  const model = tfl.sequential();
  const sizes = [...config.hiddenDims, config.numClasses];
  if (config.inputDropout > 0) model.add(tfl.layers.dropout({ rate: config.inputDropout, inputShape: [config.inputDim] }));
  const dense: tfl.layers.Layer[] = [];
  sizes.forEach((units, i) => {
    const last = i === sizes.length - 1;
    const layer = tfl.layers.dense({
      units,
      activation: last ? 'linear' : 'relu',
      kernelInitializer: 'zeros',
      biasInitializer: 'zeros',
      ...(i === 0 && config.inputDropout === 0 ? { inputShape: [config.inputDim] } : {}),
    });
    model.add(layer);
    dense.push(layer);
    if (!last && config.dropout > 0) model.add(tfl.layers.dropout({ rate: config.dropout }));
  });
  const dims = [config.inputDim, ...sizes];
  dense.forEach((layer, l) => {
    // Copies: the cpu backend would otherwise keep a reference to the native arrays, which training mutates.
    const tensors = [tf.tensor2d(Float32Array.from(weights[l]), [dims[l], dims[l + 1]]), tf.tensor1d(Float32Array.from(biases[l]))];
    layer.setWeights(tensors);
    tf.dispose(tensors);
  });
  return model;
}

/** Config and weights of a Sequential of [Dropout] (Dense [Dropout])* with ReLU hidden layers and linear logits. */
export function readSequential(model: tfl.LayersModel): { config: Omit<Required<NativeMlpConfig>, 'seed'>; weights: Float32Array[]; biases: Float32Array[] } {
  const where = 'NativeMlp.fromLayersModel';
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
      else if (dropout !== 0 && dropout !== rate) throw new Error(`${where}: hidden Dropout rates differ (${dropout} vs ${rate}); the native engine uses one rate`);
      else dropout = rate;
    } else if (cls !== 'Dense') throw new Error(`${where}: unsupported layer ${cls} at position ${i}`);
  });
  const weights: Float32Array[] = [];
  const biases: Float32Array[] = [];
  const units: number[] = [];
  let inputDim = 0;
  dense.forEach((l, i) => {
    const cfg = l.getConfig() as { units: number; activation?: string; useBias?: boolean };
    const last = i === dense.length - 1;
    const want = last ? 'linear' : 'relu';
    if ((cfg.activation ?? 'linear') !== want)
      throw new Error(`${where}: Dense layer ${i} has activation ${cfg.activation}; the native engine needs ${want}`);
    if (cfg.useBias === false) throw new Error(`${where}: Dense layer ${i} has no bias`);
    const [k, b] = l.getWeights();
    const shape = k.shape as number[];
    if (i === 0) inputDim = shape[0];
    else if (shape[0] !== units[i - 1]) throw new Error(`${where}: Dense layer ${i} takes ${shape[0]} inputs after a layer of ${units[i - 1]}`);
    units.push(cfg.units);
    weights.push(Float32Array.from(k.dataSync() as Float32Array));
    biases.push(Float32Array.from(b.dataSync() as Float32Array));
  });
  return {
    config: { inputDim, hiddenDims: units.slice(0, -1), numClasses: units[units.length - 1], dropout, inputDropout },
    weights,
    biases,
  };
}
