import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { idProblem, readSidecar, SIDECAR_FILE, writeDirAtomic, writeFileAtomic, type Sidecar } from '@kdasr/base';

/**
 * Save a LayersModel in the TF.js layers format (model.json + weights.bin, loadable unchanged by
 * tf.loadLayersModel in a browser) with a kdasr.json sidecar, atomically: the directory is complete or absent.
 */
export async function saveModel(model: tfl.LayersModel, dir: string, sidecar: Sidecar): Promise<void> {
  await writeDirAtomic(dir, async (tmp) => {
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const weights = artifacts.weightData
          ? new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData))
          : new Uint8Array(0);
        const modelJson = {
          modelTopology: artifacts.modelTopology,
          format: 'layers-model',
          generatedBy: artifacts.generatedBy,
          convertedBy: 'kdasr',
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        };
        writeFileAtomic(join(tmp, 'model.json'), JSON.stringify(modelJson));
        writeFileAtomic(join(tmp, 'weights.bin'), weights);
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      }),
    );
    writeFileAtomic(join(tmp, SIDECAR_FILE), JSON.stringify(sidecar, null, 2) + '\n');
  });
}

/** Load a model saved by saveModel (or any TF.js layers model directory with a single weights.bin). */
export async function loadModel(dir: string): Promise<{ model: tfl.LayersModel; sidecar: Sidecar | null }> {
  const modelPath = join(dir, 'model.json');
  if (!existsSync(modelPath))
    throw new Error(`loadModel: ${modelPath} does not exist; expected a directory written by saveModel (model.json, weights.bin)`);
  let modelJson: {
    modelTopology: object;
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  try {
    modelJson = JSON.parse(readFileSync(modelPath, 'utf8'));
  } catch (e) {
    throw new Error(`loadModel: ${modelPath} is not valid JSON (${(e as Error).message})`);
  }
  if (!modelJson?.modelTopology || !Array.isArray(modelJson.weightsManifest))
    throw new Error(`loadModel: ${modelPath} lacks modelTopology or weightsManifest; not a TF.js layers model`);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const [g, group] of modelJson.weightsManifest.entries()) {
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights))
      throw new Error(`loadModel: ${modelPath}: weightsManifest[${g}] needs "paths" and "weights" arrays; not a TF.js layers model`);
    specs.push(...group.weights);
    for (const p of group.paths) {
      // Weight files live in the model directory: a path component would read outside it.
      const bad = typeof p === 'string' ? idProblem(p) : 'is not a string';
      if (bad) throw new Error(`loadModel: ${modelPath}: weightsManifest[${g}].paths entry ${JSON.stringify(p)} ${bad}; weight files must sit beside model.json`);
      const wp = join(dir, p);
      if (!existsSync(wp)) throw new Error(`loadModel: weights file ${wp} named in ${modelPath} is missing`);
      buffers.push(readFileSync(wp));
    }
  }
  const total = buffers.reduce((s, b) => s + b.length, 0);
  const joined = new Uint8Array(total);
  let off = 0;
  for (const b of buffers) {
    joined.set(b, off);
    off += b.length;
  }
  // The manifest sizes the reads tfjs makes into the weight bytes: check it covers them exactly.
  let expected = 0;
  for (const [i, w] of specs.entries()) {
    // Quantized weights (kdasr export --dtype float16|uint8, tfjs-converter's format) are stored at their quantized width.
    const q = w?.quantization as { dtype?: string; scale?: number; min?: number } | undefined;
    const stored = q ? ({ float16: 2, uint16: 2, uint8: 1 } as Record<string, number>)[String(q.dtype)] : undefined;
    const qOk = !q || (stored !== undefined && w.dtype === 'float32' && (q.dtype === 'float16' || (Number.isFinite(q.scale) && Number.isFinite(q.min))));
    const bytesPer = w && (q ? stored : ({ float32: 4, int32: 4, bool: 1 } as Record<string, number>)[w.dtype]);
    const count = w && Array.isArray(w.shape) && w.shape.every((d) => Number.isSafeInteger(d) && d >= 0) ? w.shape.reduce((a, b) => a * b, 1) : NaN;
    if (!bytesPer || !qOk || typeof w.name !== 'string' || !Number.isSafeInteger(count))
      throw new Error(`loadModel: ${modelPath}: weight ${i} (${JSON.stringify(w?.name)}) needs a name, a float32/int32/bool dtype (quantized: float32 with quantization float16, or uint8/uint16 with finite scale and min) and a shape of non-negative integers`);
    expected += count * bytesPer;
  }
  if (expected !== total) throw new Error(`loadModel: ${modelPath}: the manifest describes ${expected} bytes of weights but the weight files hold ${total}; the model directory is corrupt`);
  let model: tfl.LayersModel;
  try {
    model = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: specs, weightData: joined.buffer }));
  } catch (e) {
    throw new Error(`loadModel: ${modelPath}: TF.js cannot build the model (${(e as Error).message}); the model directory is corrupt`);
  }
  const sidecarPath = join(dir, SIDECAR_FILE);
  const sidecar = existsSync(sidecarPath) ? readSidecar(dir) : null;
  return { model, sidecar };
}
