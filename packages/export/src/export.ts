/**
 * `exportModel`: a trained kdasr model (a kdasr train EXPDIR, single or ensemble, or one model directory) as a
 * deployment artifact: TF.js layers format with float32/float16/uint8 weights, or an ONNX graph. The output keeps
 * the EXPDIR layout (model/ or member-<i>/model, lang.json, lm-text.txt, tree.json copied), so `kdasr decode` and
 * `kdasr eval` read a TF.js export unchanged, and writes export.json: source (path, sha256), dtype, bytes on disk,
 * parameters and the frame-accuracy cost on a dev split.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FeatureArchive } from '@kdasr/audio-features';
import { SIDECAR_FILE, loadModel, makeSidecar, writeDirAtomic, writeFileAtomic, writeJsonAtomic, type BatchSource, type Classifier } from '@kdasr/core';
import { readCorpusSplit } from '@kdasr/corpus';
import { describeMlpLayers } from '@kdasr/distillation';
import { ACOUSTIC_MODEL_KIND, EnsembleClassifier, FrameDataset, Frontend, PhoneticTree, StateInventory, loadAcousticModel, readTree, treeLabels, type AcousticModelMeta, type Utterance } from '@kdasr/acoustic-models';
import type * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { ONNX_OPSET, encodeOnnxModel, onnxClassifierModel, parseOnnxSchema, type DenseWeights } from './onnx.js';
import { WEIGHT_DTYPES, quantizeWeights } from './quantize.js';
import { classifierRunner, compareOnDev, onnxRunner, type DevComparison, type LogitsRunner } from './runners.js';

export const EXPORT_KIND = 'kdasr-export';
export const EXPORT_FILE = 'export.json';
export const ONNX_FILE = 'model.onnx';
/** EXPDIR files a decoder needs beside the model (copied when present). */
const EXPDIR_FILES = ['lang.json', 'lm-text.txt', 'tree.json', 'dev-utts.txt', 'train.json'];

export const exportOptionsSchema = z.strictObject({
  /** A kdasr train output (model/ or member-<i>/model) or a single model directory (model.json + kdasr.json). */
  model: z.string().min(1),
  out: z.string().min(1),
  format: z.enum(['tfjs', 'onnx']).default('tfjs'),
  /** TF.js weight storage (tfjs format only; ONNX is float32). */
  dtype: z.enum(WEIGHT_DTYPES).default('float32'),
  /** Ensemble posteriors (ONNX graph; TF.js keeps the members apart, as kdasr train wrote them). */
  combine: z.enum(['arithmetic', 'geometric']).default('arithmetic'),
  /** ONNX: add the `loglikes` output (log posterior − priorScale · log prior) when the sidecar has priors. */
  loglikes: z.boolean().default(true),
  priorScale: z.number().finite().min(0).default(1),
  /**
   * Where lang.json, lm-text.txt and tree.json are when the model directory lacks them (a recipe's data/ directory:
   * `kdasr experiment asr` keeps them there, beside models/ and students/). Copied into the export.
   */
  lang: z.string().min(1).optional(),
  /** Dev split for the accuracy cost: features (kdasr features archive) and frame labels (kdasr align output). */
  dev: z
    .strictObject({
      feats: z.string().min(1),
      ali: z.string().min(1),
      /** Corpus dir whose supervisions give speakers (speaker CMVN) and, when given, the utterances scored. */
      corpus: z.string().min(1).optional(),
      /** With corpus: the split of it (a subdirectory or a splits.json key, as --corpus DIR --split NAME). */
      split: z.string().min(1).optional(),
    })
    .optional(),
});
export type ExportOptions = z.output<typeof exportOptionsSchema>;
export type ExportOptionsInput = z.input<typeof exportOptionsSchema>;

