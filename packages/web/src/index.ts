// Public entry of @kdasr/web (Node): the demo server, the page's bundle and the static-site writer. The page itself
// (src/app/) and the recogniser it runs (src/recognizer.ts) are bundled for the browser by buildBundle.
import { buildBundle } from './build.js';
import { startDemoServer, type DemoServer } from './server.js';
import { modelSite, writeStaticSite, type ModelSiteOptions } from './site.js';

export { buildBundle, BROWSER_BUILD, DEFAULT_BUNDLE_DIR, type BundleResult } from './build.js';
export { startDemoServer, routeOf, ISOLATION_HEADERS, type DemoServer } from './server.js';
export { modelSite, writeStaticSite, bundleFiles, wasmDir, type ModelSite, type ModelSiteOptions } from './site.js';
export { Recognizer, fetchRecognizerAssets, parseRecognizerManifest, recognizerManifestSchema, RECOGNIZER_FILE, RECOGNIZER_FORMAT, type RecognizerManifest, type RecognizerAssets, type Recognition, type RecognitionTimings } from './recognizer.js';

export interface DemoOptions extends ModelSiteOptions {
  host?: string;
  port?: number;
  /** Write the static site here and return instead of serving. */
  out?: string;
  bundleDir?: string;
  log?: (line: string) => void;
}

/** `kdasr demo`: build the bundle if needed, then serve the page for a model (or write it as a static site). */
export async function runDemo(o: DemoOptions): Promise<{ server?: DemoServer; files?: string[] }> {
  const log = o.log ?? (() => {});
  const site = modelSite(o);
  const b = await buildBundle({ dir: o.bundleDir });
  log(`kdasr demo: bundle ${b.dir}/app.js (${(b.bytes / 1024).toFixed(0)} KiB${b.built ? ', built' : ', up to date'})`);
  if (o.out) {
    const files = await writeStaticSite(site, b.dir, o.out);
    log(`kdasr demo: wrote ${files.length} files to ${o.out}; serve it with COOP/COEP headers for wasm threads (see packages/web/README.md)`);
    return { files };
  }
  const server = await startDemoServer({ site, bundleDir: b.dir, host: o.host, port: o.port });
  log(`kdasr demo: serving ${site.manifest.source?.model ?? 'the model'} at ${server.url} (Ctrl-C stops)`);
  return { server };
}
