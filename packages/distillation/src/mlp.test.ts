import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { initRuntime } from '@kdasr/core';
import { MlpClassifier, describeMlpLayers } from './mlp.js';

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
});

function seq(layers: tfl.layers.Layer[]): tfl.Sequential {
  const m = tfl.sequential();
  for (const l of layers) m.add(l);
  return m;
}

describe('describeMlpLayers', () => {
  it('reads back what MlpClassifier saves', () => {
    const c = new MlpClassifier({ inputDim: 7, hiddenSizes: [5, 4], numClasses: 3, dropout: 0.3, inputDropout: 0.1, seed: 1 });
    const d = describeMlpLayers(c.toLayersModel(), 'test');
    expect({ ...d, dense: d.dense.length, model: undefined }).toEqual({
      inputDim: 7,
      hiddenSizes: [5, 4],
      numClasses: 3,
      inputDropout: 0.1,
      dropout: 0.3,
      dense: 3,
      model: undefined,
    });
    c.dispose();
  });

  it('rejects models MlpClassifier would run differently from how they were saved', () => {
    const sigmoid = seq([tfl.layers.dense({ inputShape: [4], units: 3, activation: 'sigmoid' }), tfl.layers.dense({ units: 2 })]);
    expect(() => describeMlpLayers(sigmoid, 'load x')).toThrow(/load x: Dense layer 0 has activation sigmoid; expected relu/);
    const rates = seq([
      tfl.layers.dense({ inputShape: [4], units: 3, activation: 'relu' }),
      tfl.layers.dropout({ rate: 0.5 }),
      tfl.layers.dense({ units: 3, activation: 'relu' }),
      tfl.layers.dropout({ rate: 0.2 }),
      tfl.layers.dense({ units: 2 }),
    ]);
    expect(() => describeMlpLayers(rates, 'load y')).toThrow(/hidden Dropout rates differ \(0\.5 vs 0\.2\)/);
    const noBias = seq([tfl.layers.dense({ inputShape: [4], units: 3, activation: 'relu' }), tfl.layers.dense({ units: 2, useBias: false })]);
    expect(() => describeMlpLayers(noBias, 'load z')).toThrow(/Dense layer 1 has no bias/);
    const other = seq([tfl.layers.dense({ inputShape: [4], units: 3, activation: 'relu' }), tfl.layers.batchNormalization(), tfl.layers.dense({ units: 2 })]);
    expect(() => MlpClassifier.fromLayersModel(other)).toThrow(/unsupported layer BatchNormalization at position 1/);
    for (const m of [sigmoid, rates, noBias, other]) m.dispose();
  });
});
