/**
 * Frame classifiers behind one async interface (features → logits on the host), so the source model, a
 * re-loaded TF.js export and an ONNX Runtime session are measured by the same code.
 */
import type { BatchSource, Classifier } from '@kdasr/core';
import * as tf from '@tensorflow/tfjs-core';
import type * as Ort from 'onnxruntime-node';

export interface LogitsRunner {
  readonly inputDim: number;
  readonly numClasses: number;
  /** Logits [rows, numClasses] row-major for features [rows, inputDim]. */
  logits(features: Float32Array, rows: number): Promise<Float32Array>;
  dispose(): Promise<void> | void;
}

/** A Classifier (tfjs or native engine) as a runner; the caller keeps ownership of the classifier. */
export function classifierRunner(model: Classifier): LogitsRunner {
  return {
    inputDim: model.inputDim,
    numClasses: model.numClasses,
    async logits(features, rows) {
      if (model.logitsHost) return model.logitsHost(features, rows);
      const z = tf.tidy(() => model.logits(tf.tensor2d(features, [rows, model.inputDim]), false));
      const out = z.dataSync() as Float32Array;
      z.dispose();
      return out;
    },
    dispose() {},
  };
}

/** An ONNX model (bytes or path) in onnxruntime-node's CPU provider; `output` is 'logits' or 'loglikes'. */
export async function onnxRunner(model: Uint8Array | string, options: { output?: 'logits' | 'loglikes'; threads?: number } = {}): Promise<LogitsRunner & { session: Ort.InferenceSession }> {
  // Loaded on first use: importing this package must not load the native runtime.
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(model as Uint8Array, {
    executionProviders: ['cpu'],
    ...(options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : {}),
  });
  const input = session.inputNames[0];
  const output = options.output ?? 'logits';
  if (!session.outputNames.includes(output)) throw new Error(`onnxRunner: the model has outputs ${session.outputNames.join(', ')}, not "${output}"; export with priors to get loglikes`);
  const meta = session.inputMetadata[0] as { shape?: (number | string)[] };
  const inputDim = Number(meta.shape?.[1]);
  const outMeta = session.outputMetadata[session.outputNames.indexOf(output)] as { shape?: (number | string)[] };
  const numClasses = Number(outMeta.shape?.[1]);
  return {
    session,
    inputDim,
    numClasses,
    async logits(features, rows) {
      const r = await session.run({ [input]: new ort.Tensor('float32', features, [rows, inputDim]) }, [output]);
      return r[output].data as Float32Array;
    },
    async dispose() {
      await session.release();
    },
  };
}

export interface DevComparison {
  frames: number;
  sourceFrameAccuracy: number;
  exportedFrameAccuracy: number;
  /** exported − source, in absolute frame accuracy. */
  frameAccuracyDelta: number;
  /** Fraction of frames whose argmax class is the same in both. */
  argmaxAgreement: number;
  maxAbsLogitDiff: number;
}

function argmax(z: Float32Array, o: number, C: number): number {
  let best = 0;
  for (let c = 1; c < C; c++) if (z[o + c] > z[o + best]) best = c;
  return best;
}

/** Frame accuracy of both models on the labelled frames of `dev`, their argmax agreement and largest logit gap. */
export async function compareOnDev(source: LogitsRunner, exported: LogitsRunner, dev: BatchSource, batchSize = 1024): Promise<DevComparison> {
  if (source.numClasses !== exported.numClasses || source.inputDim !== exported.inputDim)
    throw new Error(`compareOnDev: source is [${source.inputDim} -> ${source.numClasses}], export [${exported.inputDim} -> ${exported.numClasses}]`);
  const C = source.numClasses;
  let frames = 0;
  let okS = 0;
  let okE = 0;
  let agree = 0;
  let maxDiff = 0;
  for (const b of dev.batches({ batchSize })) {
    const zs = await source.logits(b.features, b.size);
    const ze = await exported.logits(b.features, b.size);
    for (let i = 0; i < b.size; i++) {
      for (let c = 0; c < C; c++) maxDiff = Math.max(maxDiff, Math.abs(zs[i * C + c] - ze[i * C + c]));
      const label = b.labels?.[i] ?? -1;
      if (label < 0) continue;
      frames++;
      const ps = argmax(zs, i * C, C);
      const pe = argmax(ze, i * C, C);
      if (ps === label) okS++;
      if (pe === label) okE++;
      if (ps === pe) agree++;
    }
  }
  if (frames === 0) throw new Error('compareOnDev: the dev set has no labelled frames; pass labels for its utterances');
  return { frames, sourceFrameAccuracy: okS / frames, exportedFrameAccuracy: okE / frames, frameAccuracyDelta: (okE - okS) / frames, argmaxAgreement: agree / frames, maxAbsLogitDiff: maxDiff };
}
