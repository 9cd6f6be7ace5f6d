/**
 * Driving the page in a real Chromium from Node (Debian's binary through playwright-core, which downloads no
 * browser): serve a model's page, wait for it to load, feed it WAV files through its file input, read back its
 * results (hypotheses and per-stage timings). The browser test and `kdasr export --report --browser` use it.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runDemo } from './demo.js';
import type { WordDecodeSettings } from '@kdasr/experiments';
import type { PageResult } from './page-result.js';
import type { ModelSiteOptions } from './site.js';

type Playwright = typeof import('playwright-core');
export type BrowserContext = import('playwright-core').BrowserContext;
export type Page = import('playwright-core').Page;

interface PageState {
  ready: boolean;
  error?: string;
  backend?: string;
  results: PageResult[];
}

/** KDASR_CHROMIUM, else chromium / chromium-browser on PATH. */
export function findChromium(): string | undefined {
  if (process.env.KDASR_CHROMIUM) return process.env.KDASR_CHROMIUM;
  for (const d of (process.env.PATH ?? '').split(delimiter))
    for (const n of ['chromium', 'chromium-browser']) if (d && existsSync(join(d, n))) return join(d, n);
  return undefined;
}

export interface ChromiumOptions {
  /** The browser binary (default: findChromium()). */
  executablePath?: string;
  /** Extra command-line switches (e.g. the fake capture device). */
  args?: string[];
}

/** Headless Chromium (`--headless=new --no-sandbox`, which root needs) and one context; close() ends both. */
export async function launchChromium(o: ChromiumOptions = {}): Promise<{ context: BrowserContext; version: string; close(): Promise<void> }> {
  const executablePath = o.executablePath ?? findChromium();
  if (!executablePath) throw new Error('no chromium binary: apt-get install chromium, or set KDASR_CHROMIUM=/path/to/chromium');
  const { chromium } = (await import('playwright-core')) as Playwright;
  const browser = await chromium.launch({ executablePath, args: ['--headless=new', '--no-sandbox', ...(o.args ?? [])] });
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  return { context, version: browser.version(), close: () => browser.close() };
}

/** Open the page at `url` and wait until it has loaded its model; its backend line, or the page's error. */
export async function openRecognizerPage(context: BrowserContext, url: string): Promise<{ page: Page; backend: string; isolated: boolean; pageErrors: string[] }> {
  const page = await context.newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => { const k = (globalThis as unknown as { kdasr: PageState }).kdasr; return k.ready || k.error; }, null, { timeout: 120_000 });
  const info = await page.evaluate(() => { const k = (globalThis as unknown as { kdasr: PageState }).kdasr; return { backend: k.backend ?? '', error: k.error, isolated: Boolean((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated) }; });
  if (info.error) {
    await page.close();
    throw new Error(`the page at ${url} failed to load its model: ${info.error}`);
  }
  return { page, backend: info.backend, isolated: info.isolated, pageErrors };
}

/** The page's results so far. */
export function pageResults(page: Page): Promise<PageResult[]> {
  return page.evaluate(() => (globalThis as unknown as { kdasr: PageState }).kdasr.results);
}

/** Feed WAV files to the page's file input; its results for them, in order. */
export async function feedFiles(page: Page, paths: string[], timeoutMs = 600_000): Promise<PageResult[]> {
  const before = (await pageResults(page)).length;
  await page.setInputFiles('#files', paths);
  await page.waitForFunction((n) => (globalThis as unknown as { kdasr: PageState }).kdasr.results.length >= n, before + paths.length, { timeout: timeoutMs, polling: 250 });
  return (await pageResults(page)).slice(before);
}

export interface BrowserTiming {
  utterances: number;
  audioSec: number;
  frames: number;
  /** Seconds spent in each stage, summed over utterances. */
  featuresSec: number;
  forwardSec: number;
  decodeSec: number;
  /** Real-time factors (seconds of compute per second of audio). */
  rtf: { features: number; forward: number; decode: number; total: number };
  framesPerSecond: { forward: number; total: number };
}

