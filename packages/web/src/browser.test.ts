/// <reference lib="dom" />
/**
 * The recogniser in a real Chromium (Debian's, driven by playwright-core; nothing downloads a browser): a small FSDD
 * model made by the CLI (corpus fsdd -> features -> train), its test split decoded by `kdasr decode` in Node, then
 * every test WAV fed to the page through its file input and one utterance through the microphone (Chromium's fake
 * capture device playing a WAV). The page's hypotheses must equal Node's, utterance by utterance.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeWav, encodeWav, resample } from '@kdasr/audio-features';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browserTiming, feedFiles, findChromium, formatBrowserTiming, launchChromium, openRecognizerPage, pageResults, runDemo, type DemoServer, type PageResult } from './index.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..', '..');
const FSDD = process.env.KDASR_FSDD_DIR ?? resolve(root, '..', 'shared', 'data', 'fsdd');
// The README's screenshot: rewritten only when asked (KDASR_UPDATE_SCREENSHOT=1) or missing, so a test run leaves
// the tracked file alone; every run saves its own beside its work files.
const SCREENSHOT = join(here, '..', 'docs', 'screenshot.png');
const QUANTIZED = ['float16', 'uint8'] as const;

const chromiumPath = findChromium();
const fsddOk = existsSync(join(FSDD, 'recordings'));
const skipWhy = !fsddOk ? `FSDD is absent (${FSDD}/recordings; set KDASR_FSDD_DIR)` : !chromiumPath ? 'no chromium binary on PATH (apt-get install chromium, or set KDASR_CHROMIUM)' : '';
if (skipWhy) console.warn(`browser.test.ts skipped: ${skipWhy}`);

function kdasr(args: string[]): string {
  const r = spawnSync(process.execPath, [join(root, 'packages', 'cli', 'bin', 'kdasr.mjs'), ...args], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`kdasr ${args.join(' ')} failed (${r.status}):\n${r.stderr.slice(-3000)}`);
  return r.stdout;
}

const readJsonl = <T>(f: string): T[] => readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
const kaldiText = (f: string): Map<string, string[]> => new Map(readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => { const [id, ...w] = l.trim().split(/\s+/); return [id, w]; }));

/** Utterances where the page's words differ from Node's hyp.txt. */
function mismatches(results: PageResult[], node: Map<string, string[]>): string[] {
  return results
    .map((r) => ({ id: r.name.replace(/\.wav$/, ''), page: r.words.join(' ') }))
    .filter((r) => r.page !== node.get(r.id)?.join(' '))
    .map((r) => `${r.id}: page "${r.page}", node "${node.get(r.id)?.join(' ')}"`);
}

