import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { expectClose, nativeForTests, randomArray, useCpuBackend } from '../test-support.js';
import { ArrayDataset } from '@kdasr/core';
import { MlpClassifier, argmaxRows, frameAccuracy, predictLogits } from '@kdasr/distillation';
import { NativeClassifier, NativeMlp, SgdMomentum, toLayersModel } from './index.js';

const native = nativeForTests();

describe.skipIf(native.skipReason !== null)('weights to and from tfjs-layers', () => {
  beforeAll(useCpuBackend);

  it('toLayersModel gives the same logits as the native forward pass, after training', () => {
    const mlp = native.engine!.createMlp({ inputDim: 14, hiddenDims: [20, 16], numClasses: 6, seed: 5, dropout: 0.3, inputDropout: 0.1 });
    const x = randomArray(40 * 14, 1, -2, 2);
    const labels = Int32Array.from({ length: 40 }, (_, i) => i % 6);
    const opt = new SgdMomentum({ learningRate: 0.05 });
    for (let s = 0; s < 5; s++) mlp.trainStep({ features: x, labels }, { softWeight: 0, hardWeight: 1 }, opt);
    const model = mlp.toLayersModel();
    // MlpClassifier's layer sequence: Dropout(input) Dense Dropout Dense Dropout Dense.
    expect(model.layers.map((l) => l.getClassName())).toEqual(['Dropout', 'Dense', 'Dropout', 'Dense', 'Dropout', 'Dense']);
    expect(model.layers.filter((l) => l.getClassName() === 'Dense').map((l) => (l.getConfig() as { activation: string }).activation)).toEqual(['relu', 'relu', 'linear']);
    const want = tf.tidy(() => (model.predict(tf.tensor2d(x, [40, 14])) as tf.Tensor).dataSync() as Float32Array);
    expectClose(mlp.predictLogits(x), want, 1e-5, 1e-6, 'logits');
    // The same through the module-level helper.
    const again = toLayersModel(mlp);
    expect(again.countParams()).toBe(mlp.parameterCount);
    model.dispose();
    again.dispose();
    mlp.dispose();
  });

  it('fromLayersModel reads a Sequential back (config and weights) and rejects unsupported layers', () => {
    const src = native.engine!.createMlp({ inputDim: 9, hiddenDims: [7], numClasses: 4, seed: 2, dropout: 0.2 });
    src.biases[0].set(randomArray(7, 3));
    const model = src.toLayersModel();
    const back = NativeMlp.fromLayersModel(model, { seed: 9 });
    expect(back.config).toMatchObject({ inputDim: 9, hiddenDims: [7], numClasses: 4, dropout: 0.2, inputDropout: 0, seed: 9 });
    back.weights.forEach((w, l) => expectClose(w, src.weights[l], 0, 0, `W${l}`));
    back.biases.forEach((b, l) => expectClose(b, src.biases[l], 0, 0, `b${l}`));
    const x = randomArray(5 * 9, 4);
    expectClose(back.predictLogits(x), src.predictLogits(x), 1e-6, 1e-7, 'logits');

    const tanh = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [4], activation: 'tanh' }), tfl.layers.dense({ units: 2 })] });
    expect(() => NativeMlp.fromLayersModel(tanh)).toThrow(/activation tanh/);
    const bn = tfl.sequential({ layers: [tfl.layers.dense({ units: 3, inputShape: [4], activation: 'relu' }), tfl.layers.batchNormalization(), tfl.layers.dense({ units: 2 })] });
    expect(() => NativeMlp.fromLayersModel(bn)).toThrow(/unsupported layer BatchNormalization/);
    [model, tanh, bn].forEach((m) => m.dispose());
    src.dispose();
    back.dispose();
  });

  it('a model trained in tfjs continues in native with identical logits (engine.fromLayersModel)', () => {
    const model = tfl.sequential({
      layers: [tfl.layers.dense({ units: 8, inputShape: [5], activation: 'relu' }), tfl.layers.dense({ units: 3, activation: 'linear' })],
    });
    const mlp = native.engine!.fromLayersModel(model);
    const x = randomArray(7 * 5, 8);
    const want = tf.tidy(() => (model.predict(tf.tensor2d(x, [7, 5])) as tf.Tensor).dataSync() as Float32Array);
    expectClose(mlp.predictLogits(x), want, 1e-5, 1e-6, 'logits');
    model.dispose();
    mlp.dispose();
  });

  it("a natively trained model loads as @kdasr/distillation's MlpClassifier, and an MlpClassifier loads natively", () => {
    const mlp = native.engine!.createMlp({ inputDim: 10, hiddenDims: [12, 8], numClasses: 5, seed: 4, dropout: 0.25, inputDropout: 0.1 });
    const x = randomArray(30 * 10, 6, -2, 2);
    const labels = Int32Array.from({ length: 30 }, (_, i) => i % 5);
    const opt = new SgdMomentum({ learningRate: 0.05 });
    for (let s = 0; s < 3; s++) mlp.trainStep({ features: x, labels }, { softWeight: 0, hardWeight: 1 }, opt);
    const clf = MlpClassifier.fromLayersModel(mlp.toLayersModel());
    expect(clf.config).toMatchObject({ inputDim: 10, hiddenSizes: [12, 8], numClasses: 5, dropout: 0.25, inputDropout: 0.1 });
    const z = clf.logits(tf.tensor2d(x, [30, 10]));
    expectClose(z.dataSync(), mlp.predictLogits(x), 1e-5, 1e-6, 'MlpClassifier logits');
    z.dispose();
    const fresh = new MlpClassifier({ inputDim: 10, hiddenSizes: [7], numClasses: 3, dropout: 0.5, seed: 2 });
    const back = native.engine!.fromLayersModel(fresh.toLayersModel());
    expect(back.config).toMatchObject({ hiddenDims: [7], dropout: 0.5 });
    const x2 = randomArray(4 * 10, 7);
    const z2 = fresh.logits(tf.tensor2d(x2, [4, 10]));
    expectClose(back.predictLogits(x2), z2.dataSync(), 1e-5, 1e-6, 'native logits of an MlpClassifier');
    z2.dispose();
    clf.dispose();
    fresh.dispose();
    mlp.dispose();
    back.dispose();
  });

  it('NativeClassifier implements core Classifier logits from tensors', () => {
    const mlp = native.engine!.createMlp({ inputDim: 6, hiddenDims: [5], numClasses: 3, seed: 1 });
    const c = new NativeClassifier(mlp);
    const x = randomArray(4 * 6, 2);
    const z = c.logits(tf.tensor2d(x, [4, 6]));
    expect(z.shape).toEqual([4, 3]);
    expectClose(z.dataSync(), mlp.predictLogits(x), 0, 1e-7, 'classifier logits');
    z.dispose();
    expect(() => c.logits(tf.zeros([2, 5]) as tf.Tensor2D)).toThrow(/expected input/);
    expect(() => c.trainableVariables()).toThrow(/trainStep/);
    mlp.dispose();
  });

  it('batch inference through distillation (predictLogits, frameAccuracy) takes the host path: no tensors', () => {
    const mlp = native.engine!.createMlp({ inputDim: 6, hiddenDims: [5], numClasses: 3, seed: 2 });
    const c = new NativeClassifier(mlp);
    const features = randomArray(50 * 6, 3);
    const want = mlp.predictLogits(features, 50);
    const labels = argmaxRows(want, 3);
    const source = new ArrayDataset({ features, featureDim: 6, numClasses: 3, labels });
    const tensorPath = vi.spyOn(c, 'logits');
    const got = predictLogits(c, source, { batchSize: 16 });
    expectClose(got.logits, want, 0, 1e-7, 'predictLogits over the host path');
    expect(frameAccuracy(c, source, { batchSize: 16 })).toBe(1);
    expect(tensorPath).not.toHaveBeenCalled();
    expect(() => c.logitsHost(features, 49)).toThrow(/300 values for 49 rows/);
    mlp.dispose();
  });
});
