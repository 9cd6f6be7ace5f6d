/**
 * The page: picks the tfjs backend (wasm with SIMD, threads when cross-origin isolated; else webgl; else cpu), loads the model
 * named by recognizer.json (or ?manifest=URL): a TF.js layers model on that backend, or an ONNX model in
 * onnxruntime-web's wasm backend; then recognises dropped or chosen WAV files and microphone speech.
 * Results are also kept in `window.kdasr` (the browser test reads them there).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { RECOGNIZER_FILE, Recognizer, fetchRecognizerAssets, onnxFrameModel, tfjsFrameModel, type FrameModel, type ModelFormat, type Recognition } from '../recognizer.js';
import { drawRecognition } from './plot.js';
import type { PageResult } from '../page-result.js';
import { ORT_WASM_FILE } from '../ort-files.js';

interface PageState {
  ready: boolean;
  error?: string;
  backend?: string;
  wasm?: { simd: boolean; threadsSupported: boolean; threads: number };
  results: PageResult[];
  /** Files still being recognised. */
  pending: number;
}

const state: PageState = { ready: false, results: [], pending: 0 };
(window as unknown as { kdasr: PageState }).kdasr = state;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);

function showError(e: unknown): void {
  const msg = e instanceof Error ? e.message : String(e);
  state.error = msg;
  $('error').textContent = msg;
}

/** wasm (SIMD; threads when crossOriginIsolated), else webgl, else cpu; ?backend=wasm|webgl|cpu forces one. */
async function chooseBackend(): Promise<string> {
  setWasmPaths(new URL('wasm/', location.href).href);
  const want = params.get('backend');
  const order = want ? [want] : ['wasm', 'webgl', 'cpu'];
  for (const b of order) {
    try {
      if (await tf.setBackend(b)) {
        await tf.ready();
        break;
      }
    } catch {
      // Try the next one (e.g. no WebAssembly).
    }
  }
  const b = tf.getBackend();
  if (want && b !== want) throw new Error(`backend "${want}" (?backend=) did not initialise here; the page runs on ${b}`);
  if (b === 'webgl') return `webgl (${tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED') ? 'float32' : 'float16'} textures)`;
  if (b !== 'wasm') return b;
  const simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
  const threadsSupported = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'));
  const threads = getThreadsCount();
  state.wasm = { simd, threadsSupported, threads };
  return `wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threadsSupported && crossOriginIsolated ? 'threaded build' : 'single-threaded build'}, ${threads} thread${threads === 1 ? '' : 's'}${crossOriginIsolated ? ', cross-origin isolated' : ''})`;
}

/**
 * The model file in its format. ONNX runs in onnxruntime-web's wasm build (SIMD), on one thread: its threaded mode
 * starts workers from the script's own URL, which in this single-file bundle is the whole page.
 */