describe.skipIf(Boolean(skipWhy))('the page in Chromium on FSDD', () => {
  let work: string;
  let server: DemoServer | undefined;
  let testWavs: { id: string; path: string }[];
  let nodeHyp: Map<string, string[]>;
  let ref: Map<string, string[]>;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'kdasr-web-fsdd-'));
    const corpus = join(work, 'corpus');
    kdasr(['corpus', 'fsdd', '--src', FSDD, '--out', corpus]);
    // FSDD's connected utterances come with exact word times; as whole-word "phones" they give train frame labels
    // directly (one training pass instead of flat start + realignment, to keep the test short).
    const aliFile = join(corpus, 'connected', 'train', 'alignments.jsonl');
    const alis = readJsonl<{ words: { word: string; startSec: number; endSec: number }[] }>(aliFile);
    writeFileSync(aliFile, alis.map((a) => JSON.stringify({ ...a, phones: a.words.map((w, i) => ({ phone: w.word, startSec: w.startSec, endSec: w.endSec, wordIndex: i })) })).join('\n') + '\n');
    const lists: Record<string, { id: string; path: string }[]> = {};
    for (const s of ['train', 'test']) {
      const d = join(corpus, 'connected', s);
      lists[s] = readJsonl<{ id: string; path: string }>(join(d, 'recordings.jsonl')).map((r) => ({ id: r.id, path: resolve(d, r.path) }));
      writeFileSync(join(work, `wav-${s}.scp`), lists[s].map((r) => `${r.id} ${r.path}`).join('\n') + '\n');
      kdasr(['features', '--input', join(work, `wav-${s}.scp`), '--out', join(work, `feats-${s}`), '--jobs', '2']);
    }
    testWavs = lists.test;
    kdasr(['train', '--corpus', join(corpus, 'connected', 'train'), '--feats', join(work, 'feats-train'), '--exp', join(work, 'exp'), '--whole-word', '8', '--hidden-layers', '2', '--hidden-units', '128', '--context', '5,5', '--epochs', '4']);
    kdasr(['decode', '--model', join(work, 'exp'), '--corpus', join(corpus, 'connected', 'test'), '--feats', join(work, 'feats-test'), '--out', join(work, 'decode')]);
    nodeHyp = kaldiText(join(work, 'decode', 'hyp.txt'));
    ref = kaldiText(join(work, 'decode', 'ref.txt'));
    // The quantized variants the page must also read (stock TF.js weight manifests), each decoded by Node too.
    for (const dtype of QUANTIZED) {
      kdasr(['export', '--model', join(work, 'exp'), '--out', join(work, `exp-${dtype}`), '--dtype', dtype]);
      kdasr(['decode', '--model', join(work, `exp-${dtype}`), '--corpus', join(corpus, 'connected', 'test'), '--feats', join(work, 'feats-test'), '--out', join(work, `decode-${dtype}`)]);
    }
  }, 900_000);

  afterAll(async () => {
    await server?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('recognises every test utterance (file input) and one from the microphone exactly as kdasr decode does', async () => {
    // The microphone utterance: one Node recognises correctly, padded with silence, at a capture device's 48 kHz.
    const micId = testWavs.map((w) => w.id).find((id) => nodeHyp.get(id)!.join(' ') === ref.get(id)!.join(' ') && ref.get(id)!.length >= 3)!;
    expect(micId, 'no test utterance that Node decodes correctly').toBeDefined();
    const a = decodeWav(readFileSync(testWavs.find((w) => w.id === micId)!.path));
    const up = resample(a.samples, a.sampleRateHz, 48000);
    const padded = new Float32Array(Math.round(48000 * 0.4) + up.length + Math.round(48000 * 3));
    padded.set(up, Math.round(48000 * 0.4));
    const micWav = join(work, 'mic.wav');
    writeFileSync(micWav, encodeWav(padded, 48000));
    const micSeconds = padded.length / 48000;

    ({ server } = await runDemo({ modelDir: join(work, 'exp'), port: 0 }));
    const browser = await launchChromium({
      executablePath: chromiumPath,
      args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${micWav}%noloop`, '--autoplay-policy=no-user-gesture-required'],
    });
    try {
      const { context } = browser;
      await context.grantPermissions(['microphone'], { origin: server!.url });
      const { page, backend, isolated, pageErrors } = await openRecognizerPage(context, server!.url);
      expect(isolated).toBe(true);
      expect(backend).toMatch(/^wasm \(SIMD/);

      const results = await feedFiles(page, testWavs.map((w) => w.path));
      expect(results.filter((r) => r.error)).toEqual([]);
      expect(mismatches(results, nodeHyp)).toEqual([]);
      expect(results.length).toBe(nodeHyp.size);
      console.log(formatBrowserTiming(`browser float32 (${backend})`, browserTiming(results)));

      // The microphone: press, let the fake device play the file, press again.
      await page.click('#mic');
      await page.waitForFunction(() => /recording/.test(document.getElementById('state')?.textContent ?? ''), null, { timeout: 20_000 });
      await page.waitForTimeout(Math.round((micSeconds - 1.5) * 1000));
      await page.click('#mic');
      await page.waitForFunction((n) => (window as unknown as { kdasr: { results: unknown[] } }).kdasr.results.length > n, testWavs.length, { timeout: 30_000 });
      const mic = (await pageResults(page)).at(-1)!;
      expect(mic.source).toBe('microphone');
      expect(mic.error).toBeUndefined();
      expect(mic.words.join(' '), `microphone (${micId}, ${mic.durationSec.toFixed(2)} s captured)`).toBe(ref.get(micId)!.join(' '));
      expect(pageErrors).toEqual([]);

      const shot = join(work, 'screenshot.png');
      await page.screenshot({ path: shot, fullPage: false });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      if (process.env.KDASR_UPDATE_SCREENSHOT === '1' || !existsSync(SCREENSHOT)) {
        mkdirSync(dirname(SCREENSHOT), { recursive: true });
        copyFileSync(shot, SCREENSHOT);
      }

      // float16 / uint8 exports: the page reads their weight manifests with plain tf.loadLayersModel and decodes
      // exactly as `kdasr decode` does on the same export.
      for (const dtype of QUANTIZED) {
        const q = await runDemo({ modelDir: join(work, `exp-${dtype}`), port: 0 });
        try {
          const { page: qpage } = await openRecognizerPage(context, q.server!.url);
          const qr = await feedFiles(qpage, testWavs.map((w) => w.path));
          expect(qr.filter((r) => r.error)).toEqual([]);
          expect(mismatches(qr, kaldiText(join(work, `decode-${dtype}`, 'hyp.txt'))), dtype).toEqual([]);
          console.log(formatBrowserTiming(`browser ${dtype}`, browserTiming(qr)));
          await qpage.close();
        } finally {
          await q.server!.close();
        }
      }
    } finally {
      await browser.close();
    }
  }, 600_000);

  it('kdasr export --report --browser: the deployment table runs each variant (TF.js and ONNX) in the page, hypotheses equal to Node\'s', async () => {
    const out = join(work, 'deploy');
    const table = kdasr(['export', '--report', '--browser', ...(chromiumPath ? ['--chromium', chromiumPath] : []), '--model', `m=${join(work, 'exp')}`, '--variants', 'float32,uint8,onnx', '--corpus', join(work, 'corpus', 'connected', 'test'), '--feats', join(work, 'feats-test'), '--out', out]);
    console.log(table);
    expect(table).toMatch(/frames\/s \(browser\)/);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { utterances: number; rows: { variant: string; framesPerSecond: number; browser: { skipped?: string; matchesNode?: number; utterances?: number; forwardFramesPerSecond?: number; realTimeFactor?: number; runtime?: string } }[] };
    expect(report.rows.map((r) => r.variant)).toEqual(['float32', 'uint8', 'onnx']);
    for (const r of report.rows) {
      expect(r.browser.skipped, r.variant).toBeUndefined();
      // Same page, same model bytes as Node decodes (tfjs, or ONNX in onnxruntime-web against onnxruntime-node):
      // every hypothesis equal.
      expect(r.browser.matchesNode, r.variant).toBe(report.utterances);
      expect(r.browser.utterances).toBe(nodeHyp.size);
      expect(r.browser.forwardFramesPerSecond).toBeGreaterThan(100);
      expect(r.browser.realTimeFactor).toBeGreaterThan(0);
      expect(r.browser.realTimeFactor).toBeLessThan(1);
      expect(r.browser.runtime).toMatch(r.variant === 'onnx' ? /^Chromium \d+.*, onnxruntime-web \d+\.\d+\.\d+ \(wasm, SIMD, 1 thread\)$/ : /^Chromium \d+.*tfjs wasm/);
    }
  }, 600_000);

  it('falls back to webgl and cpu (?backend=): same hypotheses as Node on the first 10 utterances', async () => {
    const { server: srv } = await runDemo({ modelDir: join(work, 'exp'), port: 0 });
    const browser = await launchChromium({ executablePath: chromiumPath });
    try {
      const first = testWavs.slice(0, 10);
      // Headless Chromium has no GPU here: WebGL runs on SwiftShader (software), slow but the same arithmetic.
      for (const [want, shown] of [['webgl', /^webgl \(float32 textures\)$/], ['cpu', /^cpu$/]] as const) {
        const { page, backend } = await openRecognizerPage(browser.context, `${srv!.url}?backend=${want}`);
        expect(backend).toMatch(shown);
        const results = await feedFiles(page, first.map((w) => w.path));
        expect(results.filter((r) => r.error)).toEqual([]);
        expect(mismatches(results, nodeHyp), want).toEqual([]);
        await page.close();
      }
    } finally {
      await browser.close();
      await srv!.close();
    }
  }, 300_000);
});
