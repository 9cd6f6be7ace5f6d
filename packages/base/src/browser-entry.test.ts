// The browser export condition of @kdasr/base must resolve to an entry that bundles for the browser: no Node
// built-in (node:fs, node:child_process, ...) anywhere in its import graph, and no tfjs. esbuild with
// platform "browser" refuses to resolve Node built-ins, so a stray import fails the build.
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

async function bundleForBrowser(contents: string) {
  return build({
    stdin: { contents, resolveDir: process.cwd(), loader: 'ts' },
    bundle: true,
    write: false,
    metafile: true,
    platform: 'browser',
    format: 'esm',
    conditions: ['@kdasr/source'],
    logLevel: 'silent',
  });
}

describe('@kdasr/base browser entry', () => {
  it('bundles for the browser through the package name, with no Node built-in and no tfjs', async () => {
    const r = await bundleForBrowser(`import * as b from '@kdasr/base'; console.log(new b.Rng(1).next(), b.numFrames, b.parseSidecar);`);
    const inputs = Object.keys(r.metafile.inputs);
    expect(inputs.some((i) => i.endsWith('src/browser.ts'))).toBe(true);
    expect(inputs.filter((i) => i.startsWith('node:') || i.includes('@tensorflow/'))).toEqual([]);
    expect(inputs.some((i) => /atomic|provenance|sidecar-io|lock/.test(i))).toBe(false);
  });

  it('the Node entry does not bundle for the browser (control: the check sees Node built-ins)', async () => {
    await expect(bundleForBrowser(`import * as b from './src/index.ts'; console.log(b);`)).rejects.toThrow(/node:/);
  });
});