export function parseExportOptions(input: ExportOptionsInput): ExportOptions {
  const r = exportOptionsSchema.safeParse(input);
  if (!r.success) throw new Error(`export options: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return r.data;
}

/** Where a model's directories are: one model, or an ensemble's members (in member order). */
export interface ModelSource {
  /** The EXPDIR (null when `model` was a bare model directory). */
  expDir: string | null;
  /** Member model directories and their path relative to the output root. */
  members: { dir: string; rel: string }[];
}

export function resolveModelSource(path: string): ModelSource {
  const p = resolve(path);
  if (existsSync(join(p, SIDECAR_FILE)) && existsSync(join(p, 'model.json'))) return { expDir: null, members: [{ dir: p, rel: 'model' }] };
  if (existsSync(join(p, 'model', SIDECAR_FILE))) return { expDir: p, members: [{ dir: join(p, 'model'), rel: 'model' }] };
  const members = existsSync(p)
    ? readdirSync(p)
        .map((d) => /^member-(\d+)$/.exec(d))
        .filter((m): m is RegExpExecArray => m !== null && existsSync(join(p, m[0], 'model', SIDECAR_FILE)))
        .sort((a, b) => Number(a[1]) - Number(b[1]))
        .map((m) => ({ dir: join(p, m[0], 'model'), rel: `${m[0]}/model` }))
    : [];
  if (members.length === 0) throw new Error(`export: ${p} holds no model (model.json + kdasr.json), model/ or member-<i>/model; pass a kdasr train output or a model directory`);
  return { expDir: p, members };
}

interface ModelJson {
  modelTopology: object;
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/** model.json and its weights joined in manifest order (what tf.io handlers see). */
export function readLayersModelFiles(dir: string): { modelJson: ModelJson; specs: tf.io.WeightsManifestEntry[]; data: Uint8Array; files: string[] } {
  const mp = join(dir, 'model.json');
  if (!existsSync(mp)) throw new Error(`export: ${mp} does not exist; expected a TF.js layers model directory`);
  let modelJson: ModelJson;
  try {
    modelJson = JSON.parse(readFileSync(mp, 'utf8')) as ModelJson;
  } catch (e) {
    throw new Error(`export: ${mp} is not valid JSON (${(e as Error).message})`);
  }
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) throw new Error(`export: ${mp} lacks modelTopology or weightsManifest; not a TF.js layers model`);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Buffer[] = [];
  const files = ['model.json'];
  for (const g of modelJson.weightsManifest) {
    specs.push(...g.weights);
    for (const f of g.paths) {
      const wp = join(dir, f);
      if (!existsSync(wp)) throw new Error(`export: weights file ${wp} named in ${mp} is missing`);
      parts.push(readFileSync(wp));
      files.push(f);
    }
  }
  return { modelJson, specs, data: new Uint8Array(Buffer.concat(parts)), files };
}

/** sha256 over a model's files (name and bytes of model.json, weights, kdasr.json), members in order. */
export function hashModelDirs(dirs: readonly string[]): string {
  const h = createHash('sha256');
  for (const d of dirs) {
    const { files } = readLayersModelFiles(d);
    for (const f of [...files, SIDECAR_FILE]) {
      const p = join(d, f);
      if (!existsSync(p)) continue;
      h.update(`${f}\0`);
      h.update(readFileSync(p));
    }
  }
  return h.digest('hex');
}

/** The Dense layers of a saved MLP, checked by describeMlpLayers (the same rule every engine loads by). */
export async function denseWeightsOf(dir: string): Promise<DenseWeights[]> {
  const { model } = await loadModel(dir);
  try {
    const d = describeMlpLayers(model, `export ${dir}`);
    return d.dense.map((l, i) => {
      const [k, b] = l.getWeights();
      return { inputDim: k.shape[0], units: k.shape[1]!, kernel: k.dataSync() as Float32Array, bias: b.dataSync() as Float32Array, relu: i < d.dense.length - 1 };
    });
  } finally {
    model.dispose();
  }
}

function sidecarOf(dir: string): { kind: string; config: AcousticModelMeta; [k: string]: unknown } {
  const p = join(dir, SIDECAR_FILE);
  const s = JSON.parse(readFileSync(p, 'utf8')) as { kind: string; config: AcousticModelMeta };
  if (s.kind !== ACOUSTIC_MODEL_KIND) throw new Error(`export: ${p} is a "${s.kind}", not a ${ACOUSTIC_MODEL_KIND}; export models written by kdasr train`);
  return s;
}

function bytesUnder(dir: string, files: readonly string[]): number {
  return files.reduce((s, f) => s + statSync(join(dir, f)).size, 0);
}

/** Parameters of the saved float weights (kernel and bias values). */
function parameterCount(specs: readonly tf.io.WeightsManifestEntry[]): number {
  return specs.reduce((s, w) => s + w.shape.reduce((a, b) => a * b, 1), 0);
}

let schemaCache: ReturnType<typeof parseOnnxSchema> | undefined;
/** The committed ONNX schema (schema/onnx.proto from ONNX 1.12), parsed once. */
export function onnxSchema(): ReturnType<typeof parseOnnxSchema> {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/ and dist/ both sit beside schema/.
  schemaCache ??= parseOnnxSchema(readFileSync(join(here, '..', 'schema', 'onnx.proto'), 'utf8'));
  return schemaCache;
}

/** Dev frames labelled in the model's classes, normalised and spliced by the model's own frontend. */
export function devFrames(dev: NonNullable<ExportOptions['dev']>, meta: AcousticModelMeta, tree: PhoneticTree | undefined, numClasses: number): BatchSource {
  const labelsFile = join(dev.ali, 'labels.jsonl');
  if (!existsSync(labelsFile)) throw new Error(`export: --dev-ali ${dev.ali} has no labels.jsonl; write it with kdasr align --out ${dev.ali}`);
  const inventory = StateInventory.fromJSON(meta.inventory);
  const speakers = new Map<string, string | undefined>();
  if (dev.split && !dev.corpus) throw new Error(`export: the dev split "${dev.split}" needs the dev corpus (--dev-corpus DIR)`);
  // With a corpus, only its (split's) utterances count: an archive or labels file may span every split.
  if (dev.corpus) for (const s of readCorpusSplit({ corpus: dev.corpus, split: dev.split }).supervisions) speakers.set(s.id, s.speaker);
  const archive = FeatureArchive.open(dev.feats);
  try {
    const utts: Utterance[] = [];
    readFileSync(labelsFile, 'utf8')
      .split('\n')
      .forEach((line, n) => {
        if (!line.trim()) return;
        let j: { id: string; labels: number[]; mono?: number[]; phones?: { phone: string; startFrame: number; endFrame: number }[] };
        try {
          j = JSON.parse(line);
        } catch (e) {
          throw new Error(`export: ${labelsFile} line ${n + 1} is not JSON (${(e as Error).message})`);
        }
        if (!archive.has(j.id) || (dev.corpus && !speakers.has(j.id))) return;
        const mono = Int32Array.from(j.mono ?? j.labels);
        let labels: Int32Array = mono;
        if (tree) {
          if (!j.phones) throw new Error(`export: ${labelsFile} line ${n + 1} (${j.id}) has no phone segments, which a tree model's labels need; realign with kdasr align`);
          const states = new Int32Array(mono.length);
          for (let t = 0; t < mono.length; t++) states[t] = mono[t] >= 0 ? inventory.stateOfClass(mono[t]) : 0;
          labels = treeLabels(tree, inventory, { segments: j.phones, states, numFrames: mono.length }, j.id);
        }
        utts.push({ id: j.id, features: archive.get(j.id), labels, speaker: speakers.get(j.id) });
      });
    if (utts.length === 0) throw new Error(`export: no utterance of ${labelsFile} is in the archive ${dev.feats}; pass features and labels of one split`);
    return new FrameDataset(utts, { numClasses, frontend: new Frontend(meta.frontend.config, meta.frontend.globalStats), source: dev.ali });
  } finally {
    archive.close();
  }
}

