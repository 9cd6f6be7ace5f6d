import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { readSidecar, SIDECAR_FILE, writeDirAtomic, writeFileAtomic, type Sidecar } from '@kdasr/base';

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
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest))
    throw new Error(`loadModel: ${modelPath} lacks modelTopology or weightsManifest; not a TF.js layers model`);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of modelJson.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
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
  const model = await tfl.loadLayersModel(
    tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: specs, weightData: joined.buffer }),
  );
  const sidecarPath = join(dir, SIDECAR_FILE);
  const sidecar = existsSync(sidecarPath) ? readSidecar(dir) : null;
  return { model, sidecar };
}
