/**
 * What the page is served: the bundle (index.html, app.js), tfjs' wasm binaries, recognizer.json and the files of
 * one model directory, each by an explicit URL path. Nothing else is reachable, whatever the request says.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { FeatureArchive } from '@kdasr/audio-features';
import { WORD_DECODE_DEFAULTS, type WordDecodeSettings } from '@kdasr/experiments';
import { writeDirAtomic, writeJsonAtomic } from '@kdasr/base';
import { RECOGNIZER_FILE, RECOGNIZER_FORMAT, type RecognizerManifest } from './recognizer.js';
import { ORT_WASM_FILE } from './ort-files.js';

export { ORT_WASM_FILE };

export interface ModelSiteOptions {
  /**
   * A kdasr train (or kdasr export --format tfjs) output: model/, lang.json, lm-text.txt, train.json, tree.json; or a
   * kdasr export --format onnx output: model.onnx and export.json beside the same files.
   */
  modelDir: string;
  /** The feature archive the model was trained on (its pipeline config and sample rate); default: train.json's feats. */
  feats?: string;
  decode?: Partial<WordDecodeSettings>;
}

export interface ModelSite {
  manifest: RecognizerManifest;
  /** URL path (no leading slash) -> absolute file. */
  files: Map<string, string>;
}

const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];


export function ortWasmPath(): string {
  return createRequire(import.meta.url).resolve(`onnxruntime-web/${ORT_WASM_FILE}`);
}

export function wasmDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
}

function readJson<T>(file: string, what: string): T {
  if (!existsSync(file)) throw new Error(`${file} does not exist; ${what}`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message})`);
  }
}

/** A relative path inside a directory (no `..`, not absolute), or an error naming the file and the field. */
function inside(dir: string, p: string, where: string): string {
  if (isAbsolute(p) || p.split(/[\\/]/).includes('..')) throw new Error(`${where}: weights path "${p}" leaves the model directory; use file names relative to model.json`);
  return join(dir, p);
}

/** The model files of a TF.js export or train output (model/model.json, its weights, kdasr.json) into `files`. */
function tfjsModelFiles(exp: string, files: Map<string, string>): void {
  const modelSub = join(exp, 'model');
  const modelJsonFile = join(modelSub, 'model.json');
  const modelJson = readJson<{ weightsManifest?: { paths: string[] }[] }>(modelJsonFile, 'the model directory needs model.json (TF.js layers format)');
  if (!Array.isArray(modelJson.weightsManifest)) throw new Error(`${modelJsonFile}: weightsManifest is missing; not a TF.js layers model`);
  files.set('model/model.json', modelJsonFile);
  files.set('model/kdasr.json', join(modelSub, 'kdasr.json'));
  for (const g of modelJson.weightsManifest)
    for (const p of g.paths) {
      const f = inside(modelSub, p, `${modelJsonFile} weightsManifest`);
      if (!existsSync(f)) throw new Error(`${modelJsonFile}: weights file ${f} is missing`);
      files.set(`model/${p.replace(/\\/g, '/')}`, f);
    }
}

/** recognizer.json and the file map for a model directory (single model; an ensemble's page would run N models). */
export function modelSite(o: ModelSiteOptions): ModelSite {
  const exp = resolve(o.modelDir);
  const files = new Map<string, string>();
  const onnx = existsSync(join(exp, 'model.onnx'));
  if (onnx) {
    const exportJson = join(exp, 'export.json');
    const acoustic = readJson<{ acoustic?: unknown }>(exportJson, 'an ONNX export holds export.json beside model.onnx (kdasr export --format onnx writes both)').acoustic;
    if (!acoustic) throw new Error(`${exportJson}: no "acoustic" block (priors, inventory, frontend); re-export with kdasr export --format onnx`);
    files.set('model/model.onnx', join(exp, 'model.onnx'));
    files.set('export.json', exportJson);
    files.set(`ort/${ORT_WASM_FILE}`, ortWasmPath());
  } else if (!existsSync(join(exp, 'model', 'kdasr.json'))) {
    if (existsSync(join(exp, 'member-0'))) throw new Error(`${exp} is an ensemble (member-<i>/model); the page runs one model: pass a single model's kdasr train output, or a distilled student`);
    throw new Error(`${join(exp, 'model')}/kdasr.json does not exist; --model must be a kdasr train (or kdasr export) output holding model/, or an ONNX export holding model.onnx`);
  } else tfjsModelFiles(exp, files);
  for (const [url, name, why] of [
    ['lang.json', 'lang.json', 'kdasr train writes it (phones, lexicon)'],
    ['lm-text.txt', 'lm-text.txt', 'kdasr train writes it (the LM training sentences)'],
  ] as const) {
    const f = join(exp, name);
    if (!existsSync(f)) throw new Error(`${f} does not exist; ${why}`);
    files.set(url, f);
  }
  const tree = existsSync(join(exp, 'tree.json'));
  if (tree) files.set('tree.json', join(exp, 'tree.json'));
  const feats = o.feats ?? readJson<{ feats?: string }>(join(exp, 'train.json'), 'pass --feats DIR (the feature archive the model was trained on)').feats;
  if (!feats) throw new Error(`${join(exp, 'train.json')}: no "feats" field; pass --feats DIR (the feature archive the model was trained on)`);
  const archive = FeatureArchive.open(feats);
  let features: Record<string, unknown>;
  let sampleRateHz: number;
  try {
    features = (archive.index.config ?? {}) as Record<string, unknown>;
    const first = Object.keys(archive.index.entries)[0];
    sampleRateHz = Number(features.targetSampleRateHz ?? (first ? archive.entry(first).meta?.sampleRateHz : undefined));
  } finally {
    archive.close();
  }
  if (!(sampleRateHz > 0)) throw new Error(`${feats}: the archive records no sample rate (targetSampleRateHz or entry meta.sampleRateHz); recompute it with kdasr features`);
  const manifest: RecognizerManifest = {
    format: RECOGNIZER_FORMAT,
    version: 1,
    sampleRateHz,
    features,
    decode: { ...WORD_DECODE_DEFAULTS, ...(o.decode ?? {}) },
    files: {
      ...(onnx ? { model: 'model/model.onnx', modelFormat: 'onnx' as const, sidecar: 'export.json' } : { model: 'model/model.json', sidecar: 'model/kdasr.json' }),
      lang: 'lang.json',
      lmText: 'lm-text.txt',
      ...(tree ? { tree: 'tree.json' } : {}),
    },
    source: { model: basename(exp) },
  };
  return { manifest, files };
}

/** The page's own files: the bundle directory's index.html / app.js and tfjs' wasm binaries under wasm/. */
export function bundleFiles(bundleDir: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const f of ['index.html', 'app.js']) files.set(f, join(bundleDir, f));
  const w = wasmDir();
  for (const f of WASM_FILES) files.set(`wasm/${f}`, join(w, f));
  return files;
}

/** Write the whole site (bundle, wasm, recognizer.json, model files) to `out` for any static host; atomic. */
export async function writeStaticSite(site: ModelSite, bundleDir: string, out: string): Promise<string[]> {
  const all = new Map([...bundleFiles(bundleDir), ...site.files]);
  await writeDirAtomic(out, async (tmp) => {
    for (const [url, file] of all) {
      const dst = join(tmp, url);
      mkdirSync(dirname(dst), { recursive: true });
      copyFileSync(file, dst);
    }
    writeJsonAtomic(join(tmp, RECOGNIZER_FILE), site.manifest);
  });
  return [...all.keys(), RECOGNIZER_FILE].sort();
}
