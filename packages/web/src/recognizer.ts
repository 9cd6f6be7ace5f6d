/**
 * The recogniser the page runs: WAV bytes or samples -> fbank (the feature archive's pipeline config) -> CMVN +
 * splicing (the model's frontend) -> the TF.js layers model's log posteriors -> scaled likelihoods (the sidecar's
 * priors) -> the same WordSearch `kdasr decode` uses. The frame classifier is a TF.js layers model or an ONNX model
 * (`kdasr export --format onnx`) in any ONNX Runtime session the caller opens (onnxruntime-web in the page). Only
 * browser entries are imported, so it bundles for a page; it runs in Node too.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { WaveformFeatureExtractor, decodeWav, resample } from '@kdasr/audio-features';
import { ACOUSTIC_MODEL_KIND, PhoneticTree, acousticSidecar, logPosteriors, logSoftmaxRows, type AcousticSidecar, type FrameScores, type TreeJson } from '@kdasr/acoustic-models';
import { posteriorsToLoglikes, type TimedWord } from '@kdasr/decoding';
import { WordSearch, type Lang, type WordDecodeSettings } from '@kdasr/experiments';
import { z } from 'zod';

export const RECOGNIZER_FORMAT = 'kdasr-recognizer';
export const RECOGNIZER_FILE = 'recognizer.json';

/** recognizer.json: what a page needs besides the model files, with paths relative to this file. */
export const recognizerManifestSchema = z.strictObject({
  format: z.literal(RECOGNIZER_FORMAT),
  version: z.literal(1),
  /** The rate the model's features were computed at; other audio is resampled to it. */
  sampleRateHz: z.number().int().positive(),
  /** The feature archive's pipeline config (audio-features FeaturePipelineConfig). */
  features: z.record(z.string(), z.unknown()),
  decode: z.strictObject({
    acousticScale: z.number().positive(),
    lmWeight: z.number().min(0),
    wordInsertionPenalty: z.number(),
    beam: z.number().positive(),
    priorScale: z.number().min(0),
    silenceProb: z.number().min(0).max(1),
  }),
  files: z.strictObject({
    /** TF.js layers model.json (any weight dtype tf.loadLayersModel reads: float32, float16, uint8), or model.onnx. */
    model: z.string(),
    /** 'tfjs-layers' (the default) or 'onnx' (a kdasr export --format onnx graph: features -> logits). */
    modelFormat: z.enum(['tfjs-layers', 'onnx']).optional(),
    /** The acoustic sidecar: model/kdasr.json, or an ONNX export's export.json (its `acoustic` block). */
    sidecar: z.string(),
    lang: z.string(),
    lmText: z.string(),
    tree: z.string().optional(),
  }),
  /** Where it came from (the experiment directory's name, not a path on the serving machine). */
  source: z.record(z.string(), z.unknown()).optional(),
});
export type RecognizerManifest = z.infer<typeof recognizerManifestSchema>;

export function parseRecognizerManifest(json: unknown, source: string): RecognizerManifest {
  const r = recognizerManifestSchema.safeParse(json);
  if (!r.success) throw new Error(`${source}: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}; write it with kdasr demo --model EXPDIR --out DIR`);
  return r.data;
}

export type ModelFormat = NonNullable<RecognizerManifest['files']['modelFormat']>;

/** The frame classifier a Recognizer runs: a TF.js layers model or an ONNX Runtime session, behind one async call. */
export interface FrameModel {
  /** Spliced feature columns it takes (NaN when the runtime does not say). */
  readonly inputDim: number;
  readonly numClasses: number;
  /** What runs it, as the page shows it (e.g. "onnxruntime-web 1.31.1 (wasm, 1 thread)"); undefined: the tfjs backend. */
  readonly runtime?: string;
  /** Log posteriors [numFrames, numClasses] of the model's frontend output. */
  logPosteriors(input: { data: Float32Array; numFrames: number; numCols: number }): Promise<FrameScores>;
}

/** A TF.js layers model (its last Dense layer is linear: predict gives logits), log-softmax as kdasr decode does. */
export function tfjsFrameModel(model: LayersModel): FrameModel {
  const out = model.outputs[0].shape;
  const classifier = {
    inputDim: Number(model.inputs[0].shape[1]),
    numClasses: Number(out[out.length - 1]),
    // One batch per call (predict's default batchSize of 32 would split it into many small ones).
    logits: (x: tf.Tensor2D) => model.predict(x, { batchSize: Math.max(1, x.shape[0]) }) as tf.Tensor2D,
    trainableVariables: () => [],
  };
  return { inputDim: classifier.inputDim, numClasses: classifier.numClasses, logPosteriors: async (input) => logPosteriors(classifier, input) };
}

/** The part of an ONNX Runtime InferenceSession (onnxruntime-web or -node, which share the API) the recogniser uses. */
export interface OnnxSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata?: readonly unknown[];
  readonly outputMetadata?: readonly unknown[];
  run(feeds: Record<string, never>): Promise<Record<string, { data: unknown; dims: readonly number[] }>>;
}