async function loadFrameModel(url: string, format: ModelFormat): Promise<FrameModel> {
  if (format === 'tfjs-layers') return tfjsFrameModel(await loadLayersModel(url));
  const ort = await import('onnxruntime-web/wasm');
  // The wasm binary alone: the bundle carries its JS glue (a prefix would make it fetch ort/*.mjs as well).
  ort.env.wasm.wasmPaths = { wasm: new URL(`ort/${ORT_WASM_FILE}`, location.href).href };
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(url, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  return onnxFrameModel(session as never, { tensor: (d, dims) => new ort.Tensor('float32', d, dims), runtime: `onnxruntime-web ${ort.env.versions.web ?? ''} (wasm, SIMD, 1 thread)`.replace('  ', ' '), source: url });
}

let recognizer: Recognizer;

function fmt(x: number, d = 4): string {
  return x.toFixed(d);
}

function updateTotals(): void {
  const ok = state.results.filter((r) => !r.error);
  const dur = ok.reduce((s, r) => s + r.durationSec, 0);
  if (dur === 0) return;
  const sum = (k: 'featuresMs' | 'forwardMs' | 'decodeMs') => ok.reduce((s, r) => s + r[k], 0) / 1000;
  const f = sum('featuresMs'), n = sum('forwardMs'), d = sum('decodeMs');
  const frames = ok.reduce((s, r) => s + r.numFrames, 0);
  $('totals').textContent = `${ok.length} utterances, ${dur.toFixed(1)} s of audio: RTF features ${fmt(f / dur)}, forward ${fmt(n / dur)}, decode ${fmt(d / dur)}, total ${fmt((f + n + d) / dur)} (${Math.round(frames / (f + n + d))} frames/s)`;
}

function addResult(r: PageResult, rec?: Recognition): void {
  state.results.push(r);
  const tr = document.createElement('tr');
  const total = (r.featuresMs + r.forwardMs + r.decodeMs) / 1000;
  const cells = r.error
    ? [r.name, `error: ${r.error}`, '', '', '', '', '', '']
    : [r.name, r.words.join(' ') || '(nothing)', r.durationSec.toFixed(2), String(r.numFrames), fmt(r.featuresMs / 1000 / r.durationSec), fmt(r.forwardMs / 1000 / r.durationSec), fmt(r.decodeMs / 1000 / r.durationSec), fmt(total / r.durationSec)];
  cells.forEach((c, i) => {
    const td = document.createElement('td');
    td.textContent = c;
    if (i >= 2) td.className = 'num';
    tr.appendChild(td);
  });
  $('results').appendChild(tr);
  if (rec) {
    $('hyp').textContent = rec.words.join(' ') || '(nothing recognised)';
    drawRecognition($<HTMLCanvasElement>('plot'), rec);
  }
  updateTotals();
}

async function record(name: string, source: PageResult['source'], run: () => Promise<Recognition>): Promise<void> {
  try {
    const rec = await run();
    addResult({ name, source, words: rec.words, reachedFinal: rec.reachedFinal, durationSec: rec.durationSec, numFrames: rec.numFrames, ...rec.timings }, rec);
  } catch (e) {
    addResult({ name, source, words: [], reachedFinal: false, durationSec: 0, numFrames: 0, featuresMs: 0, forwardMs: 0, decodeMs: 0, error: (e as Error).message });
  }
}

async function recognizeFiles(files: Iterable<File>): Promise<void> {
  const list = [...files];
  state.pending += list.length;
  $('state').textContent = `recognising ${list.length} file(s)`;
  for (const f of list) {
    const bytes = new Uint8Array(await f.arrayBuffer());
    await record(f.name, 'file', () => recognizer.recognizeWav(bytes, f.name));
    state.pending--;
    // Let the page paint between utterances.
    await new Promise((r) => setTimeout(r, 0));
  }
  $('state').textContent = 'ready';
}

let stopMic: (() => void) | undefined;

async function startMic(): Promise<void> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
  const ctx = new AudioContext();
  const src = ctx.createMediaStreamSource(stream);
  // ScriptProcessor is deprecated but needs no separate worklet module; capture only, nothing is played.
  const proc = ctx.createScriptProcessor(4096, 1, 1);
  const chunks: Float32Array[] = [];
  proc.onaudioprocess = (e) => chunks.push(new Float32Array(e.inputBuffer.getChannelData(0)));
  src.connect(proc);
  proc.connect(ctx.destination);
  const btn = $<HTMLButtonElement>('mic');
  btn.textContent = 'Stop and recognise';
  $('state').textContent = `recording at ${ctx.sampleRate} Hz`;
  stopMic = () => {
    stopMic = undefined;
    proc.disconnect();
    src.disconnect();
    stream.getTracks().forEach((t) => t.stop());
    const n = chunks.reduce((s, c) => s + c.length, 0);
    const x = new Float32Array(n);
    let o = 0;
    for (const c of chunks) (x.set(c, o), (o += c.length));
    const rate = ctx.sampleRate;
    void ctx.close();
    btn.textContent = 'Record from the microphone';
    void record(`microphone ${(n / rate).toFixed(1)} s`, 'microphone', () => recognizer.recognizeSamples(x, rate, 'microphone')).then(() => ($('state').textContent = 'ready'));
  };
}

async function main(): Promise<void> {
  const manifestUrl = new URL(params.get('manifest') ?? RECOGNIZER_FILE, location.href).href;
  // The tfjs backend first: the frontend and a TF.js model run on it (an ONNX model's forward pass does not).
  const tfjsBackend = await chooseBackend();
  const assets = await fetchRecognizerAssets(manifestUrl, loadFrameModel);
  recognizer = new Recognizer(assets);
  state.backend = recognizer.runtime ?? tfjsBackend;
  $('backend').textContent = state.backend;
  await recognizer.warmUp();
  $('model').textContent = `${String(assets.manifest.source?.model ?? manifestUrl)} (${recognizer.numClasses} pdfs, ${assets.manifest.sampleRateHz} Hz)`;
  const input = $<HTMLInputElement>('files');
  input.addEventListener('change', () => {
    if (input.files?.length) void recognizeFiles(input.files).then(() => (input.value = ''));
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => (e.preventDefault(), drop.classList.add('over')));
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer?.files.length) void recognizeFiles(e.dataTransfer.files);
  });
  const mic = $<HTMLButtonElement>('mic');
  mic.disabled = !navigator.mediaDevices?.getUserMedia;
  mic.addEventListener('click', () => {
    if (stopMic) stopMic();
    else startMic().catch(showError);
  });
  state.ready = true;
  $('state').textContent = 'ready';
}

main().catch((e) => {
  showError(e);
  $('state').textContent = 'failed';
});