/** Totals over the page's (successful) results. */
export function browserTiming(results: readonly PageResult[]): BrowserTiming {
  const ok = results.filter((r) => !r.error);
  const audioSec = ok.reduce((s, r) => s + r.durationSec, 0);
  const frames = ok.reduce((s, r) => s + r.numFrames, 0);
  const sec = (k: 'featuresMs' | 'forwardMs' | 'decodeMs') => ok.reduce((s, r) => s + r[k], 0) / 1000;
  const [featuresSec, forwardSec, decodeSec] = [sec('featuresMs'), sec('forwardMs'), sec('decodeMs')];
  const total = featuresSec + forwardSec + decodeSec;
  return {
    utterances: ok.length,
    audioSec,
    frames,
    featuresSec,
    forwardSec,
    decodeSec,
    rtf: { features: featuresSec / audioSec, forward: forwardSec / audioSec, decode: decodeSec / audioSec, total: total / audioSec },
    framesPerSecond: { forward: frames / forwardSec, total: frames / total },
  };
}

export function formatBrowserTiming(label: string, t: BrowserTiming): string {
  const f = (x: number) => x.toFixed(4);
  return `${label}: ${t.utterances} utterances, ${t.audioSec.toFixed(1)} s audio, ${t.frames} frames; RTF features ${f(t.rtf.features)}, forward ${f(t.rtf.forward)}, decode ${f(t.rtf.decode)}, total ${f(t.rtf.total)}; ${Math.round(t.framesPerSecond.total)} frames/s (features + forward + decode), forward alone ${Math.round(t.framesPerSecond.forward)} frames/s`;
}

export interface BrowserRecognition {
  backend: string;
  isolated: boolean;
  results: PageResult[];
  timing: BrowserTiming;
}

/**
 * Serve one model's page on a loopback port, recognise `wavs` through its file input in `context`, and close the
 * page and the server. Errors of the page (a file it could not read, a script error) are thrown, naming the file.
 */
export async function recognizeInBrowser(context: BrowserContext, site: ModelSiteOptions & { bundleDir?: string }, wavs: string[]): Promise<BrowserRecognition> {
  const { server } = await runDemo({ ...site, host: '127.0.0.1', port: 0 });
  try {
    const { page, backend, isolated, pageErrors } = await openRecognizerPage(context, server!.url);
    try {
      const results = await feedFiles(page, wavs);
      const failed = results.filter((r) => r.error);
      if (failed.length) throw new Error(`the page failed on ${failed.length} of ${results.length} files, first ${failed[0].name}: ${failed[0].error}`);
      if (pageErrors.length) throw new Error(`the page raised: ${pageErrors.join('; ')}`);
      return { backend, isolated, results, timing: browserTiming(results) };
    } finally {
      await page.close();
    }
  } finally {
    await server!.close();
  }
}

/**
 * One Chromium for many page runs: `measure` recognises the WAV files with a model directory's page (the shape of
 * @kdasr/export's BrowserMeasure, so `kdasr export --report --browser` hands it to the deployment table).
 */
export async function browserMeasure(o: ChromiumOptions = {}): Promise<{
  measure(run: { dir: string; wavs: string[]; feats: string; settings: Partial<WordDecodeSettings> }): Promise<{ runtime: string; framesPerSecond: number; forwardFramesPerSecond: number; realTimeFactor: number; words: string[][] }>;
  close(): Promise<void>;
}> {
  const chromium = await launchChromium(o);
  return {
    async measure(run) {
      const r = await recognizeInBrowser(chromium.context, { modelDir: run.dir, feats: run.feats, decode: run.settings }, run.wavs);
      return {
        // The page's backend line: the tfjs backend, or the ONNX Runtime that ran an ONNX model.
        runtime: `Chromium ${chromium.version}, ${r.backend.startsWith('onnxruntime') ? r.backend : `tfjs ${r.backend}`}`,
        framesPerSecond: r.timing.framesPerSecond.total,
        forwardFramesPerSecond: r.timing.framesPerSecond.forward,
        realTimeFactor: r.timing.rtf.total,
        words: r.results.map((x) => x.words),
      };
    },
    close: () => chromium.close(),
  };
}
