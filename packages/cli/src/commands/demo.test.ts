import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FeatureArchiveWriter } from '@kdasr/audio-features';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../../../..');
const dir = mkdtempSync(join(tmpdir(), 'kdasr-demo-'));
let child: ChildProcess | undefined;
afterAll(() => {
  if (child?.pid && child.exitCode === null) process.kill(child.pid, 'SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

/** A kdasr train-shaped EXPDIR (placeholder model files: the server only maps them). */
function expDir(): string {
  const exp = join(dir, 'exp');
  mkdirSync(join(exp, 'model'), { recursive: true });
  writeFileSync(join(exp, 'model', 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['weights.bin'], weights: [] }] }));
  writeFileSync(join(exp, 'model', 'weights.bin'), new Uint8Array(8));
  writeFileSync(join(exp, 'model', 'kdasr.json'), '{}');
  writeFileSync(join(exp, 'lang.json'), '{}');
  writeFileSync(join(exp, 'lm-text.txt'), 'one\n');
  const w = FeatureArchiveWriter.open(join(dir, 'feats'), { config: { kind: 'fbank' } });
  w.append('u', { data: new Float32Array(2), numFrames: 1, numCols: 2 }, { sampleRateHz: 8000 });
  w.close();
  writeFileSync(join(exp, 'train.json'), JSON.stringify({ feats: join(dir, 'feats') }));
  return exp;
}

function get(url: string, path: string): Promise<{ status: number; headers: Record<string, unknown> }> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, method: 'GET' }, (res) => (res.resume(), ok({ status: res.statusCode ?? 0, headers: res.headers })));
    req.on('error', fail);
    req.end();
  });
}

describe('kdasr demo', () => {
  it('builds the bundle, serves the page on 127.0.0.1 with COOP/COEP and 404s traversal; stops on SIGTERM', async () => {
    // main.ts directly (the bin re-executes node, which would leave a grandchild behind a signal).
    const tsx = createRequire(import.meta.url).resolve('tsx');
    child = spawn(process.execPath, ['--conditions=@kdasr/source', '--import', tsx, join(root, 'packages/cli/src/main.ts'), 'demo', '--model', expDir(), '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const url = await new Promise<string>((ok, fail) => {
      let out = '';
      child!.stdout!.on('data', (d) => {
        out += d;
        const m = /http:\/\/\S+\//.exec(out);
        if (m) ok(m[0]);
      });
      child!.on('exit', (code) => fail(new Error(`kdasr demo exited ${code}: ${stderr}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(url, '/');
    expect(page.status).toBe(200);
    expect(page.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(page.headers['cross-origin-embedder-policy']).toBe('require-corp');
    expect((await get(url, '/app.js')).status).toBe(200);
    expect((await get(url, '/model/weights.bin')).status).toBe(200);
    for (const p of ['/%2e%2e/package.json', '/../package.json', '/model/../train.json', '/train.json']) expect((await get(url, p)).status, p).toBe(404);
    const exited = new Promise<number | null>((ok) => child!.on('exit', (code) => ok(code)));
    process.kill(child.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
  }, 180_000);

  it('says what --model must hold', async () => {
    const tsx = createRequire(import.meta.url).resolve('tsx');
    const p = spawn(process.execPath, ['--conditions=@kdasr/source', '--import', tsx, join(root, 'packages/cli/src/main.ts'), 'demo', '--model', dir], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((ok) => p.on('exit', ok));
    expect(code).not.toBe(0);
    expect(err).toMatch(/model\/kdasr\.json does not exist; --model must be a kdasr train/);
  }, 60_000);
});
