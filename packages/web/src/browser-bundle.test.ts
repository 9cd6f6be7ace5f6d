import { mkdtempSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { describe, expect, it } from 'vitest';
import { APP_DIR, BROWSER_BUILD, buildBundle } from './build.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const builtins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/** Bundle `contents` for the browser; every import of a Node built-in (node:fs, fs, path, ...) with its importer. */
async function bundleForBrowser(contents: string): Promise<{ nodeImports: string[]; errors: string[]; inputs: string[] }> {
  const nodeImports: string[] = [];
  const plugin: esbuild.Plugin = {
    name: 'find-node-builtins',
    setup(b) {
      b.onResolve({ filter: /.*/ }, (a) => {
        if (builtins.has(a.path) || a.path.startsWith('node:')) {
          const from = relative(root, a.importer);
          // tfjs' own packages map fs/path/worker_threads to false for browsers through their `browser` fields;
          // esbuild honours that, and onResolve sees the request first: only our sources are checked here.
          if (!from.includes('node_modules')) nodeImports.push(`${from} imports "${a.path}"`);
        }
        return undefined;
      });
    },
  };
  try {
    const r = await esbuild.build({ ...BROWSER_BUILD, stdin: { contents, resolveDir: root, loader: 'ts', sourcefile: 'entry.ts' }, write: false, metafile: true, plugins: [plugin] });
    return { nodeImports, errors: [], inputs: Object.keys(r.metafile.inputs) };
  } catch (e) {
    return { nodeImports, errors: ((e as { errors?: esbuild.Message[] }).errors ?? []).map((m) => `${m.location?.file ?? ''}: ${m.text}`), inputs: [] };
  }
}

describe('browser bundles (esbuild, platform browser, conditions browser + @kdasr/source)', () => {
  for (const pkg of ['@kdasr/base', '@kdasr/audio-features', '@kdasr/decoding', '@kdasr/acoustic-models', '@kdasr/experiments'])
    it(`${pkg}'s browser entry reaches no Node built-in`, async () => {
      const r = await bundleForBrowser(`export * from '${pkg}';`);
      expect(r.nodeImports).toEqual([]);
      expect(r.errors).toEqual([]);
      expect(r.inputs.some((i) => i.endsWith('src/browser.ts'))).toBe(true);
    });

  it('the page (src/app/main.ts: features, forward pass, priors, graph, Viterbi) reaches no Node built-in', async () => {
    const r = await bundleForBrowser(`import '${join(APP_DIR, 'main.ts').replace(/\\/g, '/')}';`);
    expect(r.nodeImports).toEqual([]);
    expect(r.errors).toEqual([]);
    for (const lib of ['audio-features/src/fbank.ts', 'acoustic-models/src/priors.ts', 'decoding/src/viterbi.ts', 'experiments/src/word-search.ts']) expect(r.inputs.some((i) => i.endsWith(lib)), lib).toBe(true);
  });

  it('the check itself fails on a Node entry (core imports node:os, node:module)', async () => {
    const r = await bundleForBrowser(`export * from '@kdasr/core';`);
    expect(r.nodeImports.length + r.errors.length).toBeGreaterThan(0);
    expect(r.nodeImports.join('\n')).toMatch(/node:/);
  });
});

describe('buildBundle', () => {
  it('builds index.html + app.js, then skips while no bundled source is newer; a missing metafile rebuilds', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kdasr-web-bundle-'));
    try {
      const a = await buildBundle({ dir });
      expect(a.built).toBe(true);
      expect(a.bytes).toBeGreaterThan(100_000);
      expect((await buildBundle({ dir })).built).toBe(false);
      rmSync(join(dir, 'app.meta.json'));
      expect((await buildBundle({ dir })).built).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