/** The source model as one classifier on the tfjs engine (members combined like kdasr decode). */
export async function loadSourceClassifier(src: ModelSource, combine: 'arithmetic' | 'geometric'): Promise<{ model: Classifier & { dispose(): void }; meta: AcousticModelMeta }> {
  const loaded = [];
  for (const m of src.members) loaded.push(await loadAcousticModel(m.dir, { engine: 'tfjs' }));
  const model = loaded.length === 1 ? loaded[0].model : new EnsembleClassifier(loaded.map((l) => l.model), combine);
  return { model, meta: loaded[0].meta };
}

export interface ExportRecord {
  format: 'tfjs' | 'onnx';
  dtype: 'float32' | 'float16' | 'uint8';
  source: { path: string; sha256: string; members: number };
  /** Bytes of the model files (model.json + weights, or model.onnx), all members. */
  bytesOnDisk: number;
  sourceBytesOnDisk: number;
  parameters: number;
  files: string[];
  onnx?: { opset: number; outputs: string[]; priorScale?: number; combine?: string };
  accuracy: ({ measured: true; dev: { feats: string; ali: string } } & DevComparison) | { measured: false; reason: string };
}

/** Export a model; returns what export.json records. The output directory is complete or absent. */
export async function exportModel(input: ExportOptionsInput): Promise<ExportRecord> {
  const o = parseExportOptions(input);
  if (o.format === 'onnx' && o.dtype !== 'float32') throw new Error(`export: --dtype ${o.dtype} is for the tfjs format; ONNX export writes float32 (quantize the ONNX file with onnxruntime's tools if needed)`);
  const src = resolveModelSource(o.model);
  const out = resolve(o.out);
  if (out === resolve(o.model) || src.members.some((m) => out === m.dir)) throw new Error(`export: --out ${out} is the source model; choose a new directory`);
  const sidecars = src.members.map((m) => sidecarOf(m.dir));
  const meta = sidecars[0].config;
  const expFile = (f: string): string | undefined => [src.expDir, o.lang].filter((d): d is string => Boolean(d)).map((d) => join(d, f)).find((p) => existsSync(p));
  const treeFile = expFile('tree.json');
  const tree = treeFile ? readTree(dirname(treeFile)) : undefined;
  const sha256 = hashModelDirs(src.members.map((m) => m.dir));
  const sourceFiles = src.members.map((m) => readLayersModelFiles(m.dir));
  const sourceBytes = src.members.reduce((s, m, i) => s + bytesUnder(m.dir, sourceFiles[i].files), 0);
  const parameters = sourceFiles.reduce((s, f) => s + parameterCount(f.specs), 0);
  const record: Omit<ExportRecord, 'accuracy' | 'bytesOnDisk' | 'files'> = {
    format: o.format,
    dtype: o.dtype,
    source: { path: resolve(o.model), sha256, members: src.members.length },
    sourceBytesOnDisk: sourceBytes,
    parameters,
  };
  let result!: ExportRecord;
  await writeDirAtomic(out, async (tmp) => {
    for (const f of EXPDIR_FILES) {
      const from = expFile(f);
      if (from) copyFileSync(from, join(tmp, f));
    }
    const files: string[] = [];
    let onnxBytes: Uint8Array | undefined;
    let onnxInfo: ExportRecord['onnx'];
    if (o.format === 'tfjs') {
      src.members.forEach((m, i) => {
        const f = sourceFiles[i];
        const q = quantizeWeights(f.specs, f.data, o.dtype);
        const dir = join(tmp, m.rel);
        const modelJson = { ...f.modelJson, convertedBy: 'kdasr export', weightsManifest: [{ paths: ['weights.bin'], weights: q.specs }] };
        writeFileAtomic(join(dir, 'model.json'), JSON.stringify(modelJson));
        writeFileAtomic(join(dir, 'weights.bin'), q.data);
        // The acoustic sidecar (priors, inventory, frontend) copied, with what the export did.
        writeJsonAtomic(join(dir, SIDECAR_FILE), { ...sidecars[i], export: { dtype: o.dtype, source: { path: m.dir, sha256: hashModelDirs([m.dir]) }, sidecar: `${EXPORT_FILE} at the export root` } });
        files.push(`${m.rel}/model.json`, `${m.rel}/weights.bin`);
      });
    } else {
      const members = [];
      for (const m of src.members) members.push(await denseWeightsOf(m.dir));
      const withLl = o.loglikes && meta.logPriors !== undefined;
      const model = onnxClassifierModel({
        members,
        combine: o.combine,
        logPriors: withLl ? meta.logPriors : undefined,
        priorScale: o.priorScale,
        producerVersion: '0.1.0',
        docString: `kdasr frame classifier: spliced features [N, ${members[0][0].inputDim}] (the model's frontend: CMVN then splice) -> logits${withLl ? `; loglikes = log_softmax(logits) - ${o.priorScale} * log prior` : ''}`,
        metadata: { source_sha256: sha256, members: String(members.length), combine: members.length > 1 ? o.combine : 'single' },
      });
      onnxBytes = encodeOnnxModel(onnxSchema(), model);
      writeFileAtomic(join(tmp, ONNX_FILE), onnxBytes);
      files.push(ONNX_FILE);
      onnxInfo = { opset: ONNX_OPSET, outputs: withLl ? ['logits', 'loglikes'] : ['logits'], ...(withLl ? { priorScale: o.priorScale } : {}), ...(members.length > 1 ? { combine: o.combine } : {}) };
    }
    let accuracy: ExportRecord['accuracy'] = { measured: false, reason: 'no dev split given (--dev-feats/--dev-ali)' };
    if (o.dev) {
      const source = await loadSourceClassifier(src, o.combine);
      let exported: LogitsRunner | undefined;
      let exportedModel: (Classifier & { dispose(): void }) | undefined;
      try {
        const dev = devFrames(o.dev, meta, tree, source.model.numClasses);
        if (onnxBytes) exported = await onnxRunner(onnxBytes);
        else {
          exportedModel = (await loadSourceClassifier({ expDir: tmp, members: src.members.map((m) => ({ dir: join(tmp, m.rel), rel: m.rel })) }, o.combine)).model;
          exported = classifierRunner(exportedModel);
        }
        accuracy = { measured: true, dev: { feats: resolve(o.dev.feats), ali: resolve(o.dev.ali) }, ...(await compareOnDev(classifierRunner(source.model), exported, dev)) };
      } finally {
        await exported?.dispose();
        exportedModel?.dispose();
        source.model.dispose();
      }
    }
    result = { ...record, bytesOnDisk: bytesUnder(tmp, files), files, ...(onnxInfo ? { onnx: onnxInfo } : {}), accuracy };
    const sidecar = makeSidecar(EXPORT_KIND, o, null, result as unknown as Record<string, unknown>);
    // An ONNX export carries what a runtime needs beside the graph: priors, inventory, frontend.
    writeJsonAtomic(join(tmp, EXPORT_FILE), o.format === 'onnx' ? { ...sidecar, acoustic: meta } : sidecar);
  });
  return result;
}
