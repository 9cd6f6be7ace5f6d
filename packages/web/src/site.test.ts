import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FeatureArchiveWriter } from '@kdasr/audio-features';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseRecognizerManifest } from './recognizer.js';
import { ORT_WASM_FILE, modelSite, writeStaticSite } from './site.js';

/** A kdasr train-shaped EXPDIR with placeholder model files and a one-entry feature archive at 8 kHz. */
function makeExpDir(root: string, weights: string[] = ['weights.bin']): string {
  const exp = join(root, 'exp');
  mkdirSync(join(exp, 'model'), { recursive: true });
  writeFileSync(join(exp, 'model', 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: weights, weights: [] }] }));
  for (const w of weights) if (!w.includes('..')) writeFileSync(join(exp, 'model', w), new Uint8Array(8));
  writeFileSync(join(exp, 'model', 'kdasr.json'), JSON.stringify({ kind: 'kdasr-acoustic-model', config: {} }));
  writeFileSync(join(exp, 'lang.json'), '{}');
  writeFileSync(join(exp, 'lm-text.txt'), 'one two\n');
  const feats = join(root, 'feats');
  const w = FeatureArchiveWriter.open(feats, { config: { kind: 'fbank', options: {}, waveformScale: 32768, channel: 'mix', deltas: null } });
  w.append('u1', { data: new Float32Array(4), numFrames: 1, numCols: 4 }, { sampleRateHz: 8000 });
  w.close();
  writeFileSync(join(exp, 'train.json'), JSON.stringify({ feats }));
  return exp;
}

describe('modelSite', () => {
  let root: string;
  beforeEach(() => void (root = mkdtempSync(join(tmpdir(), 'kdasr-web-site-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('maps exactly the model files and writes a manifest the page accepts (rate and features from the archive)', () => {
    const site = modelSite({ modelDir: makeExpDir(root), decode: { acousticScale: 0.05 } });
    expect([...site.files.keys()].sort()).toEqual(['lang.json', 'lm-text.txt', 'model/kdasr.json', 'model/model.json', 'model/weights.bin']);
    const m = parseRecognizerManifest(JSON.parse(JSON.stringify(site.manifest)), 'recognizer.json');
    expect(m.sampleRateHz).toBe(8000);
    expect(m.features).toMatchObject({ kind: 'fbank', waveformScale: 32768 });
    expect(m.decode.acousticScale).toBe(0.05);
    expect(m.decode.beam).toBe(13);
    expect(m.files.tree).toBeUndefined();
  });

  it('refuses weights paths that leave the model directory, ensembles and missing files, naming the file', () => {
    expect(() => modelSite({ modelDir: makeExpDir(root, ['../../secret.bin']) })).toThrow(/model\.json weightsManifest: weights path "\.\.\/\.\.\/secret\.bin" leaves the model directory/);
    rmSync(join(root, 'exp'), { recursive: true });
    rmSync(join(root, 'feats'), { recursive: true });
    const exp = makeExpDir(root);
    rmSync(join(exp, 'lm-text.txt'));
    expect(() => modelSite({ modelDir: exp })).toThrow(/lm-text\.txt does not exist/);
    const ens = join(root, 'ens');
    mkdirSync(join(ens, 'member-0', 'model'), { recursive: true });
    expect(() => modelSite({ modelDir: ens })).toThrow(/is an ensemble/);
  });

  it('an ONNX export: model.onnx, export.json as the sidecar and onnxruntime-web\'s wasm binary; export.json needs its acoustic block', () => {
    const exp = makeExpDir(root);
    rmSync(join(exp, 'model'), { recursive: true });
    writeFileSync(join(exp, 'model.onnx'), new Uint8Array(16));
    writeFileSync(join(exp, 'export.json'), JSON.stringify({ kind: 'kdasr-export', config: {} }));
    expect(() => modelSite({ modelDir: exp })).toThrow(/export\.json: no "acoustic" block/);
    writeFileSync(join(exp, 'export.json'), JSON.stringify({ kind: 'kdasr-export', config: {}, acoustic: { inventory: {}, frontend: {} } }));
    const site = modelSite({ modelDir: exp });
    expect([...site.files.keys()].sort()).toEqual(['export.json', 'lang.json', 'lm-text.txt', 'model/model.onnx', `ort/${ORT_WASM_FILE}`]);
    expect(existsSync(site.files.get(`ort/${ORT_WASM_FILE}`)!)).toBe(true);
    const m = parseRecognizerManifest(JSON.parse(JSON.stringify(site.manifest)), 'recognizer.json');
    expect(m.files).toMatchObject({ model: 'model/model.onnx', modelFormat: 'onnx', sidecar: 'export.json' });
  });

  it('writes the static site: bundle, wasm binaries, manifest and model files, nothing else', async () => {
    const bundle = join(root, 'bundle');
    mkdirSync(bundle);
    writeFileSync(join(bundle, 'index.html'), '<!doctype html>');
    writeFileSync(join(bundle, 'app.js'), '');
    const out = join(root, 'site');
    const files = await writeStaticSite(modelSite({ modelDir: makeExpDir(root) }), bundle, out);
    expect(files).toContain('wasm/tfjs-backend-wasm-threaded-simd.wasm');
    expect(files).toContain('recognizer.json');
    for (const f of files) expect(existsSync(join(out, f)), f).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'recognizer.json'), 'utf8')).format).toBe('kdasr-recognizer');
  });
});