const dimOf = (meta: unknown, axis: number): number => {
  const shape = (meta as { shape?: readonly unknown[] } | undefined)?.shape;
  const d = shape?.[axis];
  return typeof d === 'number' && d > 0 ? d : Number.NaN;
};

/**
 * An ONNX export (input `features` [N, inputDim], output `logits` [N, numClasses]) in an open session; `tensor`
 * makes the runtime's float32 tensor (`(d, dims) => new ort.Tensor('float32', d, dims)`). Log-softmax on the host
 * in float64, as the deployment table does for onnxruntime-node.
 */
export function onnxFrameModel(session: OnnxSessionLike, o: { tensor: (data: Float32Array, dims: number[]) => unknown; runtime: string; source?: string }): FrameModel {
  const where = o.source ?? 'the ONNX model';
  if (!session.outputNames.includes('logits')) throw new Error(`${where}: outputs ${session.outputNames.join(', ')}, no "logits"; export it with kdasr export --format onnx`);
  const input = session.inputNames[0];
  const inputDim = dimOf(session.inputMetadata?.[0], 1);
  let numClasses = dimOf(session.outputMetadata?.[session.outputNames.indexOf('logits')], 1);
  return {
    inputDim,
    get numClasses() {
      return numClasses;
    },
    runtime: o.runtime,
    async logPosteriors(x) {
      const r = await session.run({ [input]: o.tensor(x.data, [x.numFrames, x.numCols]) } as Record<string, never>);
      const z = r.logits;
      const C = Number(z.dims[1]);
      if (!Number.isNaN(numClasses) && C !== numClasses) throw new Error(`${where}: logits of ${C} classes, metadata says ${numClasses}`);
      numClasses = C;
      // A copy: the runtime owns its output buffer.
      return { numFrames: x.numFrames, numPdfs: C, data: logSoftmaxRows(Float32Array.from(z.data as Float32Array), x.numFrames, C) };
    },
  };
}

/** The acoustic sidecar of either format: kdasr.json as it is, or an ONNX export.json's `acoustic` block as one. */
export function acousticSidecarJson(json: unknown, format: ModelFormat, source: string): unknown {
  if (format !== 'onnx') return json;
  const acoustic = (json as { acoustic?: unknown } | null)?.acoustic;
  if (!acoustic || typeof acoustic !== 'object') throw new Error(`${source}: no "acoustic" block (priors, inventory, frontend); re-export the model with kdasr export --format onnx`);
  return { kind: ACOUSTIC_MODEL_KIND, config: acoustic };
}

export interface RecognizerAssets {
  manifest: RecognizerManifest;
  model: FrameModel;
  sidecar: unknown;
  lang: Lang;
  lmText: string[];
  tree?: TreeJson;
}

export interface RecognitionTimings {
  featuresMs: number;
  forwardMs: number;
  decodeMs: number;
}

export interface Recognition {
  words: string[];
  timed: TimedWord[];
  reachedFinal: boolean;
  numFrames: number;
  durationSec: number;
  timings: RecognitionTimings;
  /** Log posteriors [numFrames, numPdfs] (for the plot). */
  logPosteriors: FrameScores;
}

/**
 * Fetch-based loading of recognizer.json and the files it names; `loadModel` opens the model file in its format
 * (in the page: tfjsFrameModel(await tf.loadLayersModel(url)), or an onnxruntime-web session for 'onnx').
 */
export async function fetchRecognizerAssets(manifestUrl: string, loadModel: (url: string, format: ModelFormat) => Promise<FrameModel>, fetchFn: typeof fetch = fetch): Promise<RecognizerAssets> {
  const get = async (url: string): Promise<Response> => {
    const r = await fetchFn(url);
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status}; serve the model with kdasr demo --model EXPDIR (or copy kdasr demo --out's files)`);
    return r;
  };
  const manifest = parseRecognizerManifest(await (await get(manifestUrl)).json(), manifestUrl);
  const at = (p: string) => new URL(p, new URL(manifestUrl, (globalThis as { location?: { href: string } }).location?.href ?? 'http://localhost/')).href;
  const [sidecar, lang, lmText, tree, model] = await Promise.all([
    get(at(manifest.files.sidecar)).then((r) => r.json()),
    get(at(manifest.files.lang)).then((r) => r.json() as Promise<Lang>),
    get(at(manifest.files.lmText)).then((r) => r.text()),
    manifest.files.tree ? get(at(manifest.files.tree)).then((r) => r.json() as Promise<{ tree: TreeJson }>) : Promise.resolve(undefined),
    loadModel(at(manifest.files.model), manifest.files.modelFormat ?? 'tfjs-layers'),
  ]);
  return { manifest, model, sidecar, lang, lmText: lmText.split('\n').filter((l) => l.trim()), tree: tree?.tree };
}

