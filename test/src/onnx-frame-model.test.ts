/**
 * The page's two frame-model paths give the same log posteriors: a TF.js layers MLP (tfjsFrameModel) and its ONNX
 * export (kdasr export's graph) in an ONNX Runtime session (onnxFrameModel; onnxruntime-node here, -web in the
 * page: the same API). Also the manifest and sidecar errors a page shows.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { layers as tfl, sequential } from '@tensorflow/tfjs-layers';
import { encodeOnnxModel, onnxClassifierModel, onnxSchema } from '@kdasr/export';
import { describe, expect, it } from 'vitest';
import { acousticSidecarJson, onnxFrameModel, parseRecognizerManifest, tfjsFrameModel, type OnnxSessionLike } from '@kdasr/web';

describe('frame models', () => {
  it('tfjsFrameModel and onnxFrameModel (the same MLP as ONNX) agree within 1e-5', async () => {
    await tf.setBackend('cpu');
    const model = sequential({ layers: [tfl.dense({ units: 7, activation: 'relu', inputShape: [5] }), tfl.dense({ units: 4 })] });
    const w = model.getWeights().map((t) => t.dataSync() as Float32Array);
    const layers = [
      { inputDim: 5, units: 7, kernel: w[0], bias: w[1], relu: true },
      { inputDim: 7, units: 4, kernel: w[2], bias: w[3], relu: false },
    ];
    const bytes = encodeOnnxModel(onnxSchema(), onnxClassifierModel({ members: [layers] }));
    const ort = await import('onnxruntime-node');
    const session = await ort.InferenceSession.create(bytes);
    const onnx = onnxFrameModel(session as unknown as OnnxSessionLike, { tensor: (d, dims) => new ort.Tensor('float32', d, dims), runtime: 'onnxruntime-node' });
    const tfjs = tfjsFrameModel(model);
    expect([onnx.inputDim, onnx.numClasses, onnx.runtime]).toEqual([5, 4, 'onnxruntime-node']);
    expect([tfjs.inputDim, tfjs.numClasses, tfjs.runtime]).toEqual([5, 4, undefined]);
    const numFrames = 11;
    const data = Float32Array.from({ length: numFrames * 5 }, (_, i) => Math.sin(i * 0.7) * 3);
    const a = await tfjs.logPosteriors({ data, numFrames, numCols: 5 });
    const b = await onnx.logPosteriors({ data, numFrames, numCols: 5 });
    expect([b.numFrames, b.numPdfs]).toEqual([numFrames, 4]);
    let maxDiff = 0;
    for (let i = 0; i < a.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a.data[i] - b.data[i]));
    expect(maxDiff).toBeLessThan(1e-5);
    // Rows are log-probabilities.
    for (let t = 0; t < numFrames; t++) expect(Array.from(b.data.subarray(t * 4, t * 4 + 4)).reduce((s, x) => s + Math.exp(x), 0)).toBeCloseTo(1, 5);
    await session.release();
    model.dispose();
  });

  it('onnxFrameModel needs a logits output; an ONNX sidecar needs export.json\'s acoustic block', () => {
    const session = { inputNames: ['features'], outputNames: ['loglikes'], run: async () => ({}) };
    expect(() => onnxFrameModel(session as unknown as OnnxSessionLike, { tensor: () => null, runtime: 'x', source: 'm/model.onnx' })).toThrow(/^m\/model\.onnx: outputs loglikes, no "logits"/);
    expect(() => acousticSidecarJson({ kind: 'kdasr-export' }, 'onnx', 'export.json')).toThrow(/^export\.json: no "acoustic" block/);
    expect(acousticSidecarJson({ kind: 'kdasr-export', acoustic: { a: 1 } }, 'onnx', 'export.json')).toEqual({ kind: 'kdasr-acoustic-model', config: { a: 1 } });
    const kdasrJson = { kind: 'kdasr-acoustic-model', config: {} };
    expect(acousticSidecarJson(kdasrJson, 'tfjs-layers', 'model/kdasr.json')).toBe(kdasrJson);
    const manifest = { format: 'kdasr-recognizer', version: 1, sampleRateHz: 8000, features: {}, decode: { acousticScale: 0.1, lmWeight: 1, wordInsertionPenalty: 0, beam: 13, priorScale: 1, silenceProb: 0.5 }, files: { model: 'model/model.onnx', modelFormat: 'tflite', sidecar: 'export.json', lang: 'lang.json', lmText: 'lm-text.txt' } };
    expect(() => parseRecognizerManifest(manifest, 'recognizer.json')).toThrow(/^recognizer\.json: files\.modelFormat: /);
  });
});
