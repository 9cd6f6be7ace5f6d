/**
 * The recogniser the page runs: WAV bytes or samples -> fbank (the feature archive's pipeline config) -> CMVN +
 * splicing (the model's frontend) -> the TF.js layers model's log posteriors -> scaled likelihoods (the sidecar's
 * priors) -> the same WordSearch `kdasr decode` uses. Only browser entries are imported, so it bundles for a page;
 * it runs in Node too (a test compares it with the CLI's decoder).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { WaveformFeatureExtractor, decodeWav, resample } from '@kdasr/audio-features';
import { PhoneticTree, acousticSidecar, logPosteriors, type AcousticSidecar, type FrameScores, type TreeJson } from '@kdasr/acoustic-models';
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
    /** TF.js layers model.json (any weight dtype tf.loadLayersModel reads: float32, float16, uint8). */
    model: z.string(),
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

export interface RecognizerAssets {
  manifest: RecognizerManifest;
  model: LayersModel;
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

/** Fetch-based loading of recognizer.json and the files it names (`loadModel` is tf.loadLayersModel in a page). */
export async function fetchRecognizerAssets(manifestUrl: string, loadModel: (url: string) => Promise<LayersModel>, fetchFn: typeof fetch = fetch): Promise<RecognizerAssets> {
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
    loadModel(at(manifest.files.model)),
  ]);
  return { manifest, model, sidecar, lang, lmText: lmText.split('\n').filter((l) => l.trim()), tree: tree?.tree };
}

export class Recognizer {
  readonly manifest: RecognizerManifest;
  readonly am: AcousticSidecar;
  readonly numClasses: number;
  private readonly extractor: WaveformFeatureExtractor;
  private readonly search: WordSearch;
  private readonly model: LayersModel;
  private readonly logPriors: number[];

  constructor(assets: RecognizerAssets) {
    this.manifest = assets.manifest;
    this.am = acousticSidecar(assets.sidecar, assets.manifest.files.sidecar);
    if (!this.am.meta.logPriors) throw new Error(`${assets.manifest.files.sidecar}: the model has no priors; retrain it with kdasr train (which stores alignment-count priors)`);
    if (this.am.frontend.config.cmvn.mode === 'speaker')
      throw new Error(`${assets.manifest.files.sidecar}: the model uses per-speaker CMVN, which needs a set of utterances per speaker; a single-utterance recogniser needs cmvn mode utterance, global or none`);
    this.logPriors = this.am.meta.logPriors;
    this.model = assets.model;
    const out = this.model.outputs[0].shape;
    this.numClasses = Number(out[out.length - 1]);
    if (this.numClasses !== this.logPriors.length) throw new Error(`${assets.manifest.files.model}: ${this.numClasses} outputs but the sidecar has ${this.logPriors.length} priors; they are from different models`);
    this.extractor = new WaveformFeatureExtractor(assets.manifest.features);
    const tree = assets.tree ? PhoneticTree.fromJSON(assets.tree) : undefined;
    this.search = new WordSearch(assets.lang, this.am.inventory, tree, assets.lmText, assets.manifest.decode as WordDecodeSettings);
  }

  get sampleRateHz(): number {
    return this.manifest.sampleRateHz;
  }

  /** Recognise a WAV file's bytes (channel selection and resampling as `kdasr features` does, then to the model's rate). */
  recognizeWav(bytes: Uint8Array, source: string): Recognition {
    const t0 = performance.now();
    const cfg = this.extractor.config;
    const a = decodeWav(bytes, { source, channel: cfg.channel, targetSampleRateHz: cfg.targetSampleRateHz ?? this.sampleRateHz });
    return this.fromAudio(a.samples, a.sampleRateHz, a.durationSec, source, t0);
  }

  /** Recognise mono samples in [-1, 1] at any rate (e.g. the microphone's), resampled to the model's rate. */
  recognizeSamples(samples: Float32Array, sampleRateHz: number, source = 'samples'): Recognition {
    const t0 = performance.now();
    const x = sampleRateHz === this.sampleRateHz ? samples : resample(samples, sampleRateHz, this.sampleRateHz);
    return this.fromAudio(x, this.sampleRateHz, samples.length / sampleRateHz, source, t0);
  }

  /** One forward pass on zeros, so the first utterance's timing does not include kernel compilation. */
  warmUp(): void {
    const inputDim = Number(this.model.inputs[0].shape[1]);
    logPosteriors(this.classifier(), { data: new Float32Array(8 * inputDim), numFrames: 8, numCols: inputDim });
  }

  private classifier() {
    const model = this.model;
    return {
      inputDim: Number(model.inputs[0].shape[1]),
      numClasses: this.numClasses,
      // The saved MLP ends in a linear Dense layer: predict gives logits.
      // One batch per call (predict's default batchSize of 32 would split it into many small ones).
      logits: (x: tf.Tensor2D) => model.predict(x, { batchSize: Math.max(1, x.shape[0]) }) as tf.Tensor2D,
      trainableVariables: () => [],
    };
  }

  private fromAudio(samples: Float32Array, rate: number, durationSec: number, source: string, t0: number): Recognition {
    if (rate !== this.sampleRateHz) throw new Error(`${source}: audio at ${rate} Hz for a model at ${this.sampleRateHz} Hz`);
    const features = this.extractor.fromSamples(samples, rate);
    if (features.numFrames === 0) throw new Error(`${source}: ${durationSec.toFixed(3)} s of audio is shorter than one frame`);
    const input = this.am.frontend.transform({ id: source, features });
    const inputDim = Number(this.model.inputs[0].shape[1]);
    if (input.numCols !== inputDim) throw new Error(`${source}: ${input.numCols} spliced feature columns but the model takes ${inputDim}; the feature config does not match the model`);
    const t1 = performance.now();
    const lp = logPosteriors(this.classifier(), input);
    const t2 = performance.now();
    const r = this.search.search(posteriorsToLoglikes(lp, this.logPriors, this.manifest.decode.priorScale));
    const t3 = performance.now();
    return { words: r.words, timed: r.timed, reachedFinal: r.reachedFinal, numFrames: r.numFrames, durationSec, timings: { featuresMs: t1 - t0, forwardMs: t2 - t1, decodeMs: t3 - t2 }, logPosteriors: lp };
  }
}
