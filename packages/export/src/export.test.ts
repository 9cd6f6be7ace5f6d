import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, normalize, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initRuntime } from '@kdasr/core';
import { FeatureArchiveWriter } from '@kdasr/audio-features';
import { ACOUSTIC_PRESETS, EnsembleClassifier, FrameDataset, Frontend, StateInventory, loadAcousticModel, logPosteriors, priorsFromCounts, saveAcousticModel, syntheticUtterances, trainAcousticModel, type Utterance } from '@kdasr/acoustic-models';
import { posteriorsToLoglikes } from '@kdasr/decoding';
import { EXPORT_FILE, ONNX_FILE, classifierRunner, decodeOnnxModel, exportModel, float16Bits, onnxRunner, onnxSchema, quantizeUint8, quantizeWeights, type ExportRecord } from './index.js';

const root = resolve(import.meta.dirname, '../../..');
const inv = new StateInventory({ phones: ['sil', 'a', 'b', 'c'], statesPerSilence: 3 });
const fe = { splice: { left: 2, right: 2 }, cmvn: { mode: 'utterance' as const } };
const tmp = mkdtempSync(join(tmpdir(), 'kdasr-export-'));
let devUtts: Utterance[];
let dev: FrameDataset;
let logPriors: number[];
let server: Server;
let baseUrl: string;

/** Trains a tiny model on the toy states (seeded) and saves it as kdasr train would, under `dir`. */
async function trainTo(dir: string, seed: number, train: FrameDataset, dropout = 0): Promise<void> {
  // dropout > 0 saves Dropout layers, which every export must treat as identity.
  const cfg = { ...ACOUSTIC_PRESETS.tiny, frontend: fe, seed, dropout };
  const { model, config } = await trainAcousticModel({ config: cfg, train, engine: 'tfjs' });
  await saveAcousticModel(dir, model, { config, inventory: inv.toJSON(), frontend: new Frontend(fe).toJSON(), logPriors, engine: 'tfjs' });
  model.dispose();
}

