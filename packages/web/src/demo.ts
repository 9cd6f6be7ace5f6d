/** `kdasr demo`: serve (or write as a static site) the page for one model. */
import { buildBundle } from './build.js';
import { startDemoServer, type DemoServer } from './server.js';
import { modelSite, writeStaticSite, type ModelSiteOptions } from './site.js';

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
