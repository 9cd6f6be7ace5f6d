import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { NativeMlpConfig } from './mlp-config.js';
import { describeMlpLayers } from '@kdasr/distillation';

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
  const d = describeMlpLayers(model, 'NativeMlp.fromLayersModel');
  const weights: Float32Array[] = [];
  const biases: Float32Array[] = [];
  for (const l of d.dense) {
    const [k, b] = l.getWeights();
    weights.push(Float32Array.from(k.dataSync() as Float32Array));
    biases.push(Float32Array.from(b.dataSync() as Float32Array));
  }
  const { inputDim, hiddenSizes, numClasses, dropout, inputDropout } = d;
  return {
    config: { inputDim, hiddenDims: hiddenSizes, numClasses, dropout, inputDropout },
    weights,
    biases,
  };
}