export class Recognizer {
  readonly manifest: RecognizerManifest;
  readonly am: AcousticSidecar;
  readonly numClasses: number;
  private readonly extractor: WaveformFeatureExtractor;
  private readonly search: WordSearch;
  private readonly model: FrameModel;
  private readonly logPriors: number[];

  constructor(assets: RecognizerAssets) {
    this.manifest = assets.manifest;
    const files = assets.manifest.files;
    this.am = acousticSidecar(acousticSidecarJson(assets.sidecar, files.modelFormat ?? 'tfjs-layers', files.sidecar), files.sidecar);
    if (!this.am.meta.logPriors) throw new Error(`${files.sidecar}: the model has no priors; retrain it with kdasr train (which stores alignment-count priors)`);
    if (this.am.frontend.config.cmvn.mode === 'speaker')
      throw new Error(`${files.sidecar}: the model uses per-speaker CMVN, which needs a set of utterances per speaker; a single-utterance recogniser needs cmvn mode utterance, global or none`);
    this.logPriors = this.am.meta.logPriors;
    this.model = assets.model;
    // An ONNX session may not state its class count; the priors do (checked against the logits on the first call).
    this.numClasses = Number.isNaN(this.model.numClasses) ? this.logPriors.length : this.model.numClasses;
    if (this.numClasses !== this.logPriors.length) throw new Error(`${files.model}: ${this.numClasses} outputs but the sidecar has ${this.logPriors.length} priors; they are from different models`);
    this.extractor = new WaveformFeatureExtractor(assets.manifest.features);
    const tree = assets.tree ? PhoneticTree.fromJSON(assets.tree) : undefined;
    this.search = new WordSearch(assets.lang, this.am.inventory, tree, assets.lmText, assets.manifest.decode as WordDecodeSettings);
  }

  get sampleRateHz(): number {
    return this.manifest.sampleRateHz;
  }

  /** The model's runtime when it is not the tfjs backend (an ONNX Runtime session). */
  get runtime(): string | undefined {
    return this.model.runtime;
  }

  /** Recognise a WAV file's bytes (channel selection and resampling as `kdasr features` does, then to the model's rate). */
  recognizeWav(bytes: Uint8Array, source: string): Promise<Recognition> {
    const t0 = performance.now();
    const cfg = this.extractor.config;
    const a = decodeWav(bytes, { source, channel: cfg.channel, targetSampleRateHz: cfg.targetSampleRateHz ?? this.sampleRateHz });
    return this.fromAudio(a.samples, a.sampleRateHz, a.durationSec, source, t0);
  }

  /** Recognise mono samples in [-1, 1] at any rate (e.g. the microphone's), resampled to the model's rate. */
  recognizeSamples(samples: Float32Array, sampleRateHz: number, source = 'samples'): Promise<Recognition> {
    const t0 = performance.now();
    const x = sampleRateHz === this.sampleRateHz ? samples : resample(samples, sampleRateHz, this.sampleRateHz);
    return this.fromAudio(x, this.sampleRateHz, samples.length / sampleRateHz, source, t0);
  }

  /** One forward pass on zeros, so the first utterance's timing does not include kernel compilation. */
  async warmUp(): Promise<void> {
    let input: { data: Float32Array; numFrames: number; numCols: number } = { data: new Float32Array(8 * this.model.inputDim), numFrames: 8, numCols: this.model.inputDim };
    // A session that does not state its input width: a quarter second of silence through the frontend gives it.
    if (Number.isNaN(this.model.inputDim)) input = this.am.frontend.transform({ id: 'warm-up', features: this.extractor.fromSamples(new Float32Array(Math.round(this.sampleRateHz / 4)), this.sampleRateHz) });
    await this.model.logPosteriors(input);
  }

  private async fromAudio(samples: Float32Array, rate: number, durationSec: number, source: string, t0: number): Promise<Recognition> {
    if (rate !== this.sampleRateHz) throw new Error(`${source}: audio at ${rate} Hz for a model at ${this.sampleRateHz} Hz`);
    const features = this.extractor.fromSamples(samples, rate);
    if (features.numFrames === 0) throw new Error(`${source}: ${durationSec.toFixed(3)} s of audio is shorter than one frame`);
    const input = this.am.frontend.transform({ id: source, features });
    if (!Number.isNaN(this.model.inputDim) && input.numCols !== this.model.inputDim) throw new Error(`${source}: ${input.numCols} spliced feature columns but the model takes ${this.model.inputDim}; the feature config does not match the model`);
    const t1 = performance.now();
    const lp = await this.model.logPosteriors(input);
    const t2 = performance.now();
    const r = this.search.search(posteriorsToLoglikes(lp, this.logPriors, this.manifest.decode.priorScale));
    const t3 = performance.now();
    return { words: r.words, timed: r.timed, reachedFinal: r.reachedFinal, numFrames: r.numFrames, durationSec, timings: { featuresMs: t1 - t0, forwardMs: t2 - t1, decodeMs: t3 - t2 }, logPosteriors: lp };
  }
}
