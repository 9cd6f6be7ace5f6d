import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECOGNIZER_FILE, RECOGNIZER_FORMAT, type RecognizerManifest } from './recognizer.js';
import { routeOf, startDemoServer, type DemoServer } from './server.js';
import type { ModelSite } from './site.js';

describe('routeOf', () => {
  it('maps plain origin-form paths to file keys', () => {
    expect(routeOf('/')).toBe('index.html');
    expect(routeOf('/app.js?v=1')).toBe('app.js');
    expect(routeOf('/model/model.json')).toBe('model/model.json');
    expect(routeOf('/model/weights%20a.bin')).toBe('model/weights a.bin');
  });
  it('rejects traversal in every spelling, absolute-form and protocol-relative URLs', () => {
    for (const u of ['/../etc/passwd', '/model/../../x', '/%2e%2e/x', '/%2E%2E/%2e%2e/etc/passwd', '/model/%2e%2e%2fkdasr.json', '/a%5c..%5cb', '/./index.html', '//etc/passwd', 'http://127.0.0.1/index.html', '/%00', '/%zz', undefined])
      expect(routeOf(u), String(u)).toBeNull();
  });
});

/** A raw HTTP/1.1 request line, so the request target reaches the server exactly as written (no client normalising). */
function rawGet(port: number, target: string): Promise<{ status: number; head: string; body: string }> {
  return new Promise((ok, fail) => {
    const s = connect(port, '127.0.0.1', () => s.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`));
    let data = '';
    s.on('data', (d) => (data += d.toString('latin1')));
    s.on('end', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      ok({ status: Number(head.split(' ')[1]), head, body: rest.join('\r\n\r\n') });
    });
    s.on('error', fail);
  });
}

describe('demo server', () => {
  let dir: string;
  let server: DemoServer;
  const manifest: RecognizerManifest = {
    format: RECOGNIZER_FORMAT,
    version: 1,
    sampleRateHz: 8000,
    features: { kind: 'fbank' },
    decode: { acousticScale: 0.1, lmWeight: 1, wordInsertionPenalty: 0, beam: 13, priorScale: 1, silenceProb: 0.5 },
    files: { model: 'model/model.json', sidecar: 'model/kdasr.json', lang: 'lang.json', lmText: 'lm-text.txt' },
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kdasr-web-server-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(dir, 'app.js'), 'console.log(1)');
    writeFileSync(join(dir, 'model.json'), '{"modelTopology":{}}');
    writeFileSync(join(dir, 'secret.txt'), 'not served');
    const site: ModelSite = { manifest, files: new Map([['model/model.json', join(dir, 'model.json')]]) };
    server = await startDemoServer({ site, bundleDir: dir });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('binds to 127.0.0.1 by default', () => {
    expect(server.host).toBe('127.0.0.1');
    expect(server.server.address()).toMatchObject({ address: '127.0.0.1' });
  });

  it('serves the page, the manifest and the model files with the cross-origin isolation headers', async () => {
    const page = await rawGet(server.port, '/');
    expect(page.status).toBe(200);
    expect(page.head).toMatch(/cross-origin-opener-policy: same-origin/i);
    expect(page.head).toMatch(/cross-origin-embedder-policy: require-corp/i);
    expect(page.head).toMatch(/content-type: text\/html/i);
    const m = await rawGet(server.port, `/${RECOGNIZER_FILE}`);
    expect(JSON.parse(m.body)).toEqual(manifest);
    expect((await rawGet(server.port, '/model/model.json')).body).toBe('{"modelTopology":{}}');
    const wasm = await rawGet(server.port, '/wasm/tfjs-backend-wasm-simd.wasm');
    expect(wasm.status).toBe(200);
    expect(wasm.head).toMatch(/content-type: application\/wasm/i);
  });

  it('answers 404 to any other path, traversal (plain or %2e%2e-encoded) and absolute URLs', async () => {
    for (const target of ['/secret.txt', '/../secret.txt', '/model/../secret.txt', '/%2e%2e/secret.txt', '/model/%2e%2e/secret.txt', '/model%2f..%2fsecret.txt', '//secret.txt', `http://127.0.0.1:${server.port}/index.html`, '/package.json', '/wasm/../../package.json']) {
      const r = await rawGet(server.port, target);
      expect(r.status, target).toBe(404);
      expect(r.body, target).not.toContain('not served');
    }
  });

  it('answers 404 to methods other than GET and HEAD', async () => {
    const status = await new Promise<number>((ok, fail) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: '/', method: 'POST' }, (res) => (res.resume(), ok(res.statusCode ?? 0)));
      req.on('error', fail);
      req.end('x');
    });
    expect(status).toBe(404);
  });
});
