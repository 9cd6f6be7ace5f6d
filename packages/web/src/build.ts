/**
 * The page's bundle: src/app/main.ts through esbuild (browser platform, the packages' `browser` entries) to
 * BUNDLE/app.js, beside a copy of src/app/index.html. Rebuilt only when a bundled source is newer than app.js.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
export const APP_DIR = join(here, 'app');
/** Default output: packages/web/dist/site (gitignored, like every dist/). */
export const DEFAULT_BUNDLE_DIR = resolve(here, '..', 'dist', 'site');
const META = 'app.meta.json';
/** esbuild's working directory (the repository root); metafile input paths are relative to it. */
const ROOT = resolve(here, '..', '..', '..');

/** The esbuild options of the page bundle (the browser-clean test bundles with the same conditions). */
export const BROWSER_BUILD: esbuild.BuildOptions = {
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  conditions: ['browser', '@kdasr/source'],
  // wav-decoder tests `global.Buffer`; a page has globalThis only.
  define: { global: 'globalThis' },
  logLevel: 'silent',
};

export interface BundleResult {
  dir: string;
  built: boolean;
  bytes: number;
}

function stale(dir: string): boolean {
  const app = join(dir, 'app.js');
  const meta = join(dir, META);
  if (!existsSync(app) || !existsSync(meta) || !existsSync(join(dir, 'index.html'))) return true;
  const t = statSync(app).mtimeMs;
  // "(disabled):fs" and the like are modules a package's `browser` field maps to nothing: no file to check.
  const inputs = Object.keys((JSON.parse(readFileSync(meta, 'utf8')) as esbuild.Metafile).inputs).filter((i) => !i.startsWith('(disabled):'));
  return [join(APP_DIR, 'index.html'), ...inputs.map((i) => resolve(ROOT, i))].some((f) => !existsSync(f) || statSync(f).mtimeMs > t);
}

/** Build the bundle into `dir` when missing or stale (or `force`). */
export async function buildBundle(o: { dir?: string; force?: boolean; minify?: boolean } = {}): Promise<BundleResult> {
  const dir = resolve(o.dir ?? DEFAULT_BUNDLE_DIR);
  if (!o.force && !stale(dir)) return { dir, built: false, bytes: statSync(join(dir, 'app.js')).size };
  mkdirSync(dir, { recursive: true });
  const r = await esbuild.build({ ...BROWSER_BUILD, entryPoints: [join(APP_DIR, 'main.ts')], outfile: join(dir, 'app.js'), minify: o.minify ?? true, sourcemap: true, metafile: true, absWorkingDir: ROOT });
  writeFileSync(join(dir, META), JSON.stringify(r.metafile));
  copyFileSync(join(APP_DIR, 'index.html'), join(dir, 'index.html'));
  return { dir, built: true, bytes: statSync(join(dir, 'app.js')).size };
}