beforeAll(async () => {
  await initRuntime({ backend: 'cpu' });
  const trainUtts = syntheticUtterances(inv, { utterances: 60, dim: 8, seed: 1, separation: 1.2 });
  const train = new FrameDataset(trainUtts, { numClasses: inv.numClasses, frontend: new Frontend(fe) });
  logPriors = Array.from(priorsFromCounts(train.labels(), inv.numClasses), Math.log);
  await trainTo(join(tmp, 'exp', 'model'), 0, train);
  writeFileSync(join(tmp, 'exp', 'lm-text.txt'), 'a b\n');
  await trainTo(join(tmp, 'ens', 'member-0', 'model'), 0, train);
  await trainTo(join(tmp, 'ens', 'member-1', 'model'), 1, train, 0.1);
  // Dev split as kdasr features / kdasr align write it: an archive and labels.jsonl.
  devUtts = syntheticUtterances(inv, { utterances: 20, dim: 8, seed: 2, separation: 1.2 });
  const w = FeatureArchiveWriter.open(join(tmp, 'dev-feats'), { config: { kind: 'synthetic' } });
  for (const u of devUtts) w.append(u.id, u.features, { sampleRateHz: 16000 });
  w.close();
  mkdirSync(join(tmp, 'dev-ali'));
  writeFileSync(join(tmp, 'dev-ali', 'labels.jsonl'), devUtts.map((u) => JSON.stringify({ id: u.id, labels: Array.from(u.labels!) })).join('\n') + '\n');
  dev = new FrameDataset(devUtts, { numClasses: inv.numClasses, frontend: new Frontend(fe) });
  // A static file server on loopback: the way a page fetches model.json and its weights.
  server = createServer((req, res) => {
    const p = normalize(join(tmp, decodeURIComponent(new URL(req.url!, 'http://x').pathname)));
    if (!p.startsWith(tmp) || !existsSync(p)) return void res.writeHead(404).end();
    res.writeHead(200).end(readFileSync(p));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address() as { port: number };
  baseUrl = `http://127.0.0.1:${addr.port}`;
}, 180_000);
afterAll(async () => {
  await new Promise((ok) => server?.close(ok));
  rmSync(tmp, { recursive: true, force: true });
});

/** Logits of a plain tf.loadLayersModel model over the dev frames (no kdasr code on the load path). */
async function stockLogits(url: string): Promise<Float32Array> {
  const m = await tfl.loadLayersModel(url);
  const x = dev.gather(Int32Array.from({ length: dev.size }, (_, i) => i));
  const y = m.predict(tf.tensor2d(x.features, [x.size, x.featureDim])) as tf.Tensor;
  const out = y.dataSync() as Float32Array;
  tf.dispose(y);
  m.dispose();
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function argmaxAgreement(a: Float32Array, b: Float32Array, C: number): number {
  let same = 0;
  for (let i = 0; i < a.length / C; i++) {
    let ia = 0;
    let ib = 0;
    for (let c = 1; c < C; c++) {
      if (a[i * C + c] > a[i * C + ia]) ia = c;
      if (b[i * C + c] > b[i * C + ib]) ib = c;
    }
    if (ia === ib) same++;
  }
  return same / (a.length / C);
}

const python = '/usr/bin/python3';
const onnxPy = spawnSync(python, ['-c', 'import onnx, numpy'], { encoding: 'utf8' });
const haveOnnxPy = onnxPy.status === 0;
if (!haveOnnxPy) console.warn(`onnx.checker tests skipped: ${python} cannot import onnx and numpy (apt-get install python3-onnx python3-numpy)`);

function onnxCheck(file: string, extra: string[] = []): { ok: boolean; opset: Record<string, number>; inputs: { name: string; shape: (string | number)[] }[]; outputs: { name: string; shape: (string | number)[] }[]; ops: string[]; error?: string } {
  const r = spawnSync(python, [join(root, 'tools', 'onnx-check.py'), file, ...extra], { encoding: 'utf8' });
  expect(r.status, r.stderr + r.stdout).toBe(0);
  return JSON.parse(r.stdout);
}

describe('float16 and uint8 weight encodings', () => {
  it('float16Bits inverts tfjs-core decodeWeights on every non-NaN half value and rounds to nearest even', async () => {
    const bits = new Uint16Array(65536).map((_, i) => i);
    const decoded = (await tf.io.decodeWeights(bits.buffer, [{ name: 'w', shape: [65536], dtype: 'float32', quantization: { dtype: 'float16' } }])).w.dataSync();
    let finite = 0;
    for (let i = 0; i < 65536; i++) {
      if (Number.isNaN(decoded[i])) continue;
      finite++;
      expect(float16Bits(decoded[i]), `bits ${i.toString(16)}`).toBe(i);
    }
    expect(finite).toBe(65536 - 2046); // 2 x 1023 NaN payloads
    expect(float16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie -> even
    expect(float16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie -> even (up)
    expect(float16Bits(65520)).toBe(0x7c00); // rounds past the largest half
    expect(float16Bits(2 ** -25)).toBe(0); // half the smallest subnormal: tie to even 0
    expect(float16Bits(1.5 * 2 ** -25)).toBe(1);
  });

  it('quantizeUint8 keeps zero exact and errs by at most scale/2 (tfjs-converter affine scheme)', async () => {
    const v = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i * 1.3) * 0.7 + 0.1);
    v[17] = 0;
    const q = quantizeUint8(v);
    const back = (await tf.io.decodeWeights(q.data.slice().buffer, [{ name: 'w', shape: [1000], dtype: 'float32', quantization: { dtype: 'uint8', scale: q.scale, min: q.min } }])).w.dataSync();
    expect(back[17]).toBe(0);
    expect(maxAbsDiff(v, back)).toBeLessThanOrEqual(q.scale / 2 + 1e-7);
    const c = quantizeUint8(new Float32Array([0.25, 0.25]));
    expect(c).toEqual({ data: new Uint8Array(2), scale: 1, min: 0.25 });
    expect(() => quantizeUint8(new Float32Array([1, NaN]))).toThrow(/only finite weights/);
    expect(() => quantizeWeights([{ name: 'w', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8', scale: 1, min: 0 } }], new Uint8Array(2), 'float16')).toThrow(/already quantized/);
    expect(() => quantizeWeights([{ name: 'w', shape: [4], dtype: 'float32' }], new Uint8Array(8), 'uint8')).toThrow(/needs bytes 0..16 but the buffer has 8/);
  });
});

describe('kdasr export --format tfjs', () => {
  const records: Partial<Record<'float32' | 'float16' | 'uint8', ExportRecord>> = {};
  beforeAll(async () => {
    for (const dtype of ['float32', 'float16', 'uint8'] as const)
      records[dtype] = await exportModel({ model: join(tmp, 'exp'), out: join(tmp, `tfjs-${dtype}`), dtype, dev: { feats: join(tmp, 'dev-feats'), ali: join(tmp, 'dev-ali') } });
  }, 120_000);

  it('writes the stock weights manifest, which plain tf.loadLayersModel reads over HTTP, close to float32', async () => {
    const C = inv.numClasses;
    const src = await stockLogits(`${baseUrl}/exp/model/model.json`);
    const f32 = await stockLogits(`${baseUrl}/tfjs-float32/model/model.json`);
    expect(maxAbsDiff(src, f32)).toBe(0);
    const j16 = JSON.parse(readFileSync(join(tmp, 'tfjs-float16', 'model', 'model.json'), 'utf8'));
    expect(j16.weightsManifest[0].weights.every((w: { dtype: string; quantization?: { dtype: string } }) => w.dtype === 'float32' && w.quantization?.dtype === 'float16')).toBe(true);
    const j8 = JSON.parse(readFileSync(join(tmp, 'tfjs-uint8', 'model', 'model.json'), 'utf8'));
    for (const w of j8.weightsManifest[0].weights) expect(Object.keys(w.quantization).sort()).toEqual(['dtype', 'min', 'scale']);
    const f16 = await stockLogits(`${baseUrl}/tfjs-float16/model/model.json`);
    const u8 = await stockLogits(`${baseUrl}/tfjs-uint8/model/model.json`);
    const range = Math.max(...Array.from(src, Math.abs));
    // Tolerances: float16 has an 11-bit significand (relative 2^-11 per weight); uint8 256 levels per tensor.
    expect(maxAbsDiff(src, f16)).toBeLessThan(5e-3 * range);
    expect(argmaxAgreement(src, f16, C)).toBeGreaterThan(0.995);
    expect(maxAbsDiff(src, u8)).toBeLessThan(0.1 * range);
    expect(argmaxAgreement(src, u8, C)).toBeGreaterThan(0.95);
    // Bytes: weights shrink 2x and ~4x (model.json stays).
    expect(records.float16!.bytesOnDisk).toBeLessThan(0.6 * records.float32!.bytesOnDisk);
    expect(records.uint8!.bytesOnDisk).toBeLessThan(0.35 * records.float32!.bytesOnDisk);
  });

  it('stays loadable by loadAcousticModel (kdasr decode/eval), with the sidecar copied and extended', async () => {
    const am = await loadAcousticModel(join(tmp, 'tfjs-uint8', 'model'), { engine: 'tfjs' });
    expect(am.meta.logPriors).toEqual(logPriors);
    expect(am.inventory.numClasses).toBe(inv.numClasses);
    am.model.dispose();
    const side = JSON.parse(readFileSync(join(tmp, 'tfjs-uint8', 'model', 'kdasr.json'), 'utf8'));
    expect(side.kind).toBe('kdasr-acoustic-model');
    expect(side.export.dtype).toBe('uint8');
    expect(side.export.source.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(join(tmp, 'tfjs-uint8', 'lm-text.txt'), 'utf8')).toBe('a b\n');
  });

  it('records source, dtype, bytes, parameters and the dev accuracy cost in export.json', () => {
    const j = JSON.parse(readFileSync(join(tmp, 'tfjs-uint8', EXPORT_FILE), 'utf8'));
    expect(j.kind).toBe('kdasr-export');
    expect(j.provenance).toBeDefined();
    const m = j.metrics as ExportRecord;
    expect(m.dtype).toBe('uint8');
    expect(m.source.path).toBe(join(tmp, 'exp'));
    expect(m.source.sha256).toBe(records.float32!.source.sha256);
    // tiny preset: 40 -> 64 -> 13 (dense + bias)
    expect(m.parameters).toBe(40 * 64 + 64 + 64 * inv.numClasses + inv.numClasses);
    expect(m.bytesOnDisk).toBe(records.uint8!.bytesOnDisk);
    if (!m.accuracy.measured) throw new Error('accuracy not measured');
    expect(m.accuracy.frames).toBe(dev.size);
    expect(records.float32!.accuracy).toMatchObject({ measured: true, frameAccuracyDelta: 0, argmaxAgreement: 1, maxAbsLogitDiff: 0 });
    expect(Math.abs(m.accuracy.frameAccuracyDelta)).toBeLessThan(0.03);
    expect(m.accuracy.sourceFrameAccuracy).toBeGreaterThan(0.5);
  });

  it('exports an ensemble member by member, measured as the combined ensemble', async () => {
    const r = await exportModel({ model: join(tmp, 'ens'), out: join(tmp, 'ens-u8'), dtype: 'uint8', dev: { feats: join(tmp, 'dev-feats'), ali: join(tmp, 'dev-ali') } });
    expect(r.source.members).toBe(2);
    expect(r.files).toEqual(['member-0/model/model.json', 'member-0/model/weights.bin', 'member-1/model/model.json', 'member-1/model/weights.bin']);
    if (!r.accuracy.measured) throw new Error('accuracy not measured');
    expect(r.accuracy.argmaxAgreement).toBeGreaterThan(0.95);
    const m1 = await loadAcousticModel(join(tmp, 'ens-u8', 'member-1', 'model'), { engine: 'tfjs' });
    expect(m1.meta.config.dropout).toBe(0.1);
    m1.model.dispose();
  });

  it('takes lang files from --lang when the model dir lacks them (a recipe run), and scores only the dev corpus split', async () => {
    // A recipe's layout: RUN/models/member-<i>/model and RUN/data/{lang.json,lm-text.txt}; labels of every split.
    const run = join(tmp, 'run');
    mkdirSync(join(run, 'data'), { recursive: true });
    writeFileSync(join(run, 'data', 'lang.json'), '{"phones":[]}\n');
    writeFileSync(join(run, 'data', 'lm-text.txt'), 'c d\n');
    // The dev "corpus": a splits.json layout whose test split holds only the first 5 dev utterances' speaker.
    const corpus = join(tmp, 'dev-corpus');
    mkdirSync(corpus, { recursive: true });
    writeFileSync(join(corpus, 'supervisions.jsonl'), devUtts.map((u, i) => JSON.stringify({ id: u.id, recordingId: u.id, startSec: 0, durationSec: 1, text: 'a', speaker: i < 5 ? 'spkA' : 'spkB' })).join('\n') + '\n');
    writeFileSync(join(corpus, 'splits.json'), JSON.stringify({ seed: 1, train: ['spkB'], dev: [], test: ['spkA'] }));
    const r = await exportModel({ model: join(tmp, 'ens'), out: join(tmp, 'run-u8'), dtype: 'uint8', lang: join(run, 'data'), dev: { feats: join(tmp, 'dev-feats'), ali: join(tmp, 'dev-ali'), corpus, split: 'test' } });
    expect(readFileSync(join(tmp, 'run-u8', 'lm-text.txt'), 'utf8')).toBe('c d\n');
    expect(readFileSync(join(tmp, 'run-u8', 'lang.json'), 'utf8')).toBe('{"phones":[]}\n');
    if (!r.accuracy.measured) throw new Error('accuracy not measured');
    const frames5 = devUtts.slice(0, 5).reduce((s, u) => s + u.labels!.length, 0);
    expect(r.accuracy.frames).toBe(frames5);
    // A model dir's own files win over --lang.
    await exportModel({ model: join(tmp, 'exp'), out: join(tmp, 'exp-lang'), lang: join(run, 'data') });
    expect(readFileSync(join(tmp, 'exp-lang', 'lm-text.txt'), 'utf8')).toBe('a b\n');
    expect(readFileSync(join(tmp, 'exp-lang', 'lang.json'), 'utf8')).toBe('{"phones":[]}\n');
    await expect(exportModel({ model: join(tmp, 'exp'), out: join(tmp, 'y'), dev: { feats: join(tmp, 'dev-feats'), ali: join(tmp, 'dev-ali'), split: 'test' } })).rejects.toThrow(/needs the dev corpus/);
  });

  it('says when the accuracy was not measured, and refuses bad requests with the fix', async () => {
    const r = await exportModel({ model: join(tmp, 'exp', 'model'), out: join(tmp, 'bare-f16'), dtype: 'float16' });
    expect(r.accuracy).toEqual({ measured: false, reason: expect.stringMatching(/no dev split/) });
    expect(existsSync(join(tmp, 'bare-f16', 'model', 'model.json'))).toBe(true);
    await expect(exportModel({ model: join(tmp, 'exp'), out: join(tmp, 'x'), format: 'onnx', dtype: 'uint8' })).rejects.toThrow(/--dtype uint8 is for the tfjs format/);
    await expect(exportModel({ model: join(tmp, 'nope'), out: join(tmp, 'x') })).rejects.toThrow(/holds no model/);
    await expect(exportModel({ model: join(tmp, 'tfjs-uint8'), out: join(tmp, 'x'), dtype: 'float16' })).rejects.toThrow(/already quantized.*export from the float32 model/);
    expect(existsSync(join(tmp, 'x'))).toBe(false);
  });
});

describe('kdasr export --format onnx', () => {
  let rec: ExportRecord;
  let ensRec: ExportRecord;
  beforeAll(async () => {
    rec = await exportModel({ model: join(tmp, 'exp'), out: join(tmp, 'onnx'), format: 'onnx', priorScale: 0.8, dev: { feats: join(tmp, 'dev-feats'), ali: join(tmp, 'dev-ali') } });
    ensRec = await exportModel({ model: join(tmp, 'ens'), out: join(tmp, 'onnx-ens'), format: 'onnx' });
    await exportModel({ model: join(tmp, 'ens'), out: join(tmp, 'onnx-ens-geo'), format: 'onnx', combine: 'geometric' });
  }, 120_000);

  it.skipIf(!haveOnnxPy)('passes onnx.checker (full_check) at opset 13 with a dynamic batch', () => {
    const info = onnxCheck(join(tmp, 'onnx', ONNX_FILE));
    expect(info.ok).toBe(true);
    expect(info.opset['ai.onnx']).toBe(13);
    expect(info.inputs).toEqual([{ name: 'features', shape: ['N', 40] }]);
    expect(info.outputs).toEqual([
      { name: 'logits', shape: ['N', inv.numClasses] },
      { name: 'loglikes', shape: ['N', inv.numClasses] },
    ]);
    expect(info.ops).toEqual(['Gemm', 'Relu', 'Gemm', 'LogSoftmax', 'Sub']);
    expect(onnxCheck(join(tmp, 'onnx-ens', ONNX_FILE)).ok).toBe(true);
    expect(onnxCheck(join(tmp, 'onnx-ens-geo', ONNX_FILE)).ok).toBe(true);
  });

  it('round-trips through protobufjs with the committed schema', () => {
    const m = decodeOnnxModel(onnxSchema(), readFileSync(join(tmp, 'onnx', ONNX_FILE))) as { opset_import: { version: number }[]; graph: { initializer: unknown[] }; producer_name: string };
    expect(m.producer_name).toBe('kdasr');
    expect(m.opset_import[0].version).toBe(13);
    expect(m.graph.initializer.length).toBe(5); // 2 x (kernel, bias) + scaled log priors
  });

  it('runs in onnxruntime-node with logits within 1e-4 of tfjs on the dev features, and loglikes as the decoder computes them', async () => {
    const am = await loadAcousticModel(join(tmp, 'exp', 'model'), { engine: 'tfjs' });
    const ort = await onnxRunner(join(tmp, 'onnx', ONNX_FILE));
    const ortLl = await onnxRunner(join(tmp, 'onnx', ONNX_FILE), { output: 'loglikes' });
    try {
      const tfjsRun = classifierRunner(am.model);
      for (const u of devUtts.slice(0, 8)) {
        const x = am.frontend.transform(u);
        const zt = await tfjsRun.logits(x.data, x.numFrames);
        const zo = await ort.logits(x.data, x.numFrames);
        expect(maxAbsDiff(zt, zo)).toBeLessThan(1e-4);
        const ll = posteriorsToLoglikes(logPosteriors(am.model, x), am.meta.logPriors!, 0.8);
        expect(maxAbsDiff(ll.data, await ortLl.logits(x.data, x.numFrames))).toBeLessThan(1e-4);
      }
    } finally {
      await ort.dispose();
      await ortLl.dispose();
      am.model.dispose();
    }
    if (!rec.accuracy.measured) throw new Error('accuracy not measured');
    expect(rec.accuracy.maxAbsLogitDiff).toBeLessThan(1e-4);
    expect(rec.accuracy.argmaxAgreement).toBe(1);
    expect(rec.onnx).toEqual({ opset: 13, outputs: ['logits', 'loglikes'], priorScale: 0.8 });
    const side = JSON.parse(readFileSync(join(tmp, 'onnx', EXPORT_FILE), 'utf8'));
    expect(side.acoustic.logPriors).toEqual(logPriors);
  });

  it('exports an ensemble as one graph that combines like EnsembleClassifier (arithmetic and geometric)', async () => {
    expect(ensRec.source.members).toBe(2);
    const members = [];
    for (const i of [0, 1]) members.push((await loadAcousticModel(join(tmp, 'ens', `member-${i}`, 'model'), { engine: 'tfjs' })).model);
    const x = dev.gather(Int32Array.from({ length: 200 }, (_, i) => i));
    for (const [dir, combine] of [['onnx-ens', 'arithmetic'], ['onnx-ens-geo', 'geometric']] as const) {
      const ens = new EnsembleClassifier(members, combine);
      const ort = await onnxRunner(join(tmp, dir, ONNX_FILE));
      const want = await classifierRunner(ens).logits(x.features, x.size);
      expect(maxAbsDiff(want, await ort.logits(x.features, x.size)), combine).toBeLessThan(1e-4);
      await ort.dispose();
    }
    members.forEach((m) => m.dispose());
  });

  it.skipIf(!haveOnnxPy)('agrees with an independent numpy evaluation of the graph (tools/onnx-check.py)', async () => {
    const x = dev.gather(Int32Array.from({ length: 64 }, (_, i) => i));
    writeFileSync(join(tmp, 'x.f32'), x.features);
    for (const dir of ['onnx', 'onnx-ens', 'onnx-ens-geo']) {
      onnxCheck(join(tmp, dir, ONNX_FILE), ['--input', join(tmp, 'x.f32'), '--rows', '64', '--out-dir', join(tmp, `np-${dir}`)]);
      const np = new Float32Array(new Uint8Array(readFileSync(join(tmp, `np-${dir}`, 'logits.f32'))).buffer);
      const ort = await onnxRunner(join(tmp, dir, ONNX_FILE));
      expect(maxAbsDiff(np, await ort.logits(x.features, x.size)), dir).toBeLessThan(1e-4);
      await ort.dispose();
    }
  });
});
